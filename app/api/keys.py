"""Merchant API keys over the JSON API: issue, list, rotate, revoke, restrict, freeze.

The token appears only in the 201 answer of create and rotate. Those two answer with a
``Response`` so that the framework does not keep the body for ``Idempotency-Key`` replays; the
replay record written here has the token removed (``token: null``, ``token_redacted: true``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from decimal import Decimal
from typing import Annotated, Any, Literal

from flask import Response, g, request
from pydantic import BaseModel, Field, StrictInt, StringConstraints
from sqlmodel import select

from api_keys.limits import plain_amount
from app.api import bp
from app.api.approvers import ApproverCode, ApproverProof, StaffEmail, proven_approver
from app.api.context import api_actor, now
from app.api.framework import _canonical, operation, parse_json_object
from app.api.merchants import load_merchant
from app.api.schemas import Currency, Strict
from app.dataplane.runtime import runtime
from app.errors import ApiProblem
from app.extensions import db_session, settings
from app.models import ApiKey, IdempotencyRecord, Merchant
from app.services import keys as key_service
from app.services.merchant_limits import CapUse, merchant_limits

Entry = Annotated[str, StringConstraints(min_length=1, max_length=300)]
Operation = Annotated[str, StringConstraints(min_length=1, max_length=40,
                                             pattern=r"^[a-z][a-z0-9_.:-]*$")]
Limit = Annotated[Decimal, Field(gt=0, max_digits=16, decimal_places=4)]


class LimitsIn(Strict):
    """Per-key limits (R-E5); amounts need ``currency``."""

    currency: Currency | None = None
    max_amount_per_tx: Limit | None = None
    daily_amount: Limit | None = None
    allowed_operations: Annotated[list[Operation], Field(max_length=50)] | None = None


class KeyIn(ApproverProof):
    """A new key. ``approver`` (a staff approver's e-mail, proven by ``approver_otp``) signs
    off ranges broader than /24 (IPv4) or /48 (IPv6); without it those ranges stay inactive
    until approved."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=120)]
    environment: Literal["live", "test"]
    ip_whitelist: Annotated[list[Entry], Field(min_length=1, max_length=256)]
    back_urls: Annotated[list[Entry], Field(min_length=1, max_length=32)]
    limits: LimitsIn | None = None
    expires_at: dt.datetime | None = None


class KeyPatch(ApproverProof):
    """Fields to change; absent fields stay as they are. A new wide range needs a proven
    ``approver`` as in ``KeyIn``."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=120)] | None = None
    ip_whitelist: Annotated[list[Entry], Field(min_length=1, max_length=256)] | None = None
    back_urls: Annotated[list[Entry], Field(min_length=1, max_length=32)] | None = None
    limits: LimitsIn | None = None


class RotateIn(Strict):
    """How long the old token keeps working (0 … 86,400 seconds)."""

    grace_seconds: Annotated[StrictInt, Field(ge=0, le=86400)]


class ApproveIn(ApproverProof):
    """The staff approver signing off the key's wide ranges, with their current code."""

    approver: StaffEmail
    approver_otp: ApproverCode


class KeyOut(BaseModel):
    """A key as listed: never its token or hash."""

    key_id: str
    merchant_id: str
    name: str
    prefix: str
    environment: str
    state: str
    ip_whitelist: list[str]
    wide_ranges_pending: list[str]
    back_urls: list[str]
    limits: dict[str, Any]
    limit_increase: dict[str, Any] | None = None
    created_at: dt.datetime
    activates_at: dt.datetime
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None
    grace_until: dt.datetime | None
    rotated_to: str | None
    last_used_at: dt.datetime | None
    use_count: int


class IssuedKeyOut(KeyOut):
    """A new key with its token, shown only in this answer."""

    token: str | None
    rotated_from: str | None = None


class KeyList(BaseModel):
    """Every key of a merchant."""

    items: list[KeyOut]


class CapUseOut(BaseModel):
    """A running total against its limit; amounts as exact decimal strings."""

    period: Literal["day", "month"]
    key: str  # "2026-11-22" / "2026-11" on the policy's calendar (``timezone``)
    limit: str | None
    spent: str
    remaining: str | None
    count: int
    resets_at: dt.datetime


class MerchantLimitsOut(BaseModel):
    """The caps every live key of the merchant is judged against, and their use (R-E5)."""

    merchant_id: str
    currency: str
    per_transaction: str | None
    source: str
    policy_version: str
    timezone: str  # days and months run from midnight to midnight in this zone
    day: CapUseOut
    month: CapUseOut


class FreezeOut(BaseModel):
    """The merchant's kill switch state."""

    merchant_id: str
    frozen: bool
    frozen_at: dt.datetime | None
    changed: bool


def key_out(key: ApiKey, merchant: Merchant, at: dt.datetime) -> dict[str, Any]:
    """The public view of a key."""
    snapshot = key_service.key_snapshot(key)
    pending = [] if key.wide_ranges_approved_by else key_service.wide_ranges(key.ip_whitelist)
    return KeyOut(key_id=key.id, merchant_id=key.merchant_id, name=key.name, prefix=key.prefix,
                  environment=key.environment, state=key_service.key_state(key, merchant, at),
                  ip_whitelist=list(key.ip_whitelist), wide_ranges_pending=pending,
                  back_urls=list(key.back_urls), limits=snapshot["limits"],
                  limit_increase=snapshot["limit_increase"],
                  created_at=key.created_at, activates_at=key.activates_at,
                  expires_at=key.expires_at, revoked_at=key.revoked_at,
                  grace_until=key.grace_until, rotated_to=key.rotated_to,
                  last_used_at=key.last_used_at, use_count=key.use_count).model_dump(mode="json")


def key_limits(limits: LimitsIn | None) -> key_service.KeyLimits | None:
    """The service's limits from a validated request body (the API and the portal's form)."""
    if limits is None:
        return None
    ops = tuple(limits.allowed_operations) if limits.allowed_operations else None
    return key_service.KeyLimits(limits.currency, limits.max_amount_per_tx,
                                 limits.daily_amount, ops)


def _load_key(key_id: str) -> ApiKey:
    key = key_service.get_key(db_session(), key_id) if len(key_id) <= 40 else None
    if key is None:
        raise ApiProblem(404, "Not found", f"No API key with id {key_id}.", kind="not-found")
    return key


def _refused(exc: Exception) -> ApiProblem:
    if isinstance(exc, key_service.KeyInputInvalid):
        return ApiProblem(422, "Validation failed", str(exc), kind="validation",
                          errors=exc.errors)
    code = getattr(exc, "code", "conflict")
    return ApiProblem(409, "Key change refused", str(exc), kind=code.replace("_", "-"),
                      code=code)


def _issued_response(issued: key_service.IssuedKey, merchant: Merchant,
                     client_id: str, rotated_from: str | None = None) -> Response:
    body = key_out(issued.key, merchant, now()) | {"token": issued.token,
                                                    "rotated_from": rotated_from}
    key = request.headers.get("Idempotency-Key")
    if key:  # a replay gets everything but the token, which is never stored
        raw = parse_json_object(request.get_data() or b"{}")
        db_session().add(IdempotencyRecord(
            client_id=client_id, key=key, method=request.method, path=request.path,
            body_hash=hashlib.sha256(_canonical(raw)).hexdigest(), status_code=201,
            response=body | {"token": None, "token_redacted": True}))
    resp = Response(json.dumps(body), status=201, mimetype="application/json")
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _key_settings() -> dict[str, Any]:
    s = settings()
    return {"peppers": runtime().verifier.peppers, "activation_delay": s.key_activation_delay}


@operation(bp, "/merchants/<merchant_id>/keys", "POST", scope="keys:write",
           summary="Issue an API key", body=KeyIn, response=IssuedKeyOut, status=201,
           tags=("keys",), errors=(404, 409, 422))
def create_key(merchant_id: str, body: KeyIn, client_id: str):
    """Issue a token bound to an IP whitelist and back URLs. The token is in this answer only.
    Live keys work after ``KYB_KEY_ACTIVATION_DELAY`` seconds (``activates_at``). 409 when the
    merchant is not approved or holds the maximum number of live keys."""
    merchant = load_merchant(merchant_id)
    try:
        issued = key_service.issue_key(
            db_session(), merchant=merchant, name=body.name, environment=body.environment,
            ip_whitelist=body.ip_whitelist, back_urls=body.back_urls, actor=api_actor(),
            now=now(), limits=key_limits(body.limits), expires_at=body.expires_at,
            approver=proven_approver(body), **_key_settings())
    except (key_service.KeyRefused, key_service.KeyInputInvalid) as exc:
        raise _refused(exc) from exc
    return _issued_response(issued, merchant, client_id)


@operation(bp, "/merchants/<merchant_id>/keys", "GET", scope="keys:read",
           summary="List a merchant's API keys", response=KeyList, tags=("keys",),
           errors=(404,))
def list_merchant_keys(merchant_id: str, client_id: str):
    """Every key with its state (``active``, ``pending_activation``, ``rotating``, ``frozen``,
    ``expired``, ``revoked``); never a token."""
    merchant = load_merchant(merchant_id)
    at = now()
    return {"items": [key_out(k, merchant, at)
                      for k in key_service.list_keys(db_session(), merchant=merchant)]}


@operation(bp, "/keys/<key_id>", "PATCH", scope="keys:write", summary="Change a key's "
           "restrictions", body=KeyPatch, response=KeyOut, tags=("keys",),
           errors=(404, 409, 422))
def patch_key(key_id: str, body: KeyPatch, client_id: str):
    """Change name, IP whitelist, back URLs or limits; the merchant is notified of old and new
    values (R-E4)."""
    key = _load_key(key_id)
    session = db_session()
    try:
        key_service.update_key_restrictions(
            session, key=key, actor=api_actor(), now=now(), name=body.name,
            ip_whitelist=body.ip_whitelist, back_urls=body.back_urls,
            limits=key_limits(body.limits), approver=proven_approver(body),
            limit_increase_delay=settings().limit_increase_delay)
    except (key_service.KeyRefused, key_service.KeyInputInvalid) as exc:
        raise _refused(exc) from exc
    return key_out(key, session.get(Merchant, key.merchant_id), now())


@operation(bp, "/keys/<key_id>/rotate", "POST", scope="keys:write", summary="Rotate a key",
           body=RotateIn, response=IssuedKeyOut, status=201, tags=("keys",),
           errors=(404, 409, 422))
def rotate(key_id: str, body: RotateIn, client_id: str):
    """Issue a successor with the same restrictions; the old token works until
    ``grace_seconds`` from now (≤ 24 h), then answers ``key_expired``."""
    key = _load_key(key_id)
    session = db_session()
    try:
        issued = key_service.rotate_key(session, key=key, grace_seconds=body.grace_seconds,
                                        actor=api_actor(), now=now(), **_key_settings())
    except (key_service.KeyRefused, key_service.KeyInputInvalid) as exc:
        raise _refused(exc) from exc
    return _issued_response(issued, session.get(Merchant, key.merchant_id), client_id,
                            rotated_from=key.id)


@operation(bp, "/keys/<key_id>", "DELETE", scope="keys:write", summary="Revoke a key",
           status=204, tags=("keys",), errors=(404,))
def revoke(key_id: str, client_id: str):
    """Revoke at once: from the commit on, the token answers ``key_revoked`` on every worker.
    Revoking a revoked key is a no-op."""
    key_service.revoke_key(db_session(), key=_load_key(key_id), actor=api_actor(), now=now(),
                           reason=f"revoked by {api_actor().name}")
    return Response(status=204)


@operation(bp, "/keys/<key_id>/approve-wide-ranges", "POST", scope="keys:write",
           summary="Approve a key's wide IP ranges", body=ApproveIn, response=KeyOut,
           tags=("keys",), errors=(404, 409, 422))
def approve_ranges(key_id: str, body: ApproveIn, client_id: str):
    """A staff approver signs off ranges broader than /24 or /48; audited with their name."""
    key = _load_key(key_id)
    session = db_session()
    try:
        key_service.approve_wide_ranges(session, key=key, approver=proven_approver(body),
                                        actor=api_actor(), now=now())
    except (key_service.KeyRefused, key_service.KeyInputInvalid) as exc:
        raise _refused(exc) from exc
    return key_out(key, session.get(Merchant, key.merchant_id), now())


def _use(use: CapUse) -> dict[str, Any]:
    return {"period": use.period, "key": use.key, "limit": plain_amount(use.limit),
            "spent": plain_amount(use.spent), "remaining": plain_amount(use.remaining),
            "count": use.count, "resets_at": use.resets_at}


@operation(bp, "/merchants/<merchant_id>/limits", "GET", scope="keys:read",
           summary="A merchant's caps and their use today and this month",
           response=MerchantLimitsOut, tags=("keys",), errors=(404,))
def merchant_limits_view(merchant_id: str, client_id: str):
    """The per-transaction, daily and monthly caps of the merchant's live keys (its tier's
    defaults, each replaced by a reviewer's limit) and the totals they are judged against.
    Totals are per day and month on the policy's calendar (``timezone``); ``resets_at`` says
    when the next one starts."""
    merchant = load_merchant(merchant_id)
    at = now()
    view = merchant_limits(db_session(), merchant, at)
    return MerchantLimitsOut(
        merchant_id=merchant.id, currency=view.caps.currency,
        per_transaction=plain_amount(view.caps.per_transaction), source=view.caps.source,
        policy_version=view.policy_version, timezone=view.timezone, day=_use(view.day),
        month=_use(view.month)).model_dump(mode="json")


def _freeze(merchant_id: str, frozen: bool) -> dict[str, Any]:
    merchant = load_merchant(merchant_id)
    data = parse_json_object(request.get_data()) if request.content_length else {}
    reason = data.get("reason")
    reason = str(reason)[:500] if reason else ("kill switch" if frozen else "unfrozen")
    fn = key_service.freeze_merchant_keys if frozen else key_service.unfreeze_merchant_keys
    changed = fn(db_session(), merchant=merchant, actor=api_actor(), now=now(), reason=reason)
    g.keys_changed = changed
    return FreezeOut(merchant_id=merchant.id, frozen=merchant.frozen,
                     frozen_at=merchant.frozen_at, changed=changed).model_dump(mode="json")


@operation(bp, "/merchants/<merchant_id>/freeze", "POST", scope="keys:write",
           summary="Freeze every key of a merchant (kill switch)", response=FreezeOut,
           tags=("keys",), errors=(404,))
def freeze(merchant_id: str, client_id: str):
    """R-E1: every key answers ``key_frozen`` at once, on every worker. Optional JSON body
    ``{"reason": "..."}``."""
    return _freeze(merchant_id, True)


@operation(bp, "/merchants/<merchant_id>/unfreeze", "POST", scope="keys:write",
           summary="Unfreeze a merchant's keys", response=FreezeOut, tags=("keys",),
           errors=(404,))
def unfreeze(merchant_id: str, client_id: str):
    """Lift the kill switch; revoked and expired keys stay dead."""
    return _freeze(merchant_id, False)


__all__ = ["key_out", "select"]
