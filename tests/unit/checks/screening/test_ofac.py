"""OFAC legacy CSV parsing: names in natural order, remarks, aliases, addresses."""

from __future__ import annotations

import pytest

from checks.screening import LoadedList
from checks.screening.ofac import natural_order, parse_dob, parse_remarks


def _entry(loaded: LoadedList, entry_id: str):
    return next(e for e in loaded.entries if e.entry_id == entry_id)


@pytest.mark.parametrize(
    ("listed", "natural"),
    [
        ("AL-TIKRITI, Saddam Hussein", "Saddam Hussein AL-TIKRITI"),
        ("BADEGE, Eric", "Eric BADEGE"),
        ("BANCO NACIONAL DE CUBA", "BANCO NACIONAL DE CUBA"),
    ],
)
def test_natural_order_turns_last_comma_first_around(listed: str, natural: str) -> None:
    assert natural_order(listed) == natural


@pytest.mark.parametrize(
    ("text", "dates"),
    [
        ("28 Apr 1937", ["1937-04-28"]),
        ("Apr 1937", ["1937-04"]),
        ("1943", ["1943"]),
        ("circa 1960", ["1960"]),
        ("1960 to 1962", ["1960", "1961", "1962"]),
        ("01 Jan 1960 to 31 Dec 1961", ["1960", "1961"]),
        ("unknown", []),
    ],
)
def test_parse_dob_reads_every_ofac_date_form(text: str, dates: list[str]) -> None:
    assert parse_dob(text) == dates


def test_parse_remarks_collects_dobs_nationalities_and_quoted_akas() -> None:
    dobs, nationalities, akas = parse_remarks(
        "DOB 1943; alt. DOB 1941; POB al-Awja, Iraq; nationality Iraq; citizen Korea, North; "
        "a.k.a. 'ABU ALI'."
    )
    assert dobs == ["1943", "1941"]
    assert nationalities == ["IQ", "KP"]
    assert akas == ["ABU ALI"]


def test_individual_gets_natural_name_dob_nationality_and_alias(ofac_list: LoadedList) -> None:
    saddam = _entry(ofac_list, "7843")
    assert saddam.entry_type == "individual"
    assert saddam.primary_name == "Saddam Hussein AL-TIKRITI"
    assert saddam.birth_dates == ("1937-04-28",)
    assert saddam.nationalities == ("IQ",)
    assert "Saddam HUSSEIN" in saddam.aliases
    assert saddam.weak_aliases == ("ABU ALI",)
    assert saddam.programs == ("IRAQ2",)


def test_entity_gets_aliases_and_address_countries(ofac_list: LoadedList) -> None:
    bank = _entry(ofac_list, "306")
    assert bank.entry_type == "entity"
    assert "NATIONAL BANK OF CUBA" in bank.aliases
    assert "CH" in bank.countries


def test_multi_program_column_is_split(ofac_list: LoadedList) -> None:
    assert _entry(ofac_list, "12552").programs == ("NPWMD", "IFSR")


def test_counts_and_no_warnings_for_the_fixture_subset(ofac_list: LoadedList) -> None:
    assert ofac_list.counts["entries"] == len(ofac_list.entries) == 309
    assert ofac_list.counts["individual"] == 138
    assert ofac_list.warnings == ()
    assert ofac_list.version.startswith("sha256:")
