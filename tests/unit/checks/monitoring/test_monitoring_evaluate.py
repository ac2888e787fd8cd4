"""The scenario registry, ``evaluate`` and the ``[monitoring]`` policy table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from checks.monitoring import Activity, ScenarioHit, evaluate, lookback_days
from checks.monitoring.registry import DuplicateScenarioError, codes, scenario
from checks.policy import ACTIVE_POLICY_FILE, PolicyError, load_policy

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
EXPECTED = {"turnover_jump", "chargeback_ratio", "weekend_volume", "night_turnover",
            "round_amounts", "card_velocity", "bot_intervals", "sector_outlier",
            "suspicious_description", "ip_many_customers", "customer_many_ips",
            "account_transfers", "account_counterparties", "young_account", "identity_reuse",
            "risky_country", "cash_sector_personal"}


def test_every_scenario_is_registered_with_a_policy_severity(policy):
    assert set(codes()) == EXPECTED
    assert set(policy.monitoring.severity) == EXPECTED


def test_registry_refuses_a_second_scenario_under_a_code():
    with pytest.raises(DuplicateScenarioError):
        scenario("card_velocity")(lambda activity, policy, now: ())


def test_one_transaction_fires_no_scenario(policy, tx):
    for amount in ("100", "1000000"):
        for kind in ("sale", "chargeback"):
            only = Activity((tx(NOW - timedelta(hours=23), amount, type=kind),))
            assert evaluate(only, policy, NOW) == ()


def test_evaluate_refuses_a_naive_now(policy):
    with pytest.raises(ValueError):
        evaluate(Activity(()), policy, datetime(2026, 11, 21, 12, 0))


def test_evaluate_runs_several_scenarios_and_keys_are_unique(policy, tx):
    card = [tx(NOW - timedelta(minutes=90 - 10 * i), "100", card_fingerprint="e" * 64,
               description="kumar") for i in range(6)]
    hits = evaluate(Activity(tuple(card)), policy, NOW)
    assert {h.code for h in hits} == {"card_velocity", "suspicious_description"}
    assert len({h.dedupe_key for h in hits}) == len(hits)


def test_lookback_covers_the_monthly_windows(policy):
    assert lookback_days(policy) >= 32


def test_hit_needs_a_dedupe_key_and_a_known_severity():
    with pytest.raises(ValueError):
        ScenarioHit(code="x", subject="merchant", summary="s", severity="medium", dedupe_key="")
    with pytest.raises(ValueError):
        ScenarioHit(code="x", subject="merchant", summary="s", severity="urgent", dedupe_key="k")


def _policy_with(tmp_path: Path, old: str, new: str) -> Path:
    text = ACTIVE_POLICY_FILE.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "p.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(("old", "new", "message"), [
    ('timezone = "Europe/Istanbul"', 'timezone = "Mars/Olympus"', "monitoring.timezone"),
    ("card_velocity_count = 5", "card_velocity_count = 5\ncard_velocty_count = 5",
     "monitoring.card_velocty_count: unknown"),
    ('night_ratio = "0.50"', 'night_ratio = "half"', "monitoring.night_ratio"),
    ('bot_intervals = "high"', 'bot_intervals = "urgent"', "monitoring.severity.bot_intervals"),
])
def test_policy_refuses_a_bad_monitoring_key(tmp_path, old, new, message):
    with pytest.raises(PolicyError, match=message):
        load_policy(_policy_with(tmp_path, old, new))


def test_policy_reads_monitoring_thresholds_as_typed_values(policy):
    from decimal import Decimal
    assert policy.monitoring.param("turnover_jump_factor") == Decimal("4")
    assert policy.monitoring.param("chargeback_max_ratio") == Decimal("0.05")
    assert policy.monitoring.param("card_velocity_window_minutes") == 120
    assert "kacak" in policy.monitoring.param("description_terms")
