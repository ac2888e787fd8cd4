"""high_risk_country: FATF black list fails, grey list flags."""

from __future__ import annotations

import pytest

from checks.facts import IbanFacts, Owner
from checks.kyb.country import high_risk_country


@pytest.mark.parametrize(
    ("changes", "status"),
    [
        ({}, "pass"),
        ({"country": "IR"}, "fail"),
        ({"country": "kp"}, "fail"),
        ({"country": "VG"}, "flag"),
        ({"country": "ZA"}, "pass"),  # left the grey list on 24 October 2025
        ({"owners": (Owner("A", nationality="MM"),)}, "fail"),
        ({"owners": (Owner("A", nationality="LB"), Owner("B", nationality="DE"))}, "flag"),
        ({"iban": IbanFacts("BG80BNBG96611020345678", True, "BG")}, "flag"),
        # issue #13 item 7: an IBAN whose country is not known is not a pass (kyb-2026.11.2)
        ({"iban": IbanFacts("BG80", False, None)}, "unknown"),
    ],
)
def test_high_risk_country_checks_registration_owners_and_iban(
    make_facts, policy, now, changes, status
):
    result = high_risk_country(make_facts(**changes), policy, now)
    assert result.status == status
    assert result.evidence["fatf_as_of"] == "2025-10-24"


def test_high_risk_country_explains_the_list_and_date(make_facts, policy, now):
    facts = make_facts(owners=(Owner("Ali Veli", nationality="SY"),))
    result = high_risk_country(facts, policy, now)
    assert result.explanation == (
        "FATF lists as of 2025-10-24: owner Ali Veli nationality SY (grey list)."
    )
    assert result.points == 20


def test_high_risk_country_lists_owners_without_nationality_as_not_checked(make_facts, policy, now):
    result = high_risk_country(make_facts(owners=(Owner("X"),)), policy, now)
    assert result.evidence["not_checked"] == ["owner X nationality"]


def test_high_risk_country_is_unknown_without_a_country(make_facts, policy, now):
    assert high_risk_country(make_facts(country=None), policy, now).status == "unknown"
