"""The ``[monitoring]`` keys added for scenario fidelity (issue #9): read as typed values from
kyb-2026.11.2 and refused when malformed (the parser refuses unknown keys)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from checks.policy import ACTIVE_POLICY_FILE, PolicyError, load_policy


def _policy_with(tmp_path: Path, old: str, new: str) -> Path:
    text = ACTIVE_POLICY_FILE.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "p.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_new_keys_read_as_typed_values(policy):
    param = policy.monitoring.param
    assert param("bot_interval_min_seconds") == 0 and param("bot_interval_max_seconds") == 120
    assert param("transfers_per_day_max") == 10
    assert (param("counterparties_per_day"), param("counterparties_per_month")) == (5, 15)
    assert param("young_account_max_transactions") == 50
    assert param("young_account_max_try") == Decimal("27500")
    assert param("young_holder_age") == 20
    assert (param("identity_reuse_window_days"), param("identity_reuse_accounts")) == (365, 2)
    assert {"CW", "MT", "KY"} <= set(param("risky_countries"))
    assert "5944" in param("cash_intensive_mccs")
    assert {"card_velocity", "bot_intervals"} <= set(param("verification_scenarios"))
    assert "alfabet" in param("description_allow")
    assert {"kumar", "bet", "bhs", "kacak"} <= set(param("description_terms"))


def test_every_verification_scenario_is_a_registered_code(policy):
    from checks.monitoring.registry import codes

    assert set(policy.monitoring.param("verification_scenarios")) <= set(codes())


@pytest.mark.parametrize(("old", "new", "message"), [
    ('risky_countries = ["KY"', 'risky_countries = ["Cayman"', "monitoring.risky_countries"),
    ("transfers_per_day_max = 10", "transfers_per_day_max = -1",
     "monitoring.transfers_per_day_max"),
    ('young_account_max_try = "27500"', 'young_account_max_try = "lots"',
     "monitoring.young_account_max_try"),
    ("description_allow = [", "description_allowed = [", "description_allowed: unknown"),
])
def test_malformed_new_keys_are_refused(tmp_path, old, new, message):
    with pytest.raises(PolicyError, match=message):
        load_policy(_policy_with(tmp_path, old, new))


def test_the_verification_stream_reads_two_days_unless_a_monthly_rule_is_listed(policy):
    from checks.monitoring import lookback_days

    assert lookback_days(policy, only=policy.monitoring.param("verification_scenarios")) == 2
    assert lookback_days(policy, only=["card_velocity", "round_amounts"]) == 32
    assert lookback_days(policy) >= 32
