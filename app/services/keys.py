"""Merchant API keys: issue, rotate, revoke, restrict, freeze (R-B1, R-B3, R-E1, R-E4, R-E5, R-E7).

Every function takes keyword arguments, an explicit session, the acting :class:`Actor` and
``now``; it flushes, audits the change with its old and new values, queues a notice to the
merchant, and publishes ``keys_changed`` so that every process drops its cached key records
once the caller commits. The token itself is returned once by :func:`issue_key` and
:func:`rotate_key` and stored only as a peppered HMAC.

Callers (JSON API, staff console, merchant portal, CLI) map :class:`KeyRefused` to 409 and
:class:`KeyInputInvalid` to 422 (its ``errors`` name each bad field).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from api_keys import tokens
from api_keys.backurls import InvalidBackUrls, parse_back_urls
from api_keys.limits import Limits, loosens, plain_amount, strictest
from api_keys.verification import activation_time, rotation_grace_until
from api_keys.whitelist import APPROVAL_PREFIX, InvalidWhitelist, parse_whitelist
from app.audit.trail import Actor, record
from app.models import ApiKey, Merchant, MerchantStatus, StaffUser
from app.services import hooks
from app.services.notifications import notify_merchant
from checks.policy import Policy

APPROVER_ROLES = frozenset({"approver", "admin"})


class KeyRefused(Exception):
    """The change is not allowed in the current state (``code`` is stable, e.g.
    ``merchant_not_approved``, ``too_many_live_keys``, ``key_not_rotatable``)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class KeyInputInvalid(ValueError):
    """Whitelist, back URLs or limits were refused; ``errors`` lists ``{field, message, code}``."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors))
        self.errors = errors


@dataclass(frozen=True)
class KeyLimits:
    """Optional per-key limits (R-E5). ``allowed_operations`` None means any operation."""

    currency: str | None = None
    max_amount_per_tx: Decimal | None = None
    daily_amount: Decimal | None = None
    allowed_operations: tuple[str, ...] | None = None


@dataclass(frozen=True)
class IssuedKey:
    """A stored key and its token, which is shown to the merchant now and never again."""

    key: ApiKey
    token: str = field(repr=False)


def _policy(policy: Policy | None) -> Policy:
    from app.services.assessments import current_policy
    return policy or current_policy()


def pending_ranges(key: ApiKey) -> list[str]:
    """The key's ranges broader than /24 or /48 that wait for an approver: stored but not in
    force (the verifier ignores them until :func:`approve_wide_ranges`)."""
    return [] if key.wide_ranges_approved_by else wide_ranges(list(key.ip_whitelist))


def _whitelist(entries: list[str], environment: str) -> tuple[list[str], list[str]]:
    """(stored CIDRs, the ones broader than /24 or /48 that need an approver)."""
    if not entries:
        raise KeyInputInvalid([{"field": "ip_whitelist", "code": "empty",
                                "message": "at least one IP address or CIDR is required"}])
    try:
        parsed = parse_whitelist(entries, environment)
    except InvalidWhitelist as exc:
        raise KeyInputInvalid([
            {"field": f"ip_whitelist[{_index(entries, e.entry)}]", "code": "invalid",
             "message": e.message} for e in exc.errors]) from None
    return list(parsed.as_strings()), [str(n) for n in parsed.needs_approval]


def _back_urls(urls: list[str], environment: str) -> list[str]:
    if not urls:
        raise KeyInputInvalid([{"field": "back_urls", "code": "empty",
                                "message": "at least one back URL (your website) is required"}])
    try:
        return [site.origin for site in parse_back_urls(urls, environment)]
    except InvalidBackUrls as exc:
        raise KeyInputInvalid([
            {"field": f"back_urls[{_index(urls, e.url)}]", "code": "invalid",
             "message": e.message} for e in exc.errors]) from None


def _index(values: list[Any], value: Any) -> int | str:
    return values.index(value) if value in values else "?"


def wide_ranges(cidrs: list[str]) -> list[str]:
    """The stored CIDRs broader than /24 (IPv4) or /48 (IPv6): they work only once approved."""
    out = []
    for cidr in cidrs:
        address, _, length = cidr.partition("/")
        version = 6 if ":" in address else 4
        if length and int(length) < APPROVAL_PREFIX[version]:
            out.append(cidr)
    return out


def check_approver(session: Session, approver: str) -> StaffUser:
    """The active staff approver or admin with e-mail ``approver``, else KeyInputInvalid."""
    user = session.exec(select(StaffUser).where(StaffUser.email == approver.strip().lower(),
                                                StaffUser.active.is_(True))).first()
    if user is None or user.role not in APPROVER_ROLES:
        raise KeyInputInvalid([{"field": "approver", "code": "not_approver",
                                "message": "no active staff approver with this e-mail"}])
    return user


def _require_active_merchant(merchant: Merchant) -> None:
    if merchant.status != MerchantStatus.approved:
        raise KeyRefused("merchant_not_approved",
                         f"merchant is {merchant.status}; only approved merchants get API keys")


def live_key_count(session: Session, *, merchant_id: str, now: dt.datetime) -> int:
    """Live keys of the merchant that are not revoked, expired or being rotated out."""
    return session.exec(select(sa.func.count()).select_from(ApiKey).where(
        ApiKey.merchant_id == merchant_id, ApiKey.environment == "live",
        ApiKey.status == "active", ApiKey.grace_until.is_(None),
        sa.or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > now))).one()


def _requested(limits: KeyLimits | None) -> Limits:
    """The limits asked for, validated (amounts need their currency)."""
    limits = limits or KeyLimits()
    if (limits.max_amount_per_tx is not None or limits.daily_amount is not None) \
            and not limits.currency:
        raise KeyInputInvalid([{"field": "limits.currency", "code": "missing",
                                "message": "amount limits need their ISO 4217 currency"}])
    operations = frozenset(limits.allowed_operations) if limits.allowed_operations else None
    return Limits(limits.currency, limits.max_amount_per_tx, limits.daily_amount, operations)


def _store_limits(key: ApiKey, limits: Limits) -> None:
    key.limit_currency = limits.currency
    key.max_amount_per_tx = limits.max_amount_per_tx
    key.daily_amount_limit = limits.daily_amount
    key.allowed_operations = sorted(limits.allowed_operations or [])


def current_limits(key: ApiKey) -> Limits:
    """The limits stored in the key's columns (before any waiting increase)."""
    operations = frozenset(key.allowed_operations) if key.allowed_operations else None
    return Limits(key.limit_currency, key.max_amount_per_tx, key.daily_amount_limit, operations)


