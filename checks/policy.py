"""The versioned KYB policy: thresholds, points, tiers, actions and dated lists, read from TOML.

``load_policy()`` reads the bundled active policy (or a given file) with :mod:`tomllib`, validates
every key it knows, and returns a frozen :class:`Policy`. A malformed file raises
:class:`PolicyError` naming the file and the bad key, e.g.
``kyb-2026.11.1.toml: checks.domain_age.min_age_days: expected an integer, got 'ninety'``.
"""

from __future__ import annotations

import copy
import hashlib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from checks.facts import Money

POLICY_DIR = Path(__file__).resolve().parent / "policies"
ACTIVE_POLICY_FILE = POLICY_DIR / "kyb-2026.11.1.toml"

TIERS: tuple[str, ...] = ("low", "medium", "high")
# Strictness order: the stricter of two actions is the one later in this tuple.
ACTIONS: tuple[str, ...] = (
    "approve", "approve_with_limits", "request_info", "manual_review", "reject",
)

_COMMON_CHECK_KEYS = {"enabled": "bool", "points": "int", "unknown_points": "int"}
# Parameters each check code accepts besides the common ones; a check table with any other key is
# refused so that a typo cannot silently fall back to a default.
_CHECK_PARAMS: dict[str, dict[str, str]] = {
    "domain_age": {"min_age_days": "int"},
    "domain_dns": {
        "no_address_points": "int", "no_mx_points": "int", "email_unrelated_points": "int",
        "free_mail_domains": "str_list",
    },
    "iban_valid": {"fail_points": "int"},
    "iban_change_frequency": {"window_days": "int", "flag_at_changes": "int"},
    "shared_ownership": {
        "link_points": "int", "bad_link_points": "int", "bad_statuses": "str_list",
        "max_merchants_per_person": "int", "many_merchants_points": "int",
        "low_capital_try": "decimal", "low_capital_points": "int",
        "young_owner_age": "int", "young_owner_points": "int",
    },
    "price_ticket_mismatch": {
        "median_ratio": "decimal", "p90_ratio": "decimal", "min_sales": "int",
    },
    "new_merchant_turnover": {"windows": "windows"},
    "sanctions_pep": {"fail_points": "int", "strong_score": "decimal", "possible_score": "decimal"},
    "high_risk_country": {"fail_points": "int"},
    "disposable_email": {},
    "blacklist": {"fail_points": "int"},
}
SEVERITIES: tuple[str, ...] = ("low", "medium", "high")
# Keys the [monitoring] table accepts (besides the [monitoring.severity] sub-table); any other key
# is refused so that a typo cannot silently fall back to a default.
_MONITORING_KEYS: dict[str, str] = {
    "timezone": "timezone",
    "customer_refs_per_ip_per_day": "int", "ips_per_customer_ref_per_day": "int",
    "turnover_jump_factor": "decimal", "turnover_jump_min_base_try": "decimal",
    "chargeback_window_days": "int", "chargeback_max_ratio": "decimal",
    "chargeback_min_sales": "int",
    "weekend_window_days": "int", "weekend_ratio": "decimal", "weekend_min_sales": "int",
    "weekend_min_span_days": "int",
    "night_window_days": "int", "night_ratio": "decimal", "night_start_hour": "int",
    "night_end_hour": "int", "night_min_sales": "int",
    "round_amount_window_days": "int", "round_amount_ratio": "decimal",
    "round_amount_unit_try": "decimal", "round_amount_min_repeats": "int",
    "round_amount_min_sales": "int",
    "card_velocity_count": "int", "card_velocity_window_minutes": "int",
    "bot_interval_min_seconds": "int", "bot_interval_max_seconds": "int",
    "bot_interval_min_gaps": "int",
    "sector_outlier_window_days": "int", "sector_outlier_factor": "decimal",
    "sector_outlier_min_peers": "int",
    "description_terms": "str_list", "description_repeat_run": "int",
    "description_sequence_run": "int",
}
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


class PolicyError(ValueError):
    """The policy file is missing, not TOML, or has a bad or missing key."""


@dataclass(frozen=True)
class TurnoverWindow:
    """A new-merchant turnover cap: ``cap_try`` reached within ``days`` of activation (R-A4)."""

    days: int
    cap_try: Decimal


