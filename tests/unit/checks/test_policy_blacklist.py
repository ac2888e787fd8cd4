"""The policy's ``[blacklist]`` table (R-E2): the alert severity of a blacklist hit on traffic,
validated strictly; older policies without the table alert at high severity."""

from __future__ import annotations

import pytest

from checks.policy import ACTIVE_POLICY_FILE, POLICY_DIR, PolicyError, load_policy

TEXT = ACTIVE_POLICY_FILE.read_text(encoding="utf-8")
TABLE = '[blacklist]\nalert_severity = "high"\n'


def test_the_active_policy_alerts_blacklist_hits_at_high_severity():
    assert TABLE in TEXT
    assert load_policy().blacklist.alert_severity == "high"


def test_a_policy_without_the_table_alerts_at_high_severity():
    assert load_policy(POLICY_DIR / "kyb-2026.11.1.toml").blacklist.alert_severity == "high"


@pytest.mark.parametrize("severity", ["low", "medium", "high"])
def test_each_severity_is_accepted(tmp_path, severity):
    path = tmp_path / "p.toml"
    path.write_text(TEXT.replace(TABLE, f'[blacklist]\nalert_severity = "{severity}"\n'),
                    encoding="utf-8")
    assert load_policy(path).blacklist.alert_severity == severity


@pytest.mark.parametrize(("table", "message"), [
    ('[blacklist]\nalert_severity = "urgent"\n', "blacklist.alert_severity"),
    ('[blacklist]\nalert_severity = "high"\nalert_severty = "low"\n', "blacklist.alert_severty"),
    ('[blacklist]\nalert_severity = 3\n', "blacklist.alert_severity"),
])
def test_a_bad_blacklist_table_is_refused_naming_the_key(tmp_path, table, message):
    path = tmp_path / "p.toml"
    path.write_text(TEXT.replace(TABLE, table), encoding="utf-8")
    with pytest.raises(PolicyError, match=message):
        load_policy(path)
