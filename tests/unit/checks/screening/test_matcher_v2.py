"""Matcher 2 (issue #12): the misses of matcher 1 are found, their hard negatives are not.

Each kind of miss the issue lists gets one listed entry and a near neighbour that must stay below
the policy's possible score (2026.11.2: 78).
"""

from __future__ import annotations

import pytest

from checks.screening import ListEntry, ScreeningIndex
from checks.screening.matcher import MATCHER_VERSION
from checks.screening.matcher_v1 import ScreeningIndex as ScreeningIndexV1
from checks.screening.names import forms, normalize
from checks.screening.similarity import (
    acronym_score,
    acronyms,
    alignment_score,
    consonants,
    phonetic,
    subset_score,
)

POSSIBLE = 78.0


def _entry(entry_id: str, name: str, entry_type: str = "individual", **extra) -> ListEntry:
    return ListEntry(entry_id=entry_id, kind="sanctions", list_name="TEST",
                     entry_type=entry_type, primary_name=name, **extra)


ENTRIES = [
    _entry("lavrov", "Sergei Viktorovich LAVROV"),
    _entry("sechin", "Igor Ivanovich SECHIN"),
    _entry("friedrich", "Hans Joachim FRIEDRICH"),
    _entry("juncker", "Jean Claude JUNCKER"),
    _entry("gazprom", "GAZPROM NEFT AG", "entity"),
    _entry("rosneft", "ROSNEFT OIL COMPANY OPEN JOINT STOCK COMPANY", "entity"),
    _entry("fortyfour", "FORTY FOUR STREET HOLDINGS LLC", "entity"),
    _entry("first", "FIRST OCTOBER RESISTANCE GROUP", "entity"),
    _entry("tikriti", "SADDAM HUSSEIN AL-TIKRITI", aliases=("صدام حسين التكريتي",)),
    _entry("zahrani", "FAYSAL AHMAD BIN ALI AL-ZAHRANI"),
    _entry("ozturk", "Şükrü ÖZTÜRK"),
]


@pytest.fixture(scope="module")
def index() -> ScreeningIndex:
    return ScreeningIndex(ENTRIES, {"TEST": "1"})


def _score(index: ScreeningIndex, name: str, role: str, entry_id: str) -> float:
    hits = [h for h in index.screen(name, role, threshold=50) if h.entry_id == entry_id]
    return hits[0].score if hits else 0.0


@pytest.mark.parametrize(
    ("name", "role", "entry_id"),
    [
        ("SergeiLavrov", "owner", "lavrov"),  # joined words
        ("Sergei Lavrov", "owner", "lavrov"),  # middle name missing: name contained
        ("Ig0r Sech1n", "owner", "sechin"),  # digits for letters
        ("Hans J Friedrich", "owner", "friedrich"),  # middle initial
        ("JC Juncker", "owner", "juncker"),  # initials run together
        ("Dr. Hans Joachim Friedrich", "owner", "friedrich"),  # honorific
        ("Gazprom Neft Aktiengesellschaft", "legal_name", "gazprom"),  # legal form spelled out
        ("OAO Rosneft Oil", "legal_name", "rosneft"),  # Russian legal form
        ("44 Street Holdings Ltd", "legal_name", "fortyfour"),  # number for words
        ("1st October Resistance Group", "legal_name", "first"),  # ordinal
        ("Сергей Викторович Лавров", "owner", "lavrov"),  # Cyrillic, no Latin form on the list
        ("فيصل احمد بن علي الزهراني", "owner", "zahrani"),  # Arabic, no Arabic form listed
        ("SUKRU OZTURK", "owner", "ozturk"),  # Turkish letters dropped
    ],
)
def test_issue_12_misses_are_found_at_the_possible_score(index, name, role, entry_id):
    assert _score(index, name, role, entry_id) >= POSSIBLE


@pytest.mark.parametrize(
    ("name", "role", "entry_id"),
    [
        ("Hans K Schmidt", "owner", "friedrich"),  # same first name only
        ("Sergei Ivanov", "owner", "lavrov"),
        ("Igor Petrov", "owner", "sechin"),
        ("Gazprom Bank AG", "legal_name", "gazprom"),  # a different Gazprom company
        ("Second October Resistance Group", "legal_name", "first"),
        ("Şükrü Demir", "owner", "ozturk"),  # same first name
        ("Mehmet Öztürk", "owner", "ozturk"),  # same surname
    ],
)
def test_hard_negatives_stay_below_the_possible_score(index, name, role, entry_id):
    assert _score(index, name, role, entry_id) < POSSIBLE