def raised_limits(key: ApiKey) -> Limits | None:
    """A requested increase still to take effect (at ``key.raised_limits_at``), or None."""
    raised = key.raised_limits
    if not raised:
        return None
    def amount(name: str) -> Decimal | None:
        return None if raised.get(name) is None else Decimal(raised[name])
    operations = raised.get("allowed_operations")
    return Limits(raised.get("currency"), amount("max_amount_per_tx"), amount("daily_amount"),
                  frozenset(operations) if operations else None)


def _limits_view(limits: Limits) -> dict[str, Any]:
    return {"currency": limits.currency,
            "max_amount_per_tx": plain_amount(limits.max_amount_per_tx),
            "daily_amount": plain_amount(limits.daily_amount),
            "allowed_operations": sorted(limits.allowed_operations)
            if limits.allowed_operations else None}


def _settle_limits(key: ApiKey, now: dt.datetime) -> None:
    """Move an increase whose time has come into the key's columns."""
    raised = raised_limits(key)
    if raised is not None and key.raised_limits_at is not None and now >= key.raised_limits_at:
        _store_limits(key, raised)
        key.raised_limits, key.raised_limits_at = None, None


def _change_limits(key: ApiKey, requested: Limits, now: dt.datetime, delay: int) -> None:
    """Lower limits at once; an increase of a live key waits ``delay`` seconds (R-E5), under
    the strictest of the old and the new limits meanwhile."""
    old = current_limits(key)
    if key.environment == "live" and delay > 0 and loosens(old, requested):
        _store_limits(key, strictest(old, requested))
        key.raised_limits = _limits_view(requested)
        key.raised_limits_at = now + dt.timedelta(seconds=delay)
    else:
        _store_limits(key, requested)
        key.raised_limits, key.raised_limits_at = None, None


