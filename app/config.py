"""Configuration from ``KYB_`` environment variables, with safe development defaults.

Names are part of the contract (``../shared/DESIGN.md``, Configuration). With ``KYB_ENV=production``
the application refuses to start without ``KYB_SECRET_KEY``, ``KYB_TOKEN_PEPPER`` and
``KYB_DATA_KEYS`` (development and testing generate data keys into the instance folder:
:func:`app.crypto.data_keys.load_data_keys`).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, fields
from pathlib import Path

from app.crypto.data_keys import DataKeyError, DataKeys

ROOT = Path(__file__).resolve().parent.parent
DEV_SECRET = "dev-only-secret-key-not-for-production"  # noqa: S105 - development default
DEV_PEPPER = "dev-only-token-pepper-not-for-production"  # noqa: S105 - development default


class ConfigError(RuntimeError):
    """Raised when the configuration cannot run safely."""


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _list(value: str | None, default: tuple[str, ...] = ()) -> tuple[str, ...]:
    if not value:
        return default
    return tuple(part.strip() for part in value.split(",") if part.strip())


@dataclass
class Settings:
    """Everything the app reads from its environment, typed."""

    env: str = "development"
    database_url: str = ""
    redis_url: str | None = None
    jobs_queue: str = "kybgate"  # the huey queue's name (its Redis keys / SQLite rows)
    secret_key: str = DEV_SECRET
    token_peppers: dict[int, bytes] = field(default_factory=dict)
    token_pepper_version: int = 1
    data_keys: str | None = None  # KYB_DATA_KEYS; None: <instance>/data-keys (not production)
    rdap_bootstrap: str | None = None
    whois_server: str | None = None
    dns_nameservers: tuple[str, ...] = ()
    fetch_allow_private: bool = False
    trusted_proxies: tuple[str, ...] = ()
    gateway_cidrs: tuple[str, ...] = ("127.0.0.0/8", "::1/128")
    key_activation_delay: int = 600
    limit_increase_delay: int = 86400
    accept_test_keys: bool = True
    accept_live_keys: bool = True
    bench_endpoints: bool = False
    # KYB_MONITORING=off: transaction batches are stored and audited only — no scenarios, no
    # running figures (a benchmark baseline, or a bulk back-fill followed by `figures rebuild`).
    monitoring: bool = True
    application_sla_hours: int = 48
    policy_path: str | None = None
    smtp_url: str | None = None
    # Set by ``kybgate serve``: workers journal verification events there and the host's
    # audit writer ships them into the chain (``app.dataplane.journal``). Unset (development
    # server, CLI, tests): a writer thread in each process commits them before the answer.
    audit_journal_dir: str | None = None
    audit_fsync: str = "batch"  # KYB_AUDIT_FSYNC: off | batch | always (app.dataplane.journal)
    # KYB_AUDIT_MAX_LAG: the shipping lag past which verifications wait for the audit writer
    # (app.dataplane.pacing); 0 turns the pacing off.
    audit_max_lag: float = 1.0
    audit_anchor_file: str | None = None  # default: <instance>/audit-anchors.jsonl
    audit_anchor_seconds: int = 60
    mail_from: str = "kybgate@localhost"
    max_body_bytes: int = 1024 * 1024
    session_minutes: int = 30
    instance_path: str = str(ROOT / "instance")
    metrics_cidrs: tuple[str, ...] = ("127.0.0.0/8", "::1/128")
    webhook_allow_private: bool = False

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Read the settings from ``environ`` (default ``os.environ``) and validate them."""
        env = os.environ if environ is None else environ
        kyb_env = env.get("KYB_ENV", "development").strip().lower()
        if kyb_env not in {"development", "production", "testing"}:
            raise ConfigError(f"KYB_ENV must be development or production, not {kyb_env!r}")
        production = kyb_env == "production"
        secret = env.get("KYB_SECRET_KEY")
        pepper_spec = env.get("KYB_TOKEN_PEPPER")
        data_keys = env.get("KYB_DATA_KEYS") or None
        if production and (not secret or not pepper_spec or not data_keys):
            missing = [n for n, v in (("KYB_SECRET_KEY", secret), ("KYB_TOKEN_PEPPER", pepper_spec),
                                      ("KYB_DATA_KEYS", data_keys)) if not v]
            raise ConfigError(f"KYB_ENV=production refuses to start without {', '.join(missing)}")
        if production and secret and len(secret) < 32:
            raise ConfigError("KYB_SECRET_KEY must be at least 32 characters in production")
        if (env.get("KYB_AUDIT_FSYNC") or "batch").strip().lower() not in {"off", "batch",
                                                                             "always"}:
            raise ConfigError("KYB_AUDIT_FSYNC must be off, batch or always")
        max_lag = _seconds(env.get("KYB_AUDIT_MAX_LAG"), 1.0, "KYB_AUDIT_MAX_LAG")
        peppers, current = parse_peppers(pepper_spec or DEV_PEPPER)
        if data_keys:
            try:  # a malformed spec stops the start, not the first write of a person
                DataKeys.parse(data_keys)
            except DataKeyError as exc:
                raise ConfigError(str(exc)) from None
        instance = env.get("KYB_INSTANCE_PATH", str(ROOT / "instance"))
        return cls(
            env=kyb_env,
            database_url=env.get("KYB_DATABASE_URL") or f"sqlite:///{instance}/kyb.db",
            redis_url=env.get("KYB_REDIS_URL") or None,
            jobs_queue=env.get("KYB_JOBS_QUEUE") or "kybgate",
            secret_key=secret or DEV_SECRET,
            token_peppers=peppers,
            token_pepper_version=current,
            data_keys=data_keys,
            rdap_bootstrap=env.get("KYB_RDAP_BOOTSTRAP") or None,
            whois_server=env.get("KYB_WHOIS_SERVER") or None,
            dns_nameservers=_list(env.get("KYB_DNS_NAMESERVERS")),
            fetch_allow_private=_flag(env.get("KYB_FETCH_ALLOW_PRIVATE"), False),
            trusted_proxies=_list(env.get("KYB_TRUSTED_PROXIES")),
            gateway_cidrs=_list(env.get("KYB_GATEWAY_CIDRS"), ("127.0.0.0/8", "::1/128")),
            key_activation_delay=int(env.get("KYB_KEY_ACTIVATION_DELAY", "600")),
            limit_increase_delay=int(env.get("KYB_LIMIT_INCREASE_DELAY", "86400")),
            accept_test_keys=_flag(env.get("KYB_ACCEPT_TEST_KEYS"), not production),
            accept_live_keys=_flag(env.get("KYB_ACCEPT_LIVE_KEYS"), True),
            bench_endpoints=_flag(env.get("KYB_BENCH_ENDPOINTS"), False),
            monitoring=_flag(env.get("KYB_MONITORING"), True),
            application_sla_hours=int(env.get("KYB_APPLICATION_SLA_HOURS", "48")),
            policy_path=env.get("KYB_POLICY") or None,
            smtp_url=env.get("KYB_SMTP_URL") or None,
            audit_journal_dir=env.get("KYB_AUDIT_JOURNAL_DIR") or None,
            audit_fsync=(env.get("KYB_AUDIT_FSYNC") or "batch").strip().lower(),
            audit_max_lag=max_lag,
            audit_anchor_file=env.get("KYB_AUDIT_ANCHOR_FILE") or None,
            audit_anchor_seconds=int(env.get("KYB_AUDIT_ANCHOR_SECONDS", "60")),
            mail_from=env.get("KYB_MAIL_FROM", "kybgate@localhost"),
            session_minutes=int(env.get("KYB_SESSION_MINUTES", "30")),
            instance_path=instance,
            metrics_cidrs=_list(env.get("KYB_METRICS_CIDRS"), ("127.0.0.0/8", "::1/128")),
            webhook_allow_private=_flag(env.get("KYB_WEBHOOK_ALLOW_PRIVATE"), False),
        )

    def replace(self, **overrides: object) -> Settings:
        """A copy with ``overrides`` applied (used by tests and the CLI)."""
        known = {f.name for f in fields(self)}
        unknown = set(overrides) - known
        if unknown:
            raise ConfigError(f"unknown settings: {', '.join(sorted(unknown))}")
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(overrides)
        return Settings(**values)


