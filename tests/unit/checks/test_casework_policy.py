"""The casework keys of the policy (``[alerts] snooze_max_hours`` and ``[cases]``), read
strictly: an unknown or malformed key is refused with its name."""

from __future__ import annotations

import pytest

from checks.policy import ACTIVE_POLICY_FILE, POLICY_DIR, PolicyError, load_policy

TEXT = ACTIVE_POLICY_FILE.read_text(encoding="utf-8")


def test_casework_keys_of_the_active_policy():
    rules = load_policy().casework
    assert rules.snooze_max_hours == 168
    assert dict(rules.due_hours) == {"low": 720, "medium": 240, "high": 72, "critical": 24}
    assert rules.four_eyes_priorities == ("high", "critical")
    assert rules.attachment_max_bytes == 10 * 1024 * 1024
    assert "application/pdf" in rules.attachment_types
    assert rules.information_request_days == 10


def test_a_policy_before_casework_has_none():
    assert load_policy(POLICY_DIR / "kyb-2026.11.1.toml").casework is None


@pytest.mark.parametrize(("old", "new", "message"), [
    ("snooze_max_hours = 168", "snooze_max_hour = 168", "alerts.snooze_max_hour: unknown"),
    ("snooze_max_hours = 168", "snooze_max_hours = 0", "at least 1"),
    ("snooze_max_hours = 168", "snooze_max_hours = \"a week\"", "alerts.snooze_max_hours"),
    ("information_request_days = 10", "information_request_days = 10\nextra = 1",
     "cases.extra: unknown"),
    ('four_eyes_priorities = ["high", "critical"]', 'four_eyes_priorities = ["urgent"]',
     "cases.four_eyes_priorities"),
    ('attachment_types = ["application/pdf",', 'attachment_types = ["pdf",',
     "cases.attachment_types"),
    ("critical = 24\n", "", "cases.due_hours"),
])
def test_malformed_casework_key_is_refused_by_name(tmp_path, old, new, message):
    assert old in TEXT
    path = tmp_path / "bad.toml"
    path.write_text(TEXT.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(PolicyError, match=message):
        load_policy(path)