def key_snapshot(key: ApiKey) -> dict[str, Any]:
    """What an audit event or notice says about a key (never its token or hash)."""
    def when(value: dt.datetime | None) -> str | None:
        return value.isoformat() if value else None
    return {"name": key.name, "environment": key.environment, "prefix": key.prefix,
            "status": key.status, "ip_whitelist": list(key.ip_whitelist),
            "back_urls": list(key.back_urls), "activates_at": when(key.activates_at),
            "expires_at": when(key.expires_at), "grace_until": when(key.grace_until),
            "wide_ranges_approved_by": key.wide_ranges_approved_by,
            "limits": _limits_view(current_limits(key)),
            "limit_increase": None if key.raised_limits is None else {
                "limits": dict(key.raised_limits), "effective_at": when(key.raised_limits_at)}}


def _changed(session: Session, *, merchant: Merchant, key: ApiKey | None, action: str,
             actor: Actor, now: dt.datetime, before: dict[str, Any] | None,
             after: dict[str, Any] | None, reason: str | None = None) -> None:
    """Audit, notify (R-E4: old and new values) and invalidate caches for one change."""
    record(session, actor.event(action, target_type="api_key" if key else "merchant",
                                target_id=key.id if key else merchant.id,
                                merchant_id=merchant.id, key_id=key.id if key else None,
                                reason=reason, at=now,
                                details={"before": before, "after": after, "reason": reason}))
    notify_merchant(session, merchant=merchant, event=action,
                    payload={"key_id": key.id if key else None, "before": before,
                             "after": after, "reason": reason}, now=now)
    hooks.publish("keys_changed", session=session, actor=actor, now=now,
                  merchant_id=merchant.id, key_ids=[key.id] if key else [])


def issue_key(session: Session, *, merchant: Merchant, name: str, environment: str,
              ip_whitelist: list[str], back_urls: list[str], actor: Actor, now: dt.datetime,
              peppers: tokens.Peppers, activation_delay: int, limits: KeyLimits | None = None,
              expires_at: dt.datetime | None = None, approver: str | None = None,
              policy: Policy | None = None) -> IssuedKey:
    """Create a key for an approved merchant and return it with its token (shown once).

    Live keys start working after ``activation_delay`` seconds (R-E7), test keys at once; the
    merchant is notified. At most ``[keys] max_live_keys_per_merchant`` live keys. Ranges
    broader than /24 or /48 work only after an approver signs off (``approver`` here or
    :func:`approve_wide_ranges` later).
    """
    _require_active_merchant(merchant)
    if environment not in tokens.ENVIRONMENTS:
        raise KeyInputInvalid([{"field": "environment", "code": "invalid",
                                "message": "must be live or test"}])
    cidrs, wide = _whitelist(ip_whitelist, environment)
    origins = _back_urls(back_urls, environment)
    if expires_at is not None and expires_at <= now:
        raise KeyInputInvalid([{"field": "expires_at", "code": "past",
                                "message": "must be in the future"}])
    approver_user = check_approver(session, approver) if approver and wide else None
    maximum = _policy(policy).keys.max_live_keys_per_merchant
    if environment == "live" and live_key_count(session, merchant_id=merchant.id,
                                                now=now) >= maximum:
        raise KeyRefused("too_many_live_keys",
                         f"a merchant may hold at most {maximum} live keys; revoke one first")
    issued = tokens.generate(environment)
    version, digest = tokens.hash_token(issued.token, peppers)
    key = ApiKey(id=issued.key_id, merchant_id=merchant.id, name=name, environment=environment,
                 prefix=issued.prefix, token_hash=digest, pepper_version=version,
                 ip_whitelist=cidrs, back_urls=origins, created_at=now, created_by=actor.name,
                 activates_at=activation_time(now, environment, activation_delay),
                 expires_at=expires_at,
                 wide_ranges_approved_by=approver_user.email if approver_user else None)
    _store_limits(key, _requested(limits))
    session.add(key)
    session.flush()
    after = key_snapshot(key) | {"wide_ranges_pending": wide if not approver_user else []}
    _changed(session, merchant=merchant, key=key, action="key.created", actor=actor, now=now,
             before=None, after=after)
    return IssuedKey(key, issued.token)


def get_key(session: Session, key_id: str) -> ApiKey | None:
    """The key with this public id, or None."""
    return session.get(ApiKey, key_id)


