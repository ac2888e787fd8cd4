"""blacklist (R-E2)."""

from __future__ import annotations

from checks.facts import BlacklistHit
from checks.kyb.blacklist import blacklist


def test_blacklist_fails_on_any_hit_and_names_it(make_facts, policy, now):
    hit = BlacklistHit("iban", "TR330006100519786457841326", "chargeback fraud 2025-04")
    result = blacklist(make_facts(blacklist_hits=(hit,)), policy, now)
    assert (result.status, result.points) == ("fail", 100)
    assert "chargeback fraud 2025-04" in result.explanation
    assert result.evidence["hits"][0]["kind"] == "iban"


def test_blacklist_passes_when_checked_and_clean(make_facts, policy, now):
    assert blacklist(make_facts(blacklist_hits=()), policy, now).status == "pass"


def test_blacklist_is_unknown_when_not_checked(make_facts, policy, now):
    assert blacklist(make_facts(blacklist_hits=None), policy, now).status == "unknown"
