"""iban_valid and iban_change_frequency (R-A3)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from checks.facts import IbanFacts
from checks.kyb.iban import iban_change_frequency, iban_valid


def test_iban_valid_passes_a_valid_iban_and_masks_it(make_facts, policy, now):
    result = iban_valid(make_facts(), policy, now)
    assert result.status == "pass"
    assert result.evidence["iban"] == "TR33…1326"


def test_iban_valid_fails_an_invalid_iban_with_the_validator_message(make_facts, policy, now):
    iban = IbanFacts("TR330006100519786457841327", False, "TR", error="Invalid checksum digits")
    result = iban_valid(make_facts(iban=iban), policy, now)
    assert (result.status, result.points) == ("fail", 30)
    assert "Invalid checksum digits" in result.explanation


def test_iban_valid_is_unknown_when_not_validated(make_facts, policy, now):
    assert iban_valid(make_facts(iban=None), policy, now).status == "unknown"


INSIDE = timedelta(days=90)  # exactly 90 days ago is inside the window
OUTSIDE = timedelta(days=90, seconds=1)


@pytest.mark.parametrize(
    ("ages", "status"),
    [
        ((timedelta(days=1), INSIDE), "pass"),
        ((timedelta(days=1), timedelta(days=30), INSIDE), "flag"),
        ((timedelta(days=1), timedelta(days=30), OUTSIDE), "pass"),
        ((timedelta(days=1), timedelta(days=2), timedelta(days=3), OUTSIDE), "flag"),
        ((OUTSIDE, OUTSIDE, OUTSIDE, timedelta(days=400)), "pass"),
    ],
)
def test_iban_change_frequency_flags_three_changes_within_90_days(
    make_facts, policy, now, ages, status
):
    facts = make_facts(iban_changes=tuple(now - age for age in ages))
    result = iban_change_frequency(facts, policy, now)
    assert result.status == status
    assert result.points == (25 if status == "flag" else 0)


def test_iban_change_frequency_ignores_changes_after_now(make_facts, policy, now):
    changes = (now - timedelta(days=1), now + timedelta(days=1), now + timedelta(days=2))
    result = iban_change_frequency(make_facts(iban_changes=changes), policy, now)
    assert (result.status, result.evidence["count"]) == ("pass", 1)


def test_iban_change_frequency_is_unknown_without_history(make_facts, policy, now):
    assert iban_change_frequency(make_facts(iban_changes=None), policy, now).status == "unknown"