def list_keys(session: Session, *, merchant: Merchant) -> list[ApiKey]:
    """Every key of the merchant, newest first (revoked and expired ones included)."""
    return list(session.exec(select(ApiKey).where(ApiKey.merchant_id == merchant.id)
                             .order_by(ApiKey.created_at.desc(), ApiKey.id)).all())


def key_state(key: ApiKey, merchant: Merchant, now: dt.datetime) -> str:
    """``revoked``, ``expired``, ``frozen``, ``pending_activation``, ``rotating`` or ``active``."""
    if key.status != "active":
        return "revoked"
    if (key.expires_at and now >= key.expires_at) or (key.grace_until and now >= key.grace_until):
        return "expired"
    if merchant.frozen:
        return "frozen"
    if now < key.activates_at:
        return "pending_activation"
    return "rotating" if key.grace_until else "active"


def _merchant(session: Session, key: ApiKey) -> Merchant:
    merchant = session.get(Merchant, key.merchant_id)
    if merchant is None:  # the foreign key makes this unreachable
        raise KeyRefused("merchant_missing", "the key's merchant no longer exists")
    return merchant


def rotate_key(session: Session, *, key: ApiKey, grace_seconds: int, actor: Actor,
               now: dt.datetime, peppers: tokens.Peppers, activation_delay: int,
               policy: Policy | None = None) -> IssuedKey:
    """Replace ``key`` by a new key with the same restrictions; return it with its token.

    The old token keeps working until ``now + grace_seconds`` (at most ``[keys]
    max_grace_seconds``, 24 h), then answers ``key_expired``. The new token has the usual
    activation delay for live keys (R-E7): choose a grace at least that long.
    """
    merchant = _merchant(session, key)
    _require_active_merchant(merchant)
    if key_state(key, merchant, now) in {"revoked", "expired"} or key.rotated_to:
        raise KeyRefused("key_not_rotatable", "only a working key that was not rotated "
                                              "already can be rotated")
    try:
        grace_until = rotation_grace_until(now, grace_seconds,
                                           _policy(policy).keys.max_grace_seconds)
    except ValueError as exc:
        raise KeyInputInvalid([{"field": "grace_seconds", "code": "range",
                                "message": str(exc)}]) from None
    issued = tokens.generate(key.environment)
    version, digest = tokens.hash_token(issued.token, peppers)
    new = ApiKey(id=issued.key_id, merchant_id=key.merchant_id, name=key.name,
                 environment=key.environment, prefix=issued.prefix, token_hash=digest,
                 pepper_version=version, ip_whitelist=list(key.ip_whitelist),
                 back_urls=list(key.back_urls), created_at=now, created_by=actor.name,
                 activates_at=activation_time(now, key.environment, activation_delay),
                 expires_at=key.expires_at, max_amount_per_tx=key.max_amount_per_tx,
                 daily_amount_limit=key.daily_amount_limit, limit_currency=key.limit_currency,
                 allowed_operations=list(key.allowed_operations or []),
                 raised_limits=key.raised_limits, raised_limits_at=key.raised_limits_at,
                 wide_ranges_approved_by=key.wide_ranges_approved_by)
    before = key_snapshot(key)
    key.grace_until, key.rotated_to = grace_until, new.id
    session.add_all([new, key])
    session.flush()
    _changed(session, merchant=merchant, key=key, action="key.rotated", actor=actor, now=now,
             before=before, after=key_snapshot(key) | {"rotated_to": new.id})
    _changed(session, merchant=merchant, key=new, action="key.created", actor=actor, now=now,
             before=None, after=key_snapshot(new) | {"rotated_from": key.id})
    return IssuedKey(new, issued.token)


def revoke_key(session: Session, *, key: ApiKey, actor: Actor, now: dt.datetime,
               reason: str = "revoked") -> bool:
    """Revoke ``key`` at once (``key_revoked`` from now on). False if it already was."""
    if key.status == "revoked":
        return False
    merchant = _merchant(session, key)
    before = key_snapshot(key)
    key.status, key.revoked_at, key.revoked_reason = "revoked", now, reason[:200]
    session.add(key)
    session.flush()
    _changed(session, merchant=merchant, key=key, action="key.revoked", actor=actor, now=now,
             before=before, after=key_snapshot(key), reason=reason)
    return True


