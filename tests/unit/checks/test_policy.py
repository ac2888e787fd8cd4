"""Loading the versioned policy file, and clear errors naming the bad key."""

from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal

import pytest

from checks.facts import Money
from checks.policy import ACTIVE_POLICY_FILE, PolicyError, TurnoverWindow, load_policy

TEXT = ACTIVE_POLICY_FILE.read_text(encoding="utf-8")


def test_default_policy_is_the_bundled_active_file(policy):
    assert policy.version == "kyb-2026.11.3"
    assert policy.published_on == date(2026, 11, 27)
    assert policy.digest == hashlib.sha256(ACTIVE_POLICY_FILE.read_bytes()).hexdigest()
    assert policy.raw["version"] == "kyb-2026.11.3"


def test_policy_carries_the_requirement_thresholds(policy):
    assert policy.check("domain_age").params["min_age_days"] == 90
    assert policy.check("iban_change_frequency").params["flag_at_changes"] == 3
    assert policy.check("new_merchant_turnover").params["windows"] == (
        TurnoverWindow(30, Decimal("250000")),
        TurnoverWindow(60, Decimal("500000")),
        TurnoverWindow(90, Decimal("1000000")),
    )
    assert (policy.keys.max_live_keys_per_merchant, policy.keys.max_grace_seconds) == (5, 86400)
    assert policy.alert_sla_hours == 3
    assert policy.monitoring.customer_refs_per_ip_per_day == 5
    assert policy.monitoring.ips_per_customer_ref_per_day == 5


def test_policy_holds_the_october_2025_fatf_lists(policy):
    assert policy.fatf.as_of == date(2025, 10, 24)
    assert set(policy.fatf.black) == {"KP", "IR", "MM"}
    assert {"BG", "MC", "VG", "VN"} <= set(policy.fatf.grey)
    assert not {"NG", "ZA", "MZ", "BF"} & set(policy.fatf.grey)
    assert (policy.fatf.level("ir"), policy.fatf.level("KE"), policy.fatf.level("TR")) == (
        "black",
        "grey",
        None,
    )


def test_policy_converts_money_to_try_at_its_dated_rates(policy):
    assert policy.to_try(Money(Decimal("2"), "EUR")) == Decimal("97.00")
    assert policy.to_try(Money(Decimal("2"), "XYZ")) is None


def test_policy_loads_from_an_explicit_path(tmp_path):
    path = tmp_path / "copy.toml"
    path.write_text(TEXT, encoding="utf-8")
    assert load_policy(path).version == load_policy(str(path)).version == "kyb-2026.11.3"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "min_age_days = 90",
            'min_age_days = "ninety"',
            "checks.domain_age.min_age_days: expected a non-negative integer, got 'ninety'",
        ),
        ("min_age_days = 90", "min_age_day = 90", "checks.domain_age.min_age_day: unknown key"),
        ('version = "kyb-2026.11.3"\n', "", "version: missing"),
        ('high = "manual_review"', 'high = "shrug"', "actions.high: expected one of"),
        ('black = ["KP", "IR", "MM"]', 'black = ["KP", "Iran"]', "fatf.black: expected ISO 3166"),
        ("high_from = 60", "high_from = 20", "tiers: expected 0 < medium_from < high_from"),
        ('cap_try = "250000"', 'cap_try = "lots"', r"windows\[0\].cap_try: expected a decimal"),
        ("[checks.blacklist]", "[checks.blacklst]", "checks.blacklst: unknown check code"),
        (
            "published_on = 2026-11-27",
            'published_on = "soon"',
            "published_on: expected a TOML date",
        ),
        ('TRY = "1"', 'TRY = "2"', "rates.to_try.TRY"),
        ("enabled = true", "enabled = 1", "checks.domain_age.enabled: expected true or false"),
        ("max_grace_seconds = 86400", 'max_grace_seconds = 86400\nlimit_timezone = "Mars/Olympus"',
         "keys.limit_timezone: expected an IANA time zone"),
    ],
)
def test_malformed_policy_names_the_bad_key(tmp_path, old, new, message):
    assert old in TEXT
    path = tmp_path / "bad.toml"
    path.write_text(TEXT.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(PolicyError, match=f"bad.toml: .*{message}"):
        load_policy(path)


def test_policy_that_is_not_toml_is_refused(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("version = [", encoding="utf-8")
    with pytest.raises(PolicyError, match="broken.toml: not a valid TOML file"):
        load_policy(path)


def test_missing_policy_file_is_refused(tmp_path):
    with pytest.raises(PolicyError, match="cannot read policy file"):
        load_policy(tmp_path / "absent.toml")


def test_policy_is_frozen(policy):
    with pytest.raises(AttributeError):
        policy.version = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        policy.raw["version"] = "other"  # type: ignore[index]


def test_limit_calendar_is_utc_unless_the_policy_names_a_zone(tmp_path):
    """R-E5: daily and monthly limits run on the policy's calendar (``[keys] limit_timezone``)."""
    assert load_policy().keys.limit_timezone == "UTC"
    path = tmp_path / "istanbul.toml"
    path.write_text(TEXT.replace("max_grace_seconds = 86400",
                                 'max_grace_seconds = 86400\nlimit_timezone = "Europe/Istanbul"',
                                 1), encoding="utf-8")
    assert load_policy(path).keys.limit_timezone == "Europe/Istanbul"
