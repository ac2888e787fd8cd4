"""OpenSanctions FollowTheMoney JSON lines: kinds from topics, skipped records, bad lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from checks.screening import ListFormatError, LoadedList, load_list


def _entry(loaded: LoadedList, entry_id: str):
    return next(e for e in loaded.entries if e.entry_id == entry_id)


def test_kind_comes_from_topics(ftm_list: LoadedList) -> None:
    assert _entry(ftm_list, "Q39723").kind == "pep"
    assert _entry(ftm_list, "NK-3fDyTGMktWKzRqgq8iaJGc").kind == "sanctions"
    assert _entry(ftm_list, "imo-9354521").entry_type == "vessel"


def test_person_properties_map_to_the_entry(ftm_list: LoadedList) -> None:
    person = _entry(ftm_list, "NK-3fDyTGMktWKzRqgq8iaJGc")
    assert person.entry_type == "individual"
    assert person.birth_dates == ("1950-07-09",)
    assert person.nationalities == ("UA",)
    assert person.countries == ("UA", "RU")
    assert person.programs == ("EU-UKR",)
    assert "Віктор Федорович Янукович" in person.aliases


def test_company_keeps_weak_alias_apart(ftm_list: LoadedList) -> None:
    company = _entry(ftm_list, "NK-6ZQtqE9tqMYx5PGGJrP3Co")
    assert company.weak_aliases == ("RN",)
    assert "PAO NK Rosneft" in company.aliases


def test_relationship_records_and_untopical_entities_are_skipped_with_warnings(
    ftm_list: LoadedList,
) -> None:
    ids = {e.entry_id for e in ftm_list.entries}
    assert "ofac-sanction-7843" not in ids
    assert "pep-fixture-ayse-kilic" not in ids
    assert any("Sanction record" in w for w in ftm_list.warnings)
    assert any("pep-fixture-ayse-kilic" in w for w in ftm_list.warnings)


def test_explicit_kind_loads_a_pep_list_whole(fixtures_dir: Path) -> None:
    loaded = load_list(fixtures_dir / "opensanctions_sample.jsonl", "pep")
    assert loaded.list_name == "OpenSanctions PEP"
    assert {e.kind for e in loaded.entries} == {"pep"}
    assert "pep-fixture-ayse-kilic" in {e.entry_id for e in loaded.entries}


def test_version_is_the_file_digest(ftm_list: LoadedList) -> None:
    assert ftm_list.version.startswith("sha256:") and len(ftm_list.version) == 7 + 64


def test_invalid_json_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "peps.jsonl"
    path.write_text(
        '{"id": "a", "schema": "Person", "properties": {"name": ["A B"]}}\n{"id": oops\n'
    )
    with pytest.raises(ListFormatError, match=r"peps\.jsonl line 2: invalid JSON"):
        load_list(path, "pep")


def test_json_that_is_not_an_entity_is_named(tmp_path: Path) -> None:
    path = tmp_path / "peps.jsonl"
    path.write_text('{"name": "A B"}\n')
    with pytest.raises(ListFormatError, match=r"peps\.jsonl line 1: not an FtM entity"):
        load_list(path, "pep")