@pytest.mark.parametrize(
    ("name", "entry_id"),
    [("Hans K Friedrich", "friedrich"), ("Şükrü Öztürkmen", "ozturk")],
)
def test_near_names_are_possible_but_never_strong(index, name, entry_id):
    """A contradicting initial or a longer surname is worth a look, not a rejection."""
    assert POSSIBLE <= _score(index, name, "owner", entry_id) < 90


def test_matcher_1_missed_them_at_its_possible_score():
    v1 = ScreeningIndexV1(ENTRIES, {"TEST": "1"})
    for name in ("SergeiLavrov", "Ig0r Sech1n", "JC Juncker"):
        assert not v1.screen(name, "owner", threshold=85)


def test_the_original_script_alias_is_kept_as_evidence(index):
    hit = index.screen("صدام حسين التكريتي", "owner")[0]
    assert (hit.entry_id, hit.matched_alias, hit.score) == ("tikriti", "صدام حسين التكريتي", 100)


def test_index_reports_its_matcher_version(index):
    assert index.matcher_version == MATCHER_VERSION == 2
    assert ScreeningIndexV1([], {}).matcher_version == 1


def test_normalisation_reads_digits_numbers_forms_and_titles():
    assert normalize("Ig0r Sech1n", person=True).tokens == ("igor", "sechin")
    assert normalize("Forty-Four Trading 1st", person=False).distinctive == ("44", "1")
    assert normalize("Gazprom Aktiengesellschaft", person=False).tokens == ("gazprom",)
    assert normalize("Sheikh Dr. Ahmed Ali", person=True).tokens == ("ahmed", "ali")
    assert normalize("IŞIK Anonim Şirketi", person=False).tokens == ("isik",)
    assert normalize("SergeiLavrov", person=True).tokens == ("sergei", "lavrov")


def test_scoring_helpers():
    assert alignment_score(["hans", "j", "friedrich"], ["hans", "joachim", "friedrich"]) > 95
    assert alignment_score(["hans", "k", "friedrich"], ["hans", "joachim", "friedrich"]) < 78
    assert phonetic(["khamidawi"]) == phonetic(["hamidavi"])
    assert consonants(["amyr", "bd", "allh"]) == consonants(["amir", "abdullah"])


def test_identifiers_are_read_from_ofac_remarks():
    from checks.screening.ofac import parse_identifiers

    remarks = ("DOB 19 Jun 1951; Passport 1084010 (Egypt); alt. Passport 19820215; "
               "National ID No. A-12345 (Turkey); Tax ID No. 1234567890 (Turkey).")
    assert parse_identifiers(remarks) == ["1084010", "19820215", "A12345", "1234567890"]


def test_an_identifier_alone_makes_a_hit_and_confirms_a_name():
    entry = _entry("ids", "ANADOLU DEMO TICARET A.S.", "entity",
                   identifiers=("1234567890",))
    index = ScreeningIndex([entry], {"TEST": "1"})
    hit = index.screen("Completely Different Name Ltd", "legal_name",
                       identifiers=("123 456 7890",))[0]
    assert (hit.entry_id, hit.identifier_match) == ("ids", True)
    assert hit.score < POSSIBLE
    named = index.screen("Anadolu Demo Ticaret A.Ş.", "legal_name", identifiers=("999999",))[0]
    assert (named.score, named.identifier_match) == (100.0, False)
    assert index.screen("Anadolu Demo Ticaret", "legal_name")[0].identifier_match is None


def test_real_lists_carry_identifiers(ofac_list, un_list):
    assert sum(bool(e.identifiers) for e in ofac_list.entries) > 0
    assert sum(bool(e.identifiers) for e in un_list.entries) > 0


def test_each_hit_explains_itself_per_feature(index):
    hit = index.screen("Hans J Friedrich", "owner", threshold=POSSIBLE)[0]
    assert hit.explanation.method == "initials"
    assert hit.explanation.name_parts == ("hans = hans", "j ~ joachim (initial)",
                                          "friedrich = friedrich")
    arabic = index.screen("فيصل احمد بن علي الزهراني", "owner", threshold=POSSIBLE)[0]
    assert (arabic.explanation.subject_script, arabic.explanation.alias_script) == (
        "Arabic", "Latin")
    assert arabic.explanation.method == "consonants"
    assert arabic.subject == "فيصل احمد بن علي الزهراني"  # the original kept as evidence


# -- alias recall (issue #12, h6): the misses of the bench's alias category -----------------------
ALIAS_ENTRIES = [
    _entry("kerimov", "Suleiman Abusaidovich KERIMOV"),
    _entry("chaudhry", "AAMIR ALI CHAUDHRY"),
    _entry("rattana", "BORISAT RATTANA WICHAI CHAMKAT", "entity"),
    _entry("cimex", "CORPORACION CIMEX S.A.", "entity"),
    _entry("qasim", "Ali QASIM"),
]