@dataclass(frozen=True)
class CheckPolicy:
    """One check's table: whether it runs, its points per status, and its parameters."""

    code: str
    enabled: bool
    points: int
    unknown_points: int
    fail_points: int
    params: Mapping[str, Any]

    def points_for(self, status: str) -> int:
        """Points a result with ``status`` scores under this policy (0 for pass)."""
        return {"pass": 0, "flag": self.points, "fail": self.fail_points,
                "unknown": self.unknown_points}[status]


@dataclass(frozen=True)
class FatfLists:
    """FATF black ("call for action") and grey ("increased monitoring") lists as of a date."""

    as_of: date
    source: str
    black: tuple[str, ...]
    grey: tuple[str, ...]

    def level(self, country: str | None) -> str | None:
        """``"black"``, ``"grey"`` or ``None`` for an ISO 3166 alpha-2 code."""
        code = (country or "").upper()
        if code in self.black:
            return "black"
        if code in self.grey:
            return "grey"
        return None


@dataclass(frozen=True)
class KeysPolicy:
    """API key limits read by ``api_keys``."""

    max_live_keys_per_merchant: int
    max_grace_seconds: int
    # The calendar of daily and monthly limits: a day runs from 00:00 to 00:00 in this zone
    # (optional ``[keys] limit_timezone``; UTC when the policy does not say).
    limit_timezone: str = "UTC"


@dataclass(frozen=True)
class MonitoringPolicy:
    """Transaction-monitoring thresholds (R-B6, R-C2..R-C10, R-A7): the ``[monitoring]`` table.

    The two API-anomaly counts are kept as attributes (read before the scenarios existed);
    ``params`` holds every validated key of the table (``_MONITORING_KEYS``) and ``severity``
    the alert severity of each scenario code. ``param(name)`` reads one key.
    """

    customer_refs_per_ip_per_day: int
    ips_per_customer_ref_per_day: int
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    severity: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def param(self, name: str) -> Any:
        """The value of ``[monitoring].name``; ``KeyError`` if the policy does not set it."""
        return self.params[name]


@dataclass(frozen=True)
class Policy:
    """A loaded, validated policy. ``raw`` is the parsed TOML; ``digest`` the file's SHA-256."""

    version: str
    published_on: date
    digest: str
    source_path: str
    raw: Mapping[str, Any]
    checks: tuple[CheckPolicy, ...]
    max_score: int
    medium_from: int
    high_from: int
    actions: Mapping[str, str]
    limits: Mapping[str, Mapping[str, Decimal]]
    on_fail: Mapping[str, str]
    on_flag: Mapping[str, str]
    on_unknown: Mapping[str, str]
    fatf: FatfLists
    rates_as_of: date
    rates_to_try: Mapping[str, Decimal]
    keys: KeysPolicy
    alert_sla_hours: int
    monitoring: MonitoringPolicy

    def check(self, code: str) -> CheckPolicy:
        """The table of check ``code``; ``KeyError`` if the policy does not list it."""
        for entry in self.checks:
            if entry.code == code:
                return entry
        raise KeyError(f"policy {self.version} has no check {code!r}")

    def enabled_checks(self) -> tuple[CheckPolicy, ...]:
        """The checks that run, in the order the policy file lists them."""
        return tuple(entry for entry in self.checks if entry.enabled)

    def to_try(self, money: Money) -> Decimal | None:
        """``money`` in TRY at the policy's dated rate; ``None`` if the currency has no rate."""
        rate = self.rates_to_try.get(money.currency.upper())
        return None if rate is None else money.amount * rate

    def tier_for(self, score: int) -> str:
        """The tier a score falls in (cut-offs are inclusive lower bounds)."""
        if score >= self.high_from:
            return "high"
        if score >= self.medium_from:
            return "medium"
        return "low"


