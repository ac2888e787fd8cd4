"""disposable_email (R-C10)."""

from __future__ import annotations

import pytest

from checks.kyb.email import disposable_email


@pytest.mark.parametrize(
    ("disposable", "status", "points"),
    [(True, "flag", 20), (False, "pass", 0), (None, "unknown", 2)],
)
def test_disposable_email_follows_the_list_lookup(
    make_facts, policy, now, disposable, status, points
):
    facts = make_facts(email="x@mailinator.com", email_domain=None, email_disposable=disposable)
    result = disposable_email(facts, policy, now)
    assert (result.status, result.points) == (status, points)
    assert result.evidence["email_domain"] == "mailinator.com"
