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
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from checks.casework_policy import CaseworkPolicy, casework_policy
from checks.facts import Money

POLICY_DIR = Path(__file__).resolve().parent / "policies"
ACTIVE_POLICY_FILE = POLICY_DIR / "kyb-2026.11.3.toml"

TIERS: tuple[str, ...] = ("low", "medium", "high")
# Strictness order: the stricter of two actions is the one later in this tuple.
ACTIONS: tuple[str, ...] = (
    "approve", "approve_with_limits", "request_info", "manual_review", "reject",
)

# Parameters later policy versions added: a published policy without them keeps its meaning.
_OPTIONAL_CHECK_PARAMS = frozenset({"identity_conflict_points", "matcher", "pep_owner_points"})
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
        "young_owner_age": "int", "young_owner_points": "int", "identity_conflict_points": "int",
    },
    "price_ticket_mismatch": {
        "median_ratio": "decimal", "p90_ratio": "decimal", "min_sales": "int",
    },
    "new_merchant_turnover": {"windows": "windows"},
    "sanctions_pep": {"fail_points": "int", "strong_score": "decimal", "possible_score": "decimal",
                      "matcher": "int", "pep_owner_points": "int"},
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
    "description_sequence_run": "int", "description_allow": "str_list",
    "transfers_per_day_max": "int", "counterparties_per_day": "int",
    "counterparties_per_month": "int", "counterparties_window_days": "int",
    "young_account_window_days": "int", "young_account_max_transactions": "int",
    "young_account_max_try": "decimal", "young_holder_age": "int",
    "identity_reuse_window_days": "int", "identity_reuse_accounts": "int",
    "risky_countries": "countries", "cash_intensive_mccs": "str_list",
    "cash_personal_min_transactions": "int", "cash_personal_min_days": "int",
    "cash_personal_window_days": "int", "verification_scenarios": "str_list",
    "verification_eval_interval_seconds": "int",
}
# Keys of the ``[figures]`` table (risk on ingest, R-A4/R-A5/R-A7); optional as a whole.
_FIGURES_KEYS: dict[str, str] = {"count_verifications": "bool", "judge_missing_data_as": "status",
                                 "rejudge": "str_list"}
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
class BlacklistPolicy:
    """The ``[blacklist]`` table: how a blacklist hit on traffic is alerted (R-E2, R-C1).
    A policy without the table (before kyb-2026.11.2) alerts at high severity."""

    alert_severity: str = "high"


_BLACKLIST_KEYS = {"alert_severity"}


@dataclass(frozen=True)
class RetentionPolicy:
    """The ``[retention]`` table (R-D7): how many years after a merchant's relationship ended
    its persons' and contacts' personal data is kept, by the merchant's country."""

    ended_statuses: tuple[str, ...]
    default_years: int
    years_by_country: Mapping[str, int]

    def years_for(self, country: str | None) -> int:
        """The retention period of a merchant registered in ``country``."""
        return self.years_by_country.get((country or "").upper(), self.default_years)


_RETENTION_KEYS = {"ended_statuses", "default_years", "years_by_country"}
_MERCHANT_STATUSES = {"applied", "in_review", "info_requested", "approved", "rejected",
                      "suspended"}


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
class AssessmentsPolicy:
    """How long an assessment stays current (R-D1): the optional ``[assessments]`` table.

    ``ttl_days`` per tier; without the table (older policies) an assessment stands until the
    merchant's data or a list changes. The scheduler re-runs at most ``renewals_per_run``
    expired assessments per run and gives a claimed one ``renewal_lease_minutes`` before
    another worker may claim it again (a crashed run is retried, a running one is not doubled).
    """

    ttl_days: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    renewals_per_run: int = 50
    renewal_lease_minutes: int = 30

    def expires_at(self, tier: str, assessed_at: datetime) -> datetime | None:
        """When an assessment of ``tier`` made at ``assessed_at`` expires (None: never)."""
        days = self.ttl_days.get(tier)
        return None if days is None else assessed_at + timedelta(days=days)