@pytest.fixture(scope="module")
def alias_index() -> ScreeningIndex:
    return ScreeningIndex(ALIAS_ENTRIES, {"TEST": "1"})


def _best(index: ScreeningIndex, name: str, role: str = "owner") -> tuple[str, float, str]:
    hits = index.screen(name, role, threshold=50)
    return (hits[0].entry_id, hits[0].score, hits[0].explanation.method) if hits else ("", 0, "")


@pytest.mark.parametrize(("query", "entry_id", "role"), [
    ("Suleyman KERIMOV", "kerimov", "owner"),  # patronymic left out, a letter differs
    ("Amir Ali Chaudry", "chaudhry", "owner"),  # "Amir" is a given name here, not a title
    ("Sheikh Ali Qasim", "qasim", "owner"),  # and a title here
    ("RATTANA VICHAI COMPANY LTD.", "rattana", "legal_name"),
    ("CIMEX", "cimex", "legal_name"),  # "Corporación" is a legal form's word in Spanish
])
def test_aliases_written_with_parts_left_out_or_titles_are_possible_hits(alias_index, query,
                                                                        entry_id, role):
    found, score, _ = _best(alias_index, query, role)
    assert found == entry_id and score >= POSSIBLE


def test_a_name_with_a_part_left_out_is_a_possible_hit_never_a_strong_one(alias_index):
    found, score, method = _best(alias_index, "Suleyman KERIMOV")
    assert (found, method) == ("kerimov", "subset") and POSSIBLE <= score < 90


@pytest.mark.parametrize(("query", "alias", "person", "expected"), [
    (["suleyman", "kerimov"], ["suleiman", "abusaidovich", "kerimov"], True, 84.0),
    (["kerimov", "suleyman"], ["suleiman", "abusaidovich", "kerimov"], True, 84.0),  # any order
    (["salim", "kerimov"], ["suleiman", "abusaidovich", "kerimov"], True, 0.0),  # a part unpaired
    (["suleyman", "kerimof"], ["suleiman", "abusaidovich", "kerimov"], True, 0.0),  # none exact
    (["al", "kerimov"], ["al", "suleiman", "kerimov"], True, 90.0),
    (["al", "mashriq"], ["al", "mashreq", "fund"], False, 0.0),  # only "al" exact
    (["africada", "insurance"], ["africada", "micro", "finance"], False, 0.0),  # 0.75 < 0.8
    (["rattana", "vichai"], ["borisat", "rattana", "wichai", "chamkat"], False, 83.1),
    (["hans", "kerimov"], ["hans", "kerimov"], True, 0.0),  # same length: not a subset
])
def test_subset_score_pairs_every_part_of_the_shorter_name(query, alias, person, expected):
    assert subset_score(query, alias, person=person) == pytest.approx(expected, abs=0.1)


def test_name_titles_give_two_forms_and_pure_titles_one():
    assert [f.distinctive for f in forms("Amir Ali Chaudry", person=True)] == [
        ("ali", "chaudry"), ("amir", "ali", "chaudry")]
    assert [f.distinctive for f in forms("Dr. Ali Chaudry", person=True)] == [("ali", "chaudry")]
    assert len(forms("Corporacion Cimex", person=False)) == 1


@pytest.mark.parametrize(("query", "expected"), [
    ("IRGC GROUND FORCES", True),  # the acronym stands for four of the entry's words
    ("IRGC AIR FORCE", False),  # the words besides the acronym must match too
    ("IGRC GROUND FORCE", False),  # not the initials of a run of the words
])
def test_an_acronym_standing_for_an_organisations_words_is_a_possible_hit(query, expected):
    index = ScreeningIndex([_entry("irgc", "ISLAMIC REVOLUTIONARY GUARD CORPS GROUND FORCE",
                                   "entity")], {"TEST": "1"})
    hits = index.screen(query, "legal_name", threshold=POSSIBLE)
    assert bool(hits) is expected
    if hits:
        assert hits[0].explanation.method == "acronym" and hits[0].score < 90


def test_acronyms_of_runs_of_three_to_five_words():
    runs = acronyms(("islamic", "revolutionary", "guard", "corps", "ground"))
    assert runs["irgc"] == (0, 4) and runs["rgcg"] == (1, 5) and "ir" not in runs
    assert acronym_score(("irgc", "ground"), ("islamic", "revolutionary", "guard", "corps",
                                              "ground"), runs) == pytest.approx(90.0)
