"""The screening quality bench (issue #12): its labelled pairs and the targets the policy meets.

The pairs file in bench/data is what the README figures are computed on; the policy's two scores
(kyb-2026.11.2: strong 90, possible 78) must keep meeting the issue's targets on it: F1 >= 0.85
with recall >= 0.90 at "possible", precision >= 0.95 at "strong".
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[4]
sys.path.insert(0, str(ROOT))

from bench.screening_quality import (  # noqa: E402
    DEFAULT_PAIRS,
    POLICY,
    generate,
    prf,
    read_pairs,
    score,
)
from checks.policy import load_policy  # noqa: E402
from checks.screening.matcher import ScreeningIndex  # noqa: E402

REAL_DATA = Path("/work/shared/data/sanctions")


@pytest.fixture(scope="module")
def pairs():
    return read_pairs(DEFAULT_PAIRS)


def test_the_labelled_set_is_large_and_covers_every_kind_of_miss(pairs):
    assert len(pairs) >= 1000
    categories = Counter(p.category for p in pairs)
    assert set(categories) >= {"alias", "original_script", "turkish", "legal_form", "joined",
                               "digits", "initials", "numbers", "honorific", "script"}
    negatives = Counter(p.category for p in pairs if not p.label)
    assert all(negatives[c] > 0 for c in categories)  # every category has hard negatives


def test_policy_scores_meet_the_issue_targets(pairs):
    params = load_policy(POLICY).check("sanctions_pep").params
    rows = [(p.label, score(ScreeningIndex, p)) for p in pairs]
    precision, recall, f1, _, _ = prf(rows, float(params["possible_score"]))
    assert recall >= 0.90 and f1 >= 0.85
    strong_precision, _, _, _, _ = prf(rows, float(params["strong_score"]))
    assert strong_precision >= 0.95


@pytest.mark.skipif(not REAL_DATA.is_dir(), reason="real sanctions data folder absent")
def test_generation_from_the_real_lists_is_deterministic(pairs):
    again = generate(REAL_DATA, 12)
    assert [(p.category, p.label, p.query, p.target.entry_id) for p in again] == [
        (p.category, p.label, p.query, p.target.entry_id) for p in pairs]


# Per category at the possible score (78), as measured when alias recall was raised from 0.642
# (README, "Screening quality"): a change of the matcher may move them up, not down.
CATEGORY_FLOORS = {  # category: (precision, recall)
    "alias": (0.93, 0.71), "digits": (0.98, 1.0), "honorific": (0.97, 1.0),
    "initials": (0.95, 0.88), "joined": (0.94, 0.90), "legal_form": (0.95, 0.98),
    "numbers": (0.94, 1.0), "original_script": (0.99, 0.86), "reorder": (0.96, 0.99),
    "script": (0.98, 0.90), "turkish": (0.94, 1.0), "typo": (0.95, 0.91),
}


def test_no_category_falls_below_its_recorded_precision_and_recall(pairs):
    possible = float(load_policy(POLICY).check("sanctions_pep").params["possible_score"])
    by_category: dict[str, list[tuple[int, float]]] = {}
    for p in pairs:
        by_category.setdefault(p.category, []).append((p.label, score(ScreeningIndex, p)))
    measured = {c: prf(rows, possible)[:2] for c, rows in by_category.items()}
    low = {c: (round(measured[c][0], 3), round(measured[c][1], 3)) for c, (p, r)
           in CATEGORY_FLOORS.items() if measured[c][0] < p or measured[c][1] < r}
    assert low == {}
