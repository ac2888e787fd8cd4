"""A PEP list's positions (FtM ``position``) reach the entry and the hit (issue #12 item 4,
R-D2); sanctions entries keep their stored form; the policy key is read strictly."""

from __future__ import annotations

from pathlib import Path

import pytest

from checks.policy import ACTIVE_POLICY_FILE, PolicyError, load_policy
from checks.screening import ScreeningIndex, load_list
from checks.screening.entries import ListEntry


def test_pep_entries_carry_their_position_and_round_trip(fixtures_dir: Path) -> None:
    loaded = load_list(fixtures_dir / "opensanctions_sample.jsonl", "pep")
    erdogan = next(e for e in loaded.entries if e.entry_id == "Q39723")
    assert erdogan.positions == ("President of Turkey",)
    assert ListEntry.from_dict(erdogan.to_dict()) == erdogan
    index = ScreeningIndex.build(loaded.entries, {loaded.list_name: loaded.version})
    hit = next(h for h in index.screen("Ayşe Kılıç", "owner", birth_date="1971-03-04")
               if h.entry_id == "pep-fixture-ayse-kilic")
    assert (hit.kind, hit.position) == ("pep", "Member of the Grand National Assembly")


def test_a_sanctions_entry_has_no_positions_key_and_a_stable_digest(ftm_list) -> None:
    entry = next(e for e in ftm_list.entries if e.kind == "sanctions")
    assert "positions" not in entry.to_dict()
    assert entry.digest() == ListEntry.from_dict(entry.to_dict()).digest()
    changed = ListEntry.from_dict({**entry.to_dict(), "aliases": ["Someone Else"]})
    assert changed.digest() != entry.digest()


def test_pep_owner_points_must_be_an_integer(tmp_path: Path) -> None:
    text = Path(ACTIVE_POLICY_FILE).read_text(encoding="utf-8")
    assert "pep_owner_points = 60" in text
    path = tmp_path / "bad.toml"
    path.write_text(text.replace("pep_owner_points = 60", 'pep_owner_points = "high"', 1),
                    encoding="utf-8")
    with pytest.raises(PolicyError, match="pep_owner_points"):
        load_policy(path)
