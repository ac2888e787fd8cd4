"""Identifiers in screening (issue #12, R-D2): a passport, national id or tax number shared with a
list entry confirms a hit and makes one on its own; an owner's national id, known only as a keyed
hash, is compared with the entry's identifiers hashed by the same function; the hit explains it."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from checks.facts import MerchantFacts
from checks.kyb.screening import sanctions_pep
from checks.policy import load_policy
from checks.screening import ListEntry, ScreeningIndex
from checks.screening.identifiers import IdentifierIndex, SubjectIdentifiers

KEY = b"test pepper"


def keyed(value: str) -> str:
    """Stands in for the application's ``national_id_index`` (an HMAC of the upper-cased id)."""
    return hmac.new(KEY, value.upper().encode(), hashlib.sha256).hexdigest()


def _entry(entry_id: str, name: str, entry_type: str = "individual", **extra) -> ListEntry:
    return ListEntry(entry_id=entry_id, kind="sanctions", list_name="TEST",
                     entry_type=entry_type, primary_name=name, **extra)


ENTRIES = [
    _entry("yakutlu", "Cumhur YAKUTLU", identifiers=("10000000146", "U12345678")),
    _entry("demo", "ANADOLU DEMO TICARET A.S.", "entity", identifiers=("1234567890",)),
    _entry("plain", "Hasan PLAIN"),
]


@pytest.fixture(scope="module")
def index() -> ScreeningIndex:
    return ScreeningIndex(ENTRIES, {"TEST": "1"}, identifier_hash=keyed)


def test_an_owners_hashed_national_id_finds_the_entry_whatever_the_name(index):
    hit = index.screen("Completely Other Person", "owner",
                       hashed_identifiers=(keyed("10000000146"),))[0]
    assert (hit.entry_id, hit.identifier_match) == ("yakutlu", True)
    assert hit.explanation.method == "identifier"
    assert "national id is on the list entry" in hit.explanation.identifier
    assert "10000000146" not in hit.to_dict().__repr__()  # never in clear


def test_a_different_hashed_national_id_contradicts_a_name_hit(index):
    hit = index.screen("Cumhur Yakutlu", "owner", hashed_identifiers=(keyed("99999999990"),))[0]
    assert (hit.entry_id, hit.score, hit.identifier_match) == ("yakutlu", 100.0, False)
    assert hit.explanation.identifier == ("none of the subject's identifiers is among the "
                                          "entry's 2 identifiers")


def test_without_identifiers_on_either_side_the_feature_is_unknown(index):
    assert index.screen("Cumhur Yakutlu", "owner")[0].identifier_match is None
    hashed = index.screen("Hasan Plain", "owner", hashed_identifiers=(keyed("10000000146"),))
    assert (hashed[0].entry_id, hashed[0].identifier_match) == ("plain", None)
    assert hashed[0].explanation.identifier == ""


def test_hashes_cannot_be_compared_by_an_index_built_without_the_hash_function():
    plain = ScreeningIndex(ENTRIES, {"TEST": "1"})
    hit = plain.screen("Cumhur Yakutlu", "owner", hashed_identifiers=(keyed("10000000146"),))[0]
    assert hit.identifier_match is None  # unknown, not "contradicted"
    assert plain.screen("Other Person", "owner",
                        hashed_identifiers=(keyed("10000000146"),)) == []


def test_a_merchants_tax_number_in_clear_is_explained(index):
    hit = index.screen("Another Name Ltd", "legal_name", identifiers=("123 456 7890",))[0]
    assert (hit.entry_id, hit.identifier_match) == ("demo", True)
    assert hit.explanation.identifier == "identifier 1234567890 is on the list entry"


@pytest.mark.parametrize(("value", "kept"), [("A12", False), ("A123", True), ("", False)])
def test_identifiers_shorter_than_four_characters_identify_nobody(value, kept):
    assert bool(SubjectIdentifiers.of([value])) is kept


def test_identifier_index_hashes_each_listed_identifier_once():
    calls: list[str] = []

    def counting(value: str) -> str:
        calls.append(value)
        return keyed(value)

    ids = IdentifierIndex(ENTRIES, counting)
    assert sorted(calls) == ["10000000146", "1234567890", "U12345678"]
    assert ids.entries_sharing(SubjectIdentifiers.of(hashed=[keyed("u12345678")])) == {0}


def test_an_identifier_match_alone_is_a_strong_sanctions_hit(index):
    policy = load_policy()
    hit = index.screen("Completely Other Person", "owner",
                       hashed_identifiers=(keyed("10000000146"),))[0]
    assert hit.score < float(policy.check("sanctions_pep").params["possible_score"])
    result = sanctions_pep(MerchantFacts(merchant_id="m1", legal_name="X", screening_hits=(hit,),
                                         screened_lists=("TEST@1",)), policy, None)
    assert result.status == "fail" and "identifier matches" in result.explanation


def test_evidence_keeps_the_shape_stored_before_the_identifier_feature(index):
    """R-D4: an assessment stored before explanations had ``identifier`` replays identically:
    the evidence leaves the feature out when it says nothing."""
    hit = index.screen("Hasan Plain", "owner")[0]
    result = sanctions_pep(MerchantFacts(merchant_id="m1", legal_name="X", screening_hits=(hit,),
                                         screened_lists=("TEST@1",)), load_policy(), None)
    shown = result.evidence["strong"][0]["explanation"]
    assert "identifier" not in shown and shown["method"] == "words"