def parse_peppers(spec: str) -> tuple[dict[int, bytes], int]:
    """Parse ``KYB_TOKEN_PEPPER``: either one secret, or ``2:new,1:old`` (first is current).

    Versioned peppers let the HMAC key rotate: new hashes use the current version while stored
    hashes keep verifying under the version they were made with.
    """
    peppers: dict[int, bytes] = {}
    current = 0
    parts = [p.strip() for p in spec.split(",") if p.strip()]
    for index, part in enumerate(parts):
        version_text, sep, secret = part.partition(":")
        if sep and version_text.isdigit():
            version = int(version_text)
        else:
            version, secret = 1, part
        if len(secret) < 16:
            raise ConfigError("KYB_TOKEN_PEPPER secrets must be at least 16 characters")
        if version in peppers:  # the later one would silently replace the current secret
            raise ConfigError(f"KYB_TOKEN_PEPPER names version {version} twice")
        peppers[version] = secret.encode()
        if index == 0:
            current = version
    if not peppers:
        raise ConfigError("KYB_TOKEN_PEPPER is empty")
    return peppers, current


def random_secret() -> str:
    """A fresh secret suitable for ``KYB_SECRET_KEY`` or ``KYB_TOKEN_PEPPER``."""
    return secrets.token_urlsafe(48)


def _seconds(raw: str | None, default: float, name: str) -> float:
    """A non-negative number of seconds from the environment (``default`` when unset)."""
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, not {raw!r}") from None
    if not 0 <= value < 3600:  # also refuses nan and inf
        raise ConfigError(f"{name} must be between 0 and 3600 seconds, not {raw!r}")
    return value
