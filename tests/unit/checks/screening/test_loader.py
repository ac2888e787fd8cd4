"""Format detection, OFAC file roles in any order, stable versions and clear errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from checks.screening import ListEntry, ListFormatError, detect_format, load_list


def test_detect_format_of_each_list(fixtures_dir: Path) -> None:
    assert detect_format([fixtures_dir / "alt.csv", fixtures_dir / "sdn.csv"]) == "ofac_csv"
    assert detect_format([fixtures_dir / "un_consolidated.xml"]) == "un_xml"
    assert detect_format([fixtures_dir / "opensanctions_sample.jsonl"]) == "ftm_jsonl"


def test_mixed_formats_are_refused(fixtures_dir: Path) -> None:
    with pytest.raises(ListFormatError, match="mix"):
        detect_format([fixtures_dir / "sdn.csv", fixtures_dir / "un_consolidated.xml"])


def test_ofac_files_recognised_by_content_in_any_order(tmp_path: Path, fixtures_dir: Path) -> None:
    for source, target in (("add.csv", "a.csv"), ("sdn.csv", "b.csv"), ("alt.csv", "c.csv")):
        shutil.copy(fixtures_dir / source, tmp_path / target)
    shuffled = load_list([tmp_path / "c.csv", tmp_path / "a.csv", tmp_path / "b.csv"])
    named = load_list([fixtures_dir / n for n in ("sdn.csv", "alt.csv", "add.csv")])
    assert shuffled.version == named.version
    assert shuffled.entries == named.entries


def test_ofac_without_sdn_file_is_refused(fixtures_dir: Path) -> None:
    with pytest.raises(ListFormatError, match="sdn.csv"):
        load_list([fixtures_dir / "alt.csv"])


def test_ofac_row_with_wrong_column_count_names_file_and_line(tmp_path: Path) -> None:
    sdn = tmp_path / "sdn.csv"
    sdn.write_text(
        '36,"AEROCARIBBEAN AIRLINES",-0- ,"CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \n'
        '173,"ANGLO-CARIBBEAN CO., LTD.",-0- \n'
    )
    with pytest.raises(ListFormatError, match=r"sdn\.csv line 2: expected 12 columns"):
        load_list([sdn])


def test_ofac_row_with_non_numeric_id_is_refused(tmp_path: Path) -> None:
    sdn = tmp_path / "sdn.csv"
    sdn.write_text('1X,"NAME",-0- ,"CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \n')
    with pytest.raises(ListFormatError, match=r"sdn\.csv line 1: ent_num '1X'"):
        load_list([sdn])


def test_unreadable_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ListFormatError, match="missing.csv"):
        load_list([tmp_path / "missing.csv"])


def test_unknown_format_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "list.pdf"
    path.write_bytes(b"%PDF-1.7")
    with pytest.raises(ListFormatError, match="not a recognised list format"):
        load_list(path)


def test_list_name_override_is_applied_to_entries(fixtures_dir: Path) -> None:
    loaded = load_list(fixtures_dir / "un_consolidated.xml", list_name="UNSC")
    assert loaded.list_name == "UNSC"
    assert {e.list_name for e in loaded.entries} == {"UNSC"}


def test_entries_round_trip_through_dicts(fixtures_dir: Path) -> None:
    loaded = load_list(fixtures_dir / "un_consolidated.xml")
    assert all(ListEntry.from_dict(e.to_dict()) == e for e in loaded.entries)
