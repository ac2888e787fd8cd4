"""sanctions_pep (R-D2): strong, possible and PEP matches; lists not loaded."""

from __future__ import annotations

import dataclasses

import pytest

from checks.facts import ScreeningHit
from checks.kyb.screening import sanctions_pep

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
        ({"score": 92.0}, "fail"),
        ({"score": 91.99}, "flag"),
        ({"score": 85.0}, "flag"),
        ({"score": 84.99}, "pass"),
        ({"score": 99.0, "birth_date_match": True}, "fail"),
        ({"score": 99.0, "birth_date_match": False}, "flag"),  # contradicted: review, not fail
        ({"score": 99.0, "nationality_match": False}, "flag"),
        ({"score": 99.0, "nationality_match": False, "birth_date_match": True}, "fail"),
        ({"score": 99.0, "kind": "pep"}, "flag"),  # PEP never fails
        ({"score": 84.0, "kind": "pep"}, "pass"),
    ],
)
def test_sanctions_pep_grades_hits_by_score_and_confirming_facts(
    make_facts, policy, now, changes, status
):
    result = screen(make_facts, policy, now, dataclasses.replace(HIT, **changes))
    assert result.status == status
    assert result.points == {"fail": 100, "flag": 30, "pass": 0}[status]


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
