"""sanctions_pep (R-D2): strong, possible and PEP matches; lists not loaded."""

from __future__ import annotations

import dataclasses

import pytest

from checks.facts import ScreeningHit
from checks.kyb.screening import sanctions_pep
from checks.policy import POLICY_DIR, load_policy

HIT = ScreeningHit(
    kind="sanctions",
    list_name="OFAC SDN",
    list_version="2026-11-20",
    entry_id="12345",
    entry_name="IVANOV, Ivan",
    matched_alias="Ivan Ivanov",
    subject="Ivan Ivanov",
    subject_role="owner",
    score=95.0,
)


def screen(make_facts, policy, now, *hits, lists=("OFAC SDN@2026-11-20",)):
    return sanctions_pep(make_facts(screening_hits=hits, screened_lists=lists), policy, now)


@pytest.mark.parametrize(
    ("changes", "status"),
    [
        ({"score": 90.0}, "fail"),  # strong_score 90, possible_score 78 (policy 2026.11.2)
        ({"score": 89.99}, "flag"),
        ({"score": 78.0}, "flag"),
        ({"score": 77.99}, "pass"),
        ({"score": 99.0, "birth_date_match": True}, "fail"),
        ({"score": 99.0, "birth_date_match": False}, "flag"),  # contradicted: review, not fail
        ({"score": 99.0, "nationality_match": False}, "flag"),
        ({"score": 99.0, "nationality_match": False, "birth_date_match": True}, "fail"),
        ({"score": 99.0, "kind": "pep", "subject_role": "legal_name"}, "flag"),  # never fails
        ({"score": 77.0, "kind": "pep"}, "pass"),
    ],
)
def test_sanctions_pep_grades_hits_by_score_and_confirming_facts(
    make_facts, policy, now, changes, status
):
    result = screen(make_facts, policy, now, dataclasses.replace(HIT, **changes))
    assert result.status == status
    assert result.points == {"fail": 100, "flag": 30, "pass": 0}[status]


def test_a_pep_owner_flags_with_the_policys_pep_owner_points(make_facts, policy, now):
    """R-D2, issue #12 item 4: kyb-2026.11.2 ``pep_owner_points`` = 60 (tier high)."""
    hit = dataclasses.replace(HIT, kind="pep", score=99.0, position="Minister of Finance")
    result = screen(make_facts, policy, now, hit)
    assert (result.status, result.points) == ("flag", 60)
    assert result.evidence["pep_owner"] == {"owners": ["Ivan Ivanov"], "points": 60,
                                            "positions": ["Minister of Finance"]}
    assert result.evidence["possible"][0]["position"] == "Minister of Finance"
    assert "PEP position: Minister of Finance" in result.explanation


def test_sanctions_pep_explains_a_strong_match(make_facts, policy, now):
    result = screen(make_facts, policy, now, dataclasses.replace(HIT, birth_date_match=True))
    assert result.explanation == (
        'Strong sanctions match: owner "Ivan Ivanov" ~ sanctions entry "IVANOV, Ivan" '
        "(OFAC SDN 2026-11-20, id 12345, score 95, birth date matches)."
    )
    assert result.evidence["strong"][0]["entry_id"] == "12345"


def test_sanctions_pep_passes_when_lists_are_loaded_and_nothing_matches(make_facts, policy, now):
    result = screen(make_facts, policy, now)
    assert (result.status, result.evidence["screened_lists"]) == ("pass", ["OFAC SDN@2026-11-20"])


def test_sanctions_pep_is_unknown_when_no_list_was_loaded(make_facts, policy, now):
    result = screen(make_facts, policy, now, HIT, lists=())
    assert (result.status, result.points) == ("unknown", 10)


def test_sanctions_pep_records_which_matcher_judged(make_facts, policy, now):
    facts = make_facts(screening_hits=(HIT,), screened_lists=("OFAC SDN@2026-11-20",),
                       screening_matcher=2)
    result = sanctions_pep(facts, policy, now)
    assert result.evidence["matcher"] == {"screened_with": 2, "scores_calibrated_for": 2}


def test_sanctions_pep_reads_an_old_snapshot_as_matcher_1(make_facts, policy, now):
    result = screen(make_facts, policy, now, HIT)
    assert result.evidence["matcher"]["screened_with"] == 1


def test_policy_2026_11_1_keeps_its_scores_and_evidence(make_facts, now):
    old = load_policy(POLICY_DIR / "kyb-2026.11.1.toml")
    params = old.check("sanctions_pep").params
    assert (params["strong_score"], params["possible_score"]) == (92, 85)
    assert "matcher" not in params
    result = screen(make_facts, old, now, dataclasses.replace(HIT, score=91.0))
    assert result.status == "flag" and "matcher" not in result.evidence


def test_an_identifier_match_is_strong_whatever_the_score(make_facts, policy, now):
    hit = dataclasses.replace(HIT, score=40.0, identifier_match=True)
    result = screen(make_facts, policy, now, hit)
    assert result.status == "fail"
    assert "identifier matches" in result.explanation
    assert result.evidence["strong"][0]["identifier_match"] is True


def test_policy_2026_11_1_evidence_has_no_new_hit_keys(make_facts, now):
    old = load_policy(POLICY_DIR / "kyb-2026.11.1.toml")
    result = screen(make_facts, old, now, HIT)
    assert "identifier_match" not in result.evidence["strong"][0]