@dataclass(frozen=True)
class FiguresPolicy:
    """Risk on ingest (``[figures]``): whether allowed verifications with an amount count as
    turnover, what a check says when it cannot judge (``"unknown"``; policies before
    kyb-2026.11.2 said ``"pass"``), the checks re-judged on a crossing, and alert severities."""

    count_verifications: bool = False
    judge_missing_data_as: str = "pass"
    rejudge: tuple[str, ...] = ()
    severity: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class WebhooksPolicy:
    """Webhook delivery (R-D6): the optional ``[webhooks]`` table; a policy without one (such
    as kyb-2026.11.1) gets these defaults. When the table is present every key is required."""

    max_attempts: int = 8
    backoff_base_seconds: int = 30
    backoff_cap_seconds: int = 3600
    timeout_seconds: int = 10
    rotation_overlap_hours: int = 24


_WEBHOOK_KEYS = tuple(WebhooksPolicy.__dataclass_fields__)


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
    assessments: AssessmentsPolicy = field(default_factory=AssessmentsPolicy)
    figures: FiguresPolicy = field(default_factory=FiguresPolicy)
    # ``[alerts]`` snooze bound and ``[cases]`` (checks/casework_policy.py); None before 11.2
    casework: CaseworkPolicy | None = None
    webhooks: WebhooksPolicy = field(default_factory=WebhooksPolicy)
    blacklist: BlacklistPolicy = BlacklistPolicy()
    # ``[retention]`` (R-D7); None before kyb-2026.11.3: nothing is purged under such a policy
    retention: RetentionPolicy | None = None

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
        assessments=_assessments(raw),
        figures=_figures(raw, codes),
        casework=casework_policy(raw, error=PolicyError,
                                 readers={"int": _int, "str_list": _str_list}),
        webhooks=_webhooks(raw),
        blacklist=_blacklist(raw),
        retention=_retention(raw),
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
    values = {key: _READERS[kind](raw, f"{prefix}.{key}") for key, kind in schema.items()
              if key in table or key not in _OPTIONAL_CHECK_PARAMS}
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


_ASSESSMENTS_KEYS = ("ttl_days", "renewals_per_run", "renewal_lease_minutes")


def _positive(raw: dict[str, Any], key: str) -> int:
    value = _int(raw, key)
    if value < 1:
        raise _bad(key, "a whole number of at least 1", value)
    return value


def _assessments(raw: dict[str, Any]) -> AssessmentsPolicy:
    """The optional ``[assessments]`` table: a TTL for every tier, and the renewal batch."""
    table = raw.get("assessments")
    if table is None:
        return AssessmentsPolicy()
    if not isinstance(table, dict):
        raise _bad("assessments", "a table", table)
    for key in table:
        if key not in _ASSESSMENTS_KEYS:
            raise PolicyError(f"assessments.{key}: unknown key")
    ttl = _lookup(raw, "assessments.ttl_days")
    if not isinstance(ttl, dict) or set(ttl) != set(TIERS):
        raise _bad("assessments.ttl_days", f"a table with exactly {', '.join(TIERS)}", ttl)
    return AssessmentsPolicy(
        ttl_days=MappingProxyType({t: _positive(raw, f"assessments.ttl_days.{t}")
                                   for t in TIERS}),
        renewals_per_run=_positive(raw, "assessments.renewals_per_run"),
        renewal_lease_minutes=_positive(raw, "assessments.renewal_lease_minutes"))


