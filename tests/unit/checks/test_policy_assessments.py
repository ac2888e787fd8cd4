"""The ``[assessments]`` table of the policy (R-D1): a TTL per tier and the renewal batch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from checks.policy import ACTIVE_POLICY_FILE, POLICY_DIR, PolicyError, load_policy

TEXT = ACTIVE_POLICY_FILE.read_text(encoding="utf-8")
AT = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def test_active_policy_renews_the_high_tier_most_often(policy):
    rules = policy.assessments
    assert dict(rules.ttl_days) == {"low": 180, "medium": 90, "high": 30}
    assert (rules.renewals_per_run, rules.renewal_lease_minutes) == (50, 30)
    assert rules.expires_at("high", AT) == AT + timedelta(days=30)
    assert rules.expires_at("low", AT) == AT + timedelta(days=180)


def test_a_policy_without_the_table_lets_assessments_stand():
    older = load_policy(POLICY_DIR / "kyb-2026.11.1.toml")
    assert older.assessments.expires_at("high", AT) is None


def _with(tmp_path, old: str, new: str):
    assert old in TEXT
    path = tmp_path / "policy.toml"
    path.write_text(TEXT.replace(old, new, 1), encoding="utf-8")
    return load_policy(path)


@pytest.mark.parametrize(("old", "new", "message"), [
    ("renewals_per_run = 50", "renewals_per_run = 0", "assessments.renewals_per_run"),
    ("renewal_lease_minutes = 30", "renewal_lease_minutes = 30\nevery = 3",
     "assessments.every: unknown key"),
    ("high = 30\n", "", "assessments.ttl_days: expected a table with exactly low, medium, high"),
    ("high = 30\n", "high = 30\nvip = 5\n", "assessments.ttl_days: expected a table"),
    ("medium = 90\n", "medium = 0\n", "assessments.ttl_days.medium"),
    ("medium = 90\n", 'medium = "90"\n', "assessments.ttl_days.medium"),
    ("renewal_lease_minutes = 30\n", "", "assessments.renewal_lease_minutes: missing"),
])
def test_a_bad_assessments_table_is_refused_naming_the_key(tmp_path, old, new, message):
    with pytest.raises(PolicyError, match=message.replace(".", r"\.")):
        _with(tmp_path, old, new)
