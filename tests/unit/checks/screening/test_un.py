"""UN consolidated list XML parsing, and refusal of unsafe or malformed XML."""

from __future__ import annotations

from pathlib import Path

import pytest

from checks.screening import ListFormatError, LoadedList, load_list


def _entry(loaded: LoadedList, entry_id: str):
    return next(e for e in loaded.entries if e.entry_id == entry_id)


def test_version_is_the_lists_date_generated(un_list: LoadedList) -> None:
    assert un_list.version == "2026-02-27T00:00:09.554Z"
    assert un_list.list_name == "UN Consolidated"


def test_individual_name_parts_aliases_dob_and_nationality(un_list: LoadedList) -> None:
    saddam = _entry(un_list, "IQi.001")
    assert saddam.primary_name == "SADDAM HUSSEIN AL-TIKRITI"
    assert saddam.birth_dates == ("1937-04-28",)
    assert saddam.nationalities == ("IQ",)
    assert "صدام حسين التكريتي" in saddam.aliases  # NAME_ORIGINAL_SCRIPT


def test_low_quality_aliases_are_kept_apart_as_weak(un_list: LoadedList) -> None:
    gaston = _entry(un_list, "CDi.003")
    assert gaston.weak_aliases == ("Rumuli",)
    assert "Victor Rumuri" in gaston.aliases


def test_year_only_birth_date(un_list: LoadedList) -> None:
    assert _entry(un_list, "CDi.001").birth_dates == ("1971",)


def test_entities_with_aliases_and_programs(un_list: LoadedList) -> None:
    adf = _entry(un_list, "CDe.001")
    assert adf.entry_type == "entity"
    assert "Allied Democratic Forces" in adf.aliases
    assert adf.programs == ("DRC",)
    assert adf.countries == ("CD",)


def test_doctype_with_entities_is_refused(tmp_path: Path) -> None:
    bomb = tmp_path / "un.xml"
    bomb.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE CONSOLIDATED_LIST [<!ENTITY a "aaaa">]>\n'
        "<CONSOLIDATED_LIST><INDIVIDUALS><INDIVIDUAL><FIRST_NAME>&a;</FIRST_NAME>"
        "</INDIVIDUAL></INDIVIDUALS></CONSOLIDATED_LIST>\n"
    )
    with pytest.raises(ListFormatError, match="un.xml"):
        load_list(bomb)


def test_truncated_xml_names_file_and_line(tmp_path: Path, fixtures_dir: Path) -> None:
    text = (fixtures_dir / "un_consolidated.xml").read_text()
    broken = tmp_path / "un_broken.xml"
    broken.write_text(text[: len(text) // 2])
    with pytest.raises(ListFormatError, match=r"un_broken\.xml line \d+"):
        load_list(broken)


def test_record_without_reference_or_dataid_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "un.xml"
    path.write_text(
        '<CONSOLIDATED_LIST dateGenerated="2026-01-01T00:00:00Z"><INDIVIDUALS><INDIVIDUAL>'
        "<FIRST_NAME>JOHN</FIRST_NAME></INDIVIDUAL></INDIVIDUALS></CONSOLIDATED_LIST>"
    )
    with pytest.raises(ListFormatError, match=r"INDIVIDUAL #1 \(JOHN\)"):
        load_list(path)
