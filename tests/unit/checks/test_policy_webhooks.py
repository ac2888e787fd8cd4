"""The ``[webhooks]`` table of the policy (R-D6): delivery attempts, backoff and rotation
overlap, validated strictly."""

from __future__ import annotations

import pytest

from checks.policy import (
    ACTIVE_POLICY_FILE,
    POLICY_DIR,
    PolicyError,
    WebhooksPolicy,
    load_policy,
)

TEXT = ACTIVE_POLICY_FILE.read_text(encoding="utf-8")


def test_active_policy_sets_the_webhook_delivery_keys():
    assert load_policy().webhooks == WebhooksPolicy(
        max_attempts=8, backoff_base_seconds=30, backoff_cap_seconds=3600, timeout_seconds=10,
        rotation_overlap_hours=24)


def test_policy_without_a_webhooks_table_gets_the_defaults():
    assert load_policy(POLICY_DIR / "kyb-2026.11.1.toml").webhooks == WebhooksPolicy()


@pytest.mark.parametrize("old, new, message", [
    ("max_attempts = 8", "max_attempts = 8\nmax_attemps = 9", "webhooks.max_attemps: unknown"),
    ("max_attempts = 8\n", "", "webhooks.max_attempts: missing"),
    ("max_attempts = 8", "max_attempts = 0", "webhooks.max_attempts: expected a positive"),
    ("backoff_cap_seconds = 3600", "backoff_cap_seconds = 29", "must not be below"),
    ("timeout_seconds = 10", 'timeout_seconds = "ten"', "webhooks.timeout_seconds"),
])
def test_bad_webhooks_key_is_refused_by_name(tmp_path, old, new, message):
    assert old in TEXT
    path = tmp_path / "p.toml"
    path.write_text(TEXT.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(PolicyError, match=message):
        load_policy(path)


def test_backoff_cap_equal_to_the_base_is_allowed(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text(TEXT.replace("backoff_cap_seconds = 3600", "backoff_cap_seconds = 30"),
                    encoding="utf-8")
    assert load_policy(path).webhooks.backoff_cap_seconds == 30
