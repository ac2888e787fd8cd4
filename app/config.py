"""Configuration from ``KYB_`` environment variables, with safe development defaults.

Names are part of the contract (``../shared/DESIGN.md``, Configuration). With ``KYB_ENV=production``
the application refuses to start without ``KYB_SECRET_KEY`` and ``KYB_TOKEN_PEPPER``.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, fields
from pathlib import Path

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
    secret_key: str = DEV_SECRET
    token_peppers: dict[int, bytes] = field(default_factory=dict)
    token_pepper_version: int = 1
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
    application_sla_hours: int = 48
    policy_path: str | None = None
    smtp_url: str | None = None
    audit_socket: str | None = None
    audit_anchor_file: str | None = None  # default: <instance>/audit-anchors.jsonl
    audit_anchor_seconds: int = 60
    mail_from: str = "kybgate@localhost"
    max_body_bytes: int = 1024 * 1024
    session_minutes: int = 30
    instance_path: str = str(ROOT / "instance")

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
        if production and (not secret or not pepper_spec):
            missing = [n for n, v in (("KYB_SECRET_KEY", secret), ("KYB_TOKEN_PEPPER", pepper_spec))
                       if not v]
            raise ConfigError(f"KYB_ENV=production refuses to start without {', '.join(missing)}")
        if production and secret and len(secret) < 32:
            raise ConfigError("KYB_SECRET_KEY must be at least 32 characters in production")
        peppers, current = parse_peppers(pepper_spec or DEV_PEPPER)
        instance = env.get("KYB_INSTANCE_PATH", str(ROOT / "instance"))
        return cls(
            env=kyb_env,
            database_url=env.get("KYB_DATABASE_URL") or f"sqlite:///{instance}/kyb.db",
            redis_url=env.get("KYB_REDIS_URL") or None,
            secret_key=secret or DEV_SECRET,
            token_peppers=peppers,
            token_pepper_version=current,
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
            application_sla_hours=int(env.get("KYB_APPLICATION_SLA_HOURS", "48")),
            policy_path=env.get("KYB_POLICY") or None,
            smtp_url=env.get("KYB_SMTP_URL") or None,
            audit_socket=env.get("KYB_AUDIT_SOCKET") or None,
            audit_anchor_file=env.get("KYB_AUDIT_ANCHOR_FILE") or None,
            audit_anchor_seconds=int(env.get("KYB_AUDIT_ANCHOR_SECONDS", "60")),
            mail_from=env.get("KYB_MAIL_FROM", "kybgate@localhost"),
            session_minutes=int(env.get("KYB_SESSION_MINUTES", "30")),
            instance_path=instance,
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