def freeze_merchant_keys(session: Session, *, merchant: Merchant, actor: Actor,
                         now: dt.datetime, reason: str = "kill switch") -> bool:
    """The kill switch (R-E1): every key of the merchant answers ``key_frozen`` at once.
    False if already frozen. Reversible with :func:`unfreeze_merchant_keys`."""
    if merchant.frozen:
        return False
    before = {"frozen": False, "frozen_at": None}
    merchant.frozen, merchant.frozen_at = True, now
    session.add(merchant)
    session.flush()
    _changed(session, merchant=merchant, key=None, action="keys.frozen", actor=actor, now=now,
             before=before, after={"frozen": True, "frozen_at": now.isoformat()},
             reason=reason)
    return True


def unfreeze_merchant_keys(session: Session, *, merchant: Merchant, actor: Actor,
                           now: dt.datetime, reason: str = "unfrozen") -> bool:
    """Lift the kill switch; revoked, expired and rotated-out keys stay dead. False if not
    frozen."""
    if not merchant.frozen:
        return False
    before = {"frozen": True, "frozen_at": merchant.frozen_at.isoformat()
              if merchant.frozen_at else None}
    merchant.frozen, merchant.frozen_at = False, None
    session.add(merchant)
    session.flush()
    _changed(session, merchant=merchant, key=None, action="keys.unfrozen", actor=actor, now=now,
             before=before, after={"frozen": False, "frozen_at": None}, reason=reason)
    return True


def update_key_restrictions(session: Session, *, key: ApiKey, actor: Actor, now: dt.datetime,
                            name: str | None = None, ip_whitelist: list[str] | None = None,
                            back_urls: list[str] | None = None, limits: KeyLimits | None = None,
                            approver: str | None = None,
                            limit_increase_delay: int | None = None) -> ApiKey:
    """Change a key's name, whitelist, back URLs or limits (None leaves a field as it is).

    New ranges broader than /24 or /48 need an approver again. Lower limits apply at once; an
    increase of a live key takes effect ``limit_increase_delay`` seconds later (R-E5). The
    merchant is notified of every old and new value (R-E4, R-E5).
    """
    if key.status == "revoked":
        raise KeyRefused("key_revoked", "a revoked key cannot be changed")
    if limits is not None and limit_increase_delay is None:
        raise ValueError("changing limits needs limit_increase_delay (KYB_LIMIT_INCREASE_DELAY)")
    merchant = _merchant(session, key)
    _settle_limits(key, now)
    before = key_snapshot(key)
    if name is not None:
        key.name = name
    if ip_whitelist is not None:
        cidrs, wide = _whitelist(ip_whitelist, key.environment)
        old_wide = set(wide_ranges(list(key.ip_whitelist)))
        if key.wide_ranges_approved_by and not set(wide) <= old_wide:
            key.wide_ranges_approved_by = None
        key.ip_whitelist = cidrs
        if approver and wide:
            key.wide_ranges_approved_by = check_approver(session, approver).email
    if back_urls is not None:
        key.back_urls = _back_urls(back_urls, key.environment)
    if limits is not None:
        _change_limits(key, _requested(limits), now, limit_increase_delay or 0)
    after = key_snapshot(key)
    if after == before:
        return key
    session.add(key)
    session.flush()
    _changed(session, merchant=merchant, key=key, action="key.updated", actor=actor, now=now,
             before=before, after=after)
    return key


def approve_wide_ranges(session: Session, *, key: ApiKey, approver: str, actor: Actor,
                        now: dt.datetime) -> list[str]:
    """An approver signs off the key's ranges broader than /24 or /48, which start working;
    returns them. Audited with the approver's name."""
    wide = wide_ranges(list(key.ip_whitelist))
    if not wide:
        raise KeyRefused("nothing_to_approve", "the key has no range broader than /24 or /48")
    user = check_approver(session, approver)
    merchant = _merchant(session, key)
    before = key_snapshot(key)
    key.wide_ranges_approved_by = user.email
    session.add(key)
    session.flush()
    _changed(session, merchant=merchant, key=key, action="key.wide_ranges_approved",
             actor=actor, now=now, before=before, after=key_snapshot(key) | {"ranges": wide})
    return wide
