"""Screening names against the fixture lists: variants found, near-misses and generic names not."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from checks.facts import HitExplanation, ScreeningHit
from checks.screening import ListEntry, LoadedList, ScreeningIndex
from checks.screening.matcher import birth_date_evidence, nationality_evidence


def _ids(hits: list[ScreeningHit]) -> list[str]:
    return [h.entry_id for h in hits]


@pytest.mark.parametrize(
    ("name", "role", "entry_id"),
    [
        ("Murat Karayılan", "owner", "11600"),
        ("KARAYILAN, MURAT", "owner", "11600"),
        ("Kürşad Zafer Çire", "owner", "11363"),
        ("Çire Kürşad Zafer", "owner", "11363"),
        ("Multimat İç ve Dış Ticaret Pazarlama Ltd. Şti.", "legal_name", "12552"),
        ("MULTIMAT DIS TICARET A.Ş.", "trade_name", "12552"),
        ("Banco Nacional de Cuba S.A.", "legal_name", "306"),
        ("National Bank of Cuba", "legal_name", "306"),
        ("Saddam Hussein", "owner", "7843"),
        ("Erik Badege", "owner", "15718"),
    ],
)
def test_listed_names_are_found_through_spelling_variants(
    index: ScreeningIndex, name: str, role: str, entry_id: str
) -> None:
    assert entry_id in _ids(index.screen(name, role))


def test_hit_carries_list_entry_alias_score_and_version(
    index: ScreeningIndex, ofac_list: LoadedList
) -> None:
    hit = index.screen("Saddam Hussein", "owner")[0]
    assert hit.explanation == HitExplanation(  # issue #12: each hit explains itself
        method="words", name_parts=("saddam = saddam", "hussein = hussein"))
    assert dataclasses.replace(hit, explanation=None) == ScreeningHit(
        kind="sanctions",
        list_name="OFAC SDN",
        list_version=ofac_list.version,
        entry_id="7843",
        entry_name="Saddam Hussein AL-TIKRITI",
        matched_alias="Saddam HUSSEIN",
        subject="Saddam Hussein",
        subject_role="owner",
        score=100.0,
        birth_date_match=None,
        nationality_match=None,
        programs=("IRAQ2",),
    )


def test_arabic_script_name_matches_the_un_original_script_alias(index: ScreeningIndex) -> None:
    hit = index.screen("صدام حسين التكريتي", "owner")[0]
    assert (hit.list_name, hit.entry_id, hit.score) == ("UN Consolidated", "IQi.001", 100.0)


def test_cyrillic_name_matches_a_transliterated_alias(index: ScreeningIndex) -> None:
    assert "NK-3fDyTGMktWKzRqgq8iaJGc" in _ids(index.screen("Віктор Янукович", "owner"))


def test_pep_entry_is_reported_as_pep(index: ScreeningIndex) -> None:
    hit = index.screen("Recep Tayyip Erdogan", "owner")[0]
    assert (hit.kind, hit.list_name, hit.entry_id) == ("pep", "OpenSanctions", "Q39723")


@pytest.mark.parametrize(
    "name", ["GLOBAL TRADING LTD", "International Trading Company", "Global Holding A.Ş.", "RN Ltd"]
)
def test_generic_or_tiny_company_names_produce_no_hit(index: ScreeningIndex, name: str) -> None:
    assert index.screen(name, "legal_name") == []


@pytest.mark.parametrize(
    "name", ["Murat Karaoglan", "Erica Bade", "Mehmet Yılmaz", "Anadolu Tekstil A.Ş."]
)
def test_near_misses_and_unlisted_names_produce_no_hit(index: ScreeningIndex, name: str) -> None:
    assert index.screen(name, "owner") == []


def test_threshold_just_under_at_and_over_the_score(index: ScreeningIndex) -> None:
    score = index.screen("Erik Badege", "owner")[0].score  # 90.9: one letter off
    assert index.screen("Erik Badege", "owner", threshold=score - 0.1)
    assert index.screen("Erik Badege", "owner", threshold=score)
    assert index.screen("Erik Badege", "owner", threshold=score + 0.1) == []


def test_single_token_name_needs_a_near_exact_score(index: ScreeningIndex) -> None:
    assert _ids(index.screen("Multimat", "legal_name")) == ["12552"]
    assert index.screen("Multimet", "legal_name") == []  # 87.5 < short-name threshold


def test_weak_alias_needs_a_near_exact_score(index: ScreeningIndex) -> None:
    assert "CDi.003" in _ids(index.screen("Rumuli", "owner"))
    assert "CDi.003" not in _ids(index.screen("Rumulu", "owner"))


def test_birth_date_and_nationality_confirm(index: ScreeningIndex) -> None:
    hit = index.screen("Murat Karayılan", "owner", birth_date=date(1954, 6, 5), nationality="TR")[0]
    assert (hit.birth_date_match, hit.nationality_match) == (True, True)


def test_birth_date_and_nationality_contradict_but_keep_the_name_hit(index: ScreeningIndex) -> None:
    hit = index.screen("Murat Karayılan", "owner", birth_date="1980-01-01", nationality="IQ")[0]
    assert hit.entry_id == "11600"
    assert (hit.birth_date_match, hit.nationality_match) == (False, False)


def test_matching_birth_date_alone_never_creates_a_hit(index: ScreeningIndex) -> None:
    assert index.screen("Zeynep Demir", "owner", birth_date="1937-04-28", nationality="IQ") == []


def test_equal_scores_rank_confirmed_before_contradicted() -> None:
    base = {"kind": "sanctions", "list_name": "L", "entry_type": "individual"}
    entries = [
        ListEntry(entry_id="old", primary_name="Ali Veli", birth_dates=("1950",), **base),
        ListEntry(entry_id="young", primary_name="Ali Veli", birth_dates=("1990",), **base),
    ]
    hits = ScreeningIndex(entries).screen("Ali Veli", "owner", birth_date="1990-05-01")
    assert _ids(hits) == ["young", "old"]


@pytest.mark.parametrize(
    ("subject", "listed", "expected"),
    [
        ("1960-01-31", ["1960"], True),
        ("1960-01-31", ["1960-01"], True),
        ("1960-01-31", ["1960-01-31"], True),
        ("1960-01-31", ["1961", "1960-02"], False),
        ("1960", ["1960-01-31"], True),
        (None, ["1960"], None),
        ("1960-01-31", [], None),
    ],
)
def test_birth_date_evidence(subject, listed, expected) -> None:
    assert birth_date_evidence(subject, listed) is expected


@pytest.mark.parametrize(
    ("subject", "listed", "expected"),
    [
        ("TR", ["TR"], True),
        ("Turkey", ["TR"], True),
        ("DE", ["TR"], False),
        ("TR", [], None),
        (None, ["TR"], None),
    ],
)
def test_nationality_evidence(subject, listed, expected) -> None:
    assert nationality_evidence(subject, listed) is expected


def test_index_built_from_stored_dicts_screens_like_the_original(
    index: ScreeningIndex, un_list: LoadedList
) -> None:
    rows = [{**e.to_dict(), "list_version": un_list.version} for e in un_list.entries]
    rebuilt = ScreeningIndex.build(rows)
    hit = rebuilt.screen("SADDAM HUSSEIN AL-TIKRITI", "owner")[0]
    assert (hit.entry_id, hit.list_version) == ("IQi.001", "2026-02-27T00:00:09.554Z")


def test_limit_and_one_hit_per_entry(index: ScreeningIndex) -> None:
    hits = index.screen("Saddam Hussein al-Tikriti", "owner", limit=3)
    assert len(hits) == 3
    assert len({(h.list_name, h.entry_id) for h in hits}) == 3


def test_unknown_role_is_refused(index: ScreeningIndex) -> None:
    with pytest.raises(ValueError, match="role"):
        index.screen("Saddam Hussein", "director")