def load_policy(path: str | Path | None = None) -> Policy:
    """Read and validate a policy file (default: the bundled active policy)."""
    file = Path(path) if path is not None else ACTIVE_POLICY_FILE
    try:
        content = file.read_bytes()
    except OSError as exc:
        raise PolicyError(f"{file}: cannot read policy file: {exc.strerror or exc}") from exc
    try:
        raw = tomllib.loads(content.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{file.name}: not a valid TOML file: {exc}") from exc
    try:
        return _build(raw, digest=hashlib.sha256(content).hexdigest(), source=str(file))
    except PolicyError as exc:
        raise PolicyError(f"{file.name}: {exc}") from None


def _build(raw: dict[str, Any], *, digest: str, source: str) -> Policy:
    checks = _checks(raw)
    codes = {entry.code for entry in checks}
    medium_from, high_from = _int(raw, "tiers.medium_from"), _int(raw, "tiers.high_from")
    if not 0 < medium_from < high_from:
        raise PolicyError("tiers: expected 0 < medium_from < high_from")
    return Policy(
        version=_str(raw, "version"),
        published_on=_date(raw, "published_on"),
        digest=digest,
        source_path=source,
        raw=MappingProxyType(copy.deepcopy(raw)),
        checks=checks,
        max_score=_int(raw, "scoring.max_score"),
        medium_from=medium_from,
        high_from=high_from,
        actions=MappingProxyType({t: _action(raw, f"actions.{t}") for t in TIERS}),
        limits=MappingProxyType({t: _limits(raw, f"limits.{t}") for t in TIERS}),
        on_fail=_decision_map(raw, "decision.on_fail", codes),
        on_flag=_decision_map(raw, "decision.on_flag", codes),
        on_unknown=_decision_map(raw, "decision.on_unknown", codes),
        fatf=FatfLists(
            as_of=_date(raw, "fatf.as_of"), source=_str(raw, "fatf.source"),
            black=_countries(raw, "fatf.black"), grey=_countries(raw, "fatf.grey"),
        ),
        rates_as_of=_date(raw, "rates.as_of"),
        rates_to_try=_rates(raw, "rates.to_try"),
        keys=KeysPolicy(
            max_live_keys_per_merchant=_int(raw, "keys.max_live_keys_per_merchant"),
            max_grace_seconds=_int(raw, "keys.max_grace_seconds"),
            limit_timezone=(_timezone(raw, "keys.limit_timezone")
                            if "limit_timezone" in raw.get("keys", {}) else "UTC"),
        ),
        alert_sla_hours=_int(raw, "alerts.sla_hours"),
        monitoring=_monitoring(raw),
    )


def _checks(raw: dict[str, Any]) -> tuple[CheckPolicy, ...]:
    tables = _lookup(raw, "checks")
    if not isinstance(tables, dict) or not tables:
        raise PolicyError("checks: expected at least one [checks.<code>] table")
    return tuple(_check(raw, code) for code in tables)


def _check(raw: dict[str, Any], code: str) -> CheckPolicy:
    prefix = f"checks.{code}"
    if code not in _CHECK_PARAMS:
        raise PolicyError(f"{prefix}: unknown check code {code!r}")
    table = _lookup(raw, prefix)
    if not isinstance(table, dict):
        raise PolicyError(f"{prefix}: expected a table")
    schema = {**_COMMON_CHECK_KEYS, **_CHECK_PARAMS[code]}
    for key in table:
        if key not in schema:
            raise PolicyError(f"{prefix}.{key}: unknown key for check {code!r}")
    values = {key: _READERS[kind](raw, f"{prefix}.{key}") for key, kind in schema.items()}
    params = {k: v for k, v in values.items() if k not in _COMMON_CHECK_KEYS}
    return CheckPolicy(
        code=code, enabled=values["enabled"], points=values["points"],
        unknown_points=values["unknown_points"], fail_points=params.get("fail_points", 0),
        params=MappingProxyType(params),
    )


def _lookup(raw: dict[str, Any], key: str) -> Any:
    node: Any = raw
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            raise PolicyError(f"{key}: missing")
        node = node[part]
    return node


def _bad(key: str, what: str, value: Any) -> PolicyError:
    return PolicyError(f"{key}: expected {what}, got {value!r}")


def _int(raw: dict[str, Any], key: str) -> int:
    value = _lookup(raw, key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _bad(key, "a non-negative integer", value)
    return value


def _bool(raw: dict[str, Any], key: str) -> bool:
    value = _lookup(raw, key)
    if not isinstance(value, bool):
        raise _bad(key, "true or false", value)
    return value


def _str(raw: dict[str, Any], key: str) -> str:
    value = _lookup(raw, key)
    if not isinstance(value, str) or not value.strip():
        raise _bad(key, "a non-empty string", value)
    return value


def _date(raw: dict[str, Any], key: str) -> date:
    value = _lookup(raw, key)
    if not isinstance(value, date) or hasattr(value, "hour"):
        raise _bad(key, "a TOML date (YYYY-MM-DD)", value)
    return value


def _decimal(raw: dict[str, Any], key: str) -> Decimal:
    value = _lookup(raw, key)
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise _bad(key, "a decimal number (preferably a string)", value)
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise _bad(key, "a decimal number", value) from None
    if not number.is_finite() or number < 0:
        raise _bad(key, "a finite non-negative number", value)
    return number


def _str_list(raw: dict[str, Any], key: str) -> tuple[str, ...]:
    value = _lookup(raw, key)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _bad(key, "a list of strings", value)
    return tuple(value)


def _countries(raw: dict[str, Any], key: str) -> tuple[str, ...]:
    codes = _str_list(raw, key)
    for code in codes:
        if not _COUNTRY.match(code):
            raise _bad(key, "ISO 3166 alpha-2 codes", code)
    return codes


def _windows(raw: dict[str, Any], key: str) -> tuple[TurnoverWindow, ...]:
    value = _lookup(raw, key)
    if not isinstance(value, list) or not value:
        raise _bad(key, "an array of tables [[...]] with days and cap_try", value)
    windows = []
    for i, item in enumerate(value):
        item_raw = {"w": item}
        if not isinstance(item, dict) or set(item) != {"days", "cap_try"}:
            raise _bad(f"{key}[{i}]", "a table with exactly days and cap_try", item)
        try:
            days, cap = _int(item_raw, "w.days"), _decimal(item_raw, "w.cap_try")
        except PolicyError as exc:
            raise PolicyError(str(exc).replace("w.", f"{key}[{i}].", 1)) from None
        windows.append(TurnoverWindow(days, cap))
    return tuple(sorted(windows, key=lambda w: w.days))


def _action(raw: dict[str, Any], key: str) -> str:
    value = _str(raw, key)
    if value not in ACTIONS:
        raise _bad(key, f"one of {', '.join(ACTIONS)}", value)
    return value


def _limits(raw: dict[str, Any], key: str) -> Mapping[str, Decimal]:
    table = _lookup(raw, key)
    if not isinstance(table, dict):
        raise _bad(key, "a table of TRY amounts", table)
    return MappingProxyType({name: _decimal(raw, f"{key}.{name}") for name in table})


def _decision_map(raw: dict[str, Any], key: str, codes: set[str]) -> Mapping[str, str]:
    table = _lookup(raw, key)
    if not isinstance(table, dict):
        raise _bad(key, "a table of check code = action", table)
    for code in table:
        if code not in codes:
            raise PolicyError(f"{key}.{code}: no such check in this policy")
    return MappingProxyType({code: _action(raw, f"{key}.{code}") for code in table})


def _monitoring(raw: dict[str, Any]) -> MonitoringPolicy:
    """The ``[monitoring]`` table; only the two R-B6 counts are required, the scenario keys are
    validated when present (a policy that lacks one cannot run that scenario)."""
    table = _lookup(raw, "monitoring")
    if not isinstance(table, dict):
        raise _bad("monitoring", "a table", table)
    params: dict[str, Any] = {}
    for key in table:
        if key == "severity":
            continue
        if key not in _MONITORING_KEYS:
            raise PolicyError(f"monitoring.{key}: unknown monitoring key")
        params[key] = _READERS[_MONITORING_KEYS[key]](raw, f"monitoring.{key}")
    severity = {}
    for code, value in (table.get("severity") or {}).items():
        if value not in SEVERITIES:
            raise _bad(f"monitoring.severity.{code}", f"one of {', '.join(SEVERITIES)}", value)
        severity[code] = value
    return MonitoringPolicy(
        customer_refs_per_ip_per_day=_int(raw, "monitoring.customer_refs_per_ip_per_day"),
        ips_per_customer_ref_per_day=_int(raw, "monitoring.ips_per_customer_ref_per_day"),
        params=MappingProxyType(params), severity=MappingProxyType(severity),
    )


def _timezone(raw: dict[str, Any], key: str) -> str:
    value = _str(raw, key)
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise _bad(key, "an IANA time zone such as Europe/Istanbul", value) from None
    return value


def _rates(raw: dict[str, Any], key: str) -> Mapping[str, Decimal]:
    table = _lookup(raw, key)
    if not isinstance(table, dict):
        raise _bad(key, "a table of currency = rate", table)
    rates = {}
    for currency in table:
        if not _CURRENCY.match(currency):
            raise _bad(f"{key}.{currency}", "an ISO 4217 currency code", currency)
        rates[currency] = _decimal(raw, f"{key}.{currency}")
    if rates.get("TRY") != Decimal(1):
        raise PolicyError(f"{key}.TRY: expected \"1\"")
    return MappingProxyType(rates)


_READERS = {
    "int": _int, "bool": _bool, "decimal": _decimal, "str_list": _str_list, "windows": _windows,
    "timezone": _timezone,
}
