"""CheckResult: statuses, points, JSON-serialisable evidence, round trip."""

from __future__ import annotations

import json

import pytest

from checks.result import CheckResult


def test_check_result_round_trips_through_json():
    result = CheckResult("domain_age", "flag", 20, {"age_days": 41, "domain": "a.tr"}, "Young.")
    assert CheckResult.from_dict(json.loads(json.dumps(result.to_dict()))) == result


@pytest.mark.parametrize(
    ("status", "points", "evidence"),
    [("maybe", 0, {}), ("pass", -1, {}), ("pass", True, {}), ("pass", 0, {"x": object()})],
)
def test_check_result_refuses_bad_values(status, points, evidence):
    with pytest.raises(ValueError):
        CheckResult("domain_age", status, points, evidence, "x")
