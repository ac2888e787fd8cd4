"""Shared fixtures: the OFAC, UN and FtM subsets in tests/fixtures/sanctions and an index."""

from __future__ import annotations

from pathlib import Path

import pytest

from checks.screening import LoadedList, ScreeningIndex, load_list

FIXTURES = Path(__file__).resolve().parents[4] / "tests" / "fixtures" / "sanctions"
REAL_DATA = Path("/work/shared/data/sanctions")


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def ofac_list() -> LoadedList:
    return load_list([FIXTURES / "sdn.csv", FIXTURES / "alt.csv", FIXTURES / "add.csv"])


@pytest.fixture(scope="session")
def un_list() -> LoadedList:
    return load_list(FIXTURES / "un_consolidated.xml")


@pytest.fixture(scope="session")
def ftm_list() -> LoadedList:
    return load_list(FIXTURES / "opensanctions_sample.jsonl")


@pytest.fixture(scope="session")
def index(ofac_list: LoadedList, un_list: LoadedList, ftm_list: LoadedList) -> ScreeningIndex:
    return ScreeningIndex.from_lists(ofac_list, un_list, ftm_list)