def _figures(raw: dict[str, Any], codes: set[str]) -> FiguresPolicy:
    """The optional ``[figures]`` table; unknown keys are refused."""
    table = raw.get("figures")
    if table is None:
        return FiguresPolicy()
    if not isinstance(table, dict):
        raise _bad("figures", "a table", table)
    values: dict[str, Any] = {}
    for key in table:
        if key == "severity":
            continue
        if key not in _FIGURES_KEYS:
            raise PolicyError(f"figures.{key}: unknown figures key")
        values[key] = _READERS[_FIGURES_KEYS[key]](raw, f"figures.{key}")
    for code in values.get("rejudge", ()):
        if code not in codes and code != "sector_outlier":
            raise PolicyError(f"figures.rejudge: no such check {code!r}")
    severity = {}
    for code, value in (table.get("severity") or {}).items():
        if value not in SEVERITIES:
            raise _bad(f"figures.severity.{code}", f"one of {', '.join(SEVERITIES)}", value)
        severity[code] = value
    return FiguresPolicy(**values, severity=MappingProxyType(severity))


def _status(raw: dict[str, Any], key: str) -> str:
    value = _str(raw, key)
    if value not in ("pass", "unknown"):
        raise _bad(key, "pass or unknown", value)
    return value


def _webhooks(raw: dict[str, Any]) -> WebhooksPolicy:
    """The optional ``[webhooks]`` table: every key required, positive, no unknown key."""
    table = raw.get("webhooks")
    if table is None:
        return WebhooksPolicy()
    if not isinstance(table, dict):
        raise _bad("webhooks", "a table", table)
    for key in table:
        if key not in _WEBHOOK_KEYS:
            raise PolicyError(f"webhooks.{key}: unknown webhooks key")
    values = {key: _int(raw, f"webhooks.{key}") for key in _WEBHOOK_KEYS}
    for key, value in values.items():
        if value < 1:
            raise _bad(f"webhooks.{key}", "a positive integer", value)
    if values["backoff_cap_seconds"] < values["backoff_base_seconds"]:
        raise PolicyError("webhooks.backoff_cap_seconds: must not be below backoff_base_seconds")
    return WebhooksPolicy(**values)


def _blacklist(raw: dict[str, Any]) -> BlacklistPolicy:
    """The optional ``[blacklist]`` table; unknown keys are refused."""
    if "blacklist" not in raw:
        return BlacklistPolicy()
    table = raw["blacklist"]
    if not isinstance(table, dict):
        raise _bad("blacklist", "a table", table)
    for key in table:
        if key not in _BLACKLIST_KEYS:
            raise PolicyError(f"blacklist.{key}: unknown blacklist key")
    severity = table.get("alert_severity", "high")
    if severity not in SEVERITIES:
        raise _bad("blacklist.alert_severity", f"one of {', '.join(SEVERITIES)}", severity)
    return BlacklistPolicy(alert_severity=severity)


def _retention(raw: dict[str, Any]) -> RetentionPolicy | None:
    """The optional ``[retention]`` table; unknown keys, statuses that are not an end of the
    relationship and periods under one year are refused."""
    if "retention" not in raw:
        return None
    table = raw["retention"]
    if not isinstance(table, dict):
        raise _bad("retention", "a table", table)
    for key in table:
        if key not in _RETENTION_KEYS:
            raise PolicyError(f"retention.{key}: unknown retention key")
    statuses = _str_list(raw, "retention.ended_statuses")
    for status in statuses:
        if status not in _MERCHANT_STATUSES - {"applied", "in_review", "info_requested",
                                               "approved"}:
            raise _bad("retention.ended_statuses", "rejected and/or suspended", status)
    default = _positive(raw, "retention.default_years")
    by_country = table.get("years_by_country", {})
    if not isinstance(by_country, dict):
        raise _bad("retention.years_by_country", "a table of country = years", by_country)
    years: dict[str, int] = {}
    for country in by_country:
        if len(country) != 2 or not country.isalpha() or not country.isupper():
            raise _bad(f"retention.years_by_country.{country}", "an ISO 3166 alpha-2 code",
                       country)
        years[country] = _positive(raw, f"retention.years_by_country.{country}")
    return RetentionPolicy(statuses, default, MappingProxyType(years))


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
    "timezone": _timezone, "countries": _countries, "status": _status,
}
