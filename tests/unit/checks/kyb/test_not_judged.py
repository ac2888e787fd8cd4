"""Issue #13 item 7 (R-D2, R-A2): ``sanctions_pep`` and ``high_risk_country`` no longer pass
when part of their input is missing. Under kyb-2026.11.2 (``[figures] judge_missing_data_as =
"unknown"``) they say ``unknown`` naming what was and was not consulted; kyb-2026.11.1 replays
keep their old ``pass``."""

from __future__ import annotations

import dataclasses

import pytest

from checks.facts import IbanFacts, Owner
from checks.kyb.country import high_risk_country
from checks.kyb.screening import sanctions_pep
from checks.policy import POLICY_DIR, load_policy
from tests.unit.checks.kyb.test_screening import HIT

OLD = load_policy(POLICY_DIR / "kyb-2026.11.1.toml")
SDN, UN, PEP = "OFAC SDN@2026-11-20", "UN Consolidated@2026-11-19", "TR PEP@2026-11-01"


def only_sanctions(make_facts, *hits):
    return make_facts(screening_hits=hits, screened_lists=(SDN, UN),
                      sanctions_lists=(SDN, UN), pep_lists=())


def test_no_pep_list_is_unknown_naming_the_lists_consulted_and_missing(make_facts, policy,
                                                                       now):
    result = sanctions_pep(only_sanctions(make_facts), policy, now)
    assert (result.status, result.points) == ("unknown", 10)
    assert result.explanation == (
        "No match at or above score 78 in the lists consulted (sanctions: "
        f"{SDN}, {UN}); no PEP (politically exposed persons) list is loaded, so the merchant "
        "and its owners were not screened against one and their PEP (politically exposed "
        "persons) status is unknown.")
    assert result.evidence["not_screened"] == ["pep_lists"]
    assert result.evidence["sanctions_lists"] == [SDN, UN]
    assert result.evidence["insufficient_data"] is True


def test_no_sanctions_list_is_unknown_too(make_facts, policy, now):
    facts = make_facts(screened_lists=(PEP,), sanctions_lists=(), pep_lists=(PEP,))
    result = sanctions_pep(facts, policy, now)
    assert result.status == "unknown" and result.evidence["not_screened"] == ["sanctions_lists"]
    assert f"PEP (politically exposed persons): {PEP}" in result.explanation


# kyb-2026.11.2's scores as recalibrated for matcher 2 (issue #12): possible 78, strong 90.
@pytest.mark.parametrize(("score", "status"), [(77.99, "unknown"), (78.0, "flag"),
                                               (89.99, "flag"), (90.0, "fail")])
def test_a_match_still_decides_when_the_pep_list_is_missing(make_facts, policy, now, score,
                                                             status):
    hit = dataclasses.replace(HIT, score=score)
    assert sanctions_pep(only_sanctions(make_facts, hit), policy, now).status == status


def test_both_kinds_loaded_and_no_match_passes(make_facts, policy, now):
    facts = make_facts(screened_lists=(SDN, PEP), sanctions_lists=(SDN,), pep_lists=(PEP,))
    result = sanctions_pep(facts, policy, now)
    assert result.status == "pass" and "insufficient_data" not in result.evidence


def test_kyb_2026_11_1_replays_still_pass_without_a_pep_list(make_facts, now):
    result = sanctions_pep(only_sanctions(make_facts), OLD, now)
    assert (result.status, result.points) == ("pass", 0)
    assert result.explanation == (f"No sanctions or PEP match at or above score 85 against "
                                  f"{SDN}, {UN}.")
    assert "insufficient_data" not in result.evidence


def test_facts_without_list_kinds_are_judged_as_before(make_facts, policy, now):
    facts = make_facts(screened_lists=(SDN,))  # gathered before list kinds were recorded
    assert sanctions_pep(facts, policy, now).status == "pass"


@pytest.mark.parametrize(("changes", "missing"), [
    ({"owners": (Owner("Ali Veli"),)}, ["owner Ali Veli nationality"]),
    ({"iban": IbanFacts("TR33", False, None)}, ["IBAN"]),
    ({"owners": (Owner("Ali Veli"), Owner("Ayşe Kaya", nationality="DE")),
      "iban": IbanFacts("TR33", False, None)}, ["owner Ali Veli nationality", "IBAN"]),
])
def test_high_risk_country_is_unknown_naming_what_is_missing(make_facts, policy, now, changes,
                                                             missing):
    result = high_risk_country(make_facts(**changes), policy, now)
    assert (result.status, result.evidence["not_checked"]) == ("unknown", missing)
    assert result.explanation.endswith(f"so they were not checked: {'; '.join(missing)}.")
    assert result.evidence["insufficient_data"] is True


def test_a_listed_country_still_flags_or_fails_beside_a_missing_one(make_facts, policy, now):
    grey = make_facts(owners=(Owner("Ali Veli"), Owner("B", nationality="SY")))
    black = make_facts(owners=(Owner("Ali Veli"),), iban=IbanFacts("IR", True, "IR"))
    assert high_risk_country(grey, policy, now).status == "flag"
    assert high_risk_country(black, policy, now).status == "fail"


def test_every_country_known_and_clean_passes(make_facts, policy, now):
    facts = make_facts(owners=(Owner("Ali Veli", nationality="TR"),),
                       iban=IbanFacts("TR33", True, "TR"))
    assert high_risk_country(facts, policy, now).status == "pass"


def test_kyb_2026_11_1_replays_keep_the_pass_with_a_missing_nationality(make_facts, now):
    result = high_risk_country(make_facts(owners=(Owner("Ali Veli"),)), OLD, now)
    assert result.status == "pass"
    assert result.evidence["not_checked"] == ["owner Ali Veli nationality"]
    assert "insufficient_data" not in result.evidence
