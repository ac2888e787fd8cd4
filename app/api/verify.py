"""Token verification for payment APIs and gateways (R-B1, R-B3, R-B5).

* ``POST /api/v1/verify`` — a payment API asks about one request (bearer scope ``verify``);
  always 200 with ``{allowed, reason, merchant_id, key_id, audit_id}`` for a well-formed body.
* ``GET /api/v1/auth`` — nginx ``auth_request`` / Envoy ``ext_authz``: 204 with
  ``X-Merchant-Id``/``X-Key-Id``, 401 without or with an unknown token, 403 with
  ``X-Deny-Reason`` otherwise. Only callers inside ``KYB_GATEWAY_CIDRS`` are answered.

Both audit every decision through the group commit (``app.audit.writer``) before answering;
if the event cannot be stored the answer is 503, never an unaudited ``allowed``.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from decimal import Decimal, InvalidOperation
from typing import Annotated

from flask import Response, g, request
from pydantic import BaseModel, Field, StringConstraints, field_validator

from api_keys.backurls import site_from_headers
from api_keys.cards import InvalidCardNumber, mask_pan
from api_keys.client_ip import resolve_client_ip
from api_keys.results import Failure
from api_keys.whitelist import NetworkSet, parse_ip
from app.api import bp
from app.api.bearer_cache import authenticate_cached
from app.api.context import now
from app.api.framework import operation
from app.audit.batcher import AuditUnavailable
from app.audit.trail import Actor
from app.errors import ApiProblem, validation_problem
from app.extensions import db_session, settings
from app.keys_feature import runtime
from app.services.verification import VerificationInput, Verified

log = logging.getLogger("kybgate.verify")
Short = Annotated[str, StringConstraints(max_length=120)]
MAX_HEADER = 4096


class VerifyIn(BaseModel):
    """One request to verify. ``token`` is taken as given (any string up to 4 KB): a malformed
    one is answered ``invalid_token``, not 422. ``back_url`` or ``origin`` is the site the
    request came from; ``card_number`` is masked to first 6 / last 4 and never stored."""

    model_config = {"extra": "forbid"}

    token: Annotated[str, StringConstraints(max_length=MAX_HEADER)]
    client_ip: Annotated[str, StringConstraints(max_length=64)]
    back_url: Annotated[str, StringConstraints(max_length=2048)] | None = None
    origin: Annotated[str, StringConstraints(max_length=2048)] | None = None
    operation: Annotated[str, StringConstraints(min_length=1, max_length=40)] | None = None
    amount: Annotated[Decimal, Field(max_digits=20, decimal_places=4)] | None = None
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] | None = None
    card_number: Annotated[str, StringConstraints(max_length=64)] | None = None
    customer_ref: Short | None = None
    destination_ip: Annotated[str, StringConstraints(max_length=64)] | None = None

    @field_validator("destination_ip")
    @classmethod
    def _ip(cls, value: str | None) -> str | None:
        if value is not None and parse_ip(value) is None:
            raise ValueError("not an IP address")
        return None if value is None else str(parse_ip(value))


class VerifyOut(BaseModel):
    """The decision and the audit event recording it."""

    allowed: bool
    reason: str
    merchant_id: str | None
    key_id: str | None
    audit_id: str


def _card(card_number: str | None) -> str | None:
    if card_number is None:
        return None
    try:
        return mask_pan(card_number)
    except InvalidCardNumber as exc:
        raise validation_problem([{"field": "card_number", "code": "invalid",
                                   "message": str(exc)}]) from None


def _run(request_in: VerificationInput, actor: Actor, started: float,
         at: dt.datetime) -> Verified:
    try:
        return runtime().verifier.verify(request_in, actor=actor, now=at, started=started)
    except AuditUnavailable as exc:
        log.error("verification not answered: %s", exc)
        raise ApiProblem(503, "Audit trail unavailable", "The decision could not be recorded; "
                         "retry.", kind="audit-unavailable",
                         headers={"Retry-After": "1"}) from exc


@operation(bp, "/verify", "POST", scope="verify", summary="Verify a merchant token",
           body=VerifyIn, response=VerifyOut, tags=("verification",), errors=(422, 503),
           authenticate=False, idempotent=False)
def verify_token(body: VerifyIn):
    """Decide whether the merchant token may be used for this request. Reasons: ``ok``,
    ``invalid_token``, ``key_revoked``, ``key_expired``, ``key_not_yet_active``,
    ``key_frozen``, ``merchant_not_active``, ``ip_not_allowed``, ``back_url_mismatch``,
    ``limit_exceeded``. Every answer has its audit event committed first."""
    started = g.get("kyb_started") or time.perf_counter()
    client_id = authenticate_cached("verify")
    if g.get("_kyb_session") is not None:
        # End the bearer lookup's read transaction: on SQLite every transaction holds the
        # write lock, which the record loader and the audit writer need next.
        db_session().commit()
    address = parse_ip(body.client_ip)
    site = site_from_headers(body.origin, None, body.back_url)
    request_in = VerificationInput(
        token=body.token, client_ip=address if address is not None else Failure("bad_ip"),
        site=site, channel="verify", operation=body.operation, amount=body.amount,
        currency=body.currency, card_masked=_card(body.card_number),
        customer_ref=body.customer_ref, destination_ip=body.destination_ip)
    actor = Actor(name=f"client:{client_id}", request_id=g.get("request_id"),
                  source_ip=request.remote_addr)
    result = _run(request_in, actor, started, now())
    d = result.decision
    return {"allowed": d.allowed, "reason": d.reason, "merchant_id": d.merchant_id,
            "key_id": d.key_id, "audit_id": result.audit.id}


def _header(name: str) -> str | None:
    # Oversized values pass through: every parser refuses them by length before parsing.
    return request.headers.get(name)


def _token() -> str | None:
    auth = _header("Authorization")
    if auth and auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    key = _header("X-Api-Key")
    return key.strip() if key else None


def _amount() -> tuple[Decimal | None, str | None]:
    raw = _header("X-Amount")
    if raw and len(raw) > 40:
        raw = "NaN"
    if not raw:
        return None, _header("X-Currency")
    try:
        amount = Decimal(raw.strip())
    except InvalidOperation:
        amount = Decimal("NaN")  # refused by the limits check (limit_exceeded)
    return amount, _header("X-Currency")


def _gateway_allowed(peer: str | None) -> bool:
    nets = g.get("kyb_gateway_nets")
    if nets is None:
        nets = NetworkSet.parse(settings().gateway_cidrs)
    address = parse_ip(peer or "")
    return address is not None and address in nets


def _deny(status: int, reason: str, audit_id: str | None) -> Response:
    resp = Response(status=status)
    resp.headers["X-Deny-Reason"] = reason
    if audit_id:
        resp.headers["X-Audit-Id"] = audit_id
    if status == 401:
        resp.headers["WWW-Authenticate"] = 'Bearer realm="kybgate"'
    return resp


def _gateway_input(token: str | None) -> VerificationInput:
    s = settings()
    xff = ",".join(request.headers.getlist("X-Forwarded-For")) or None
    client_ip = resolve_client_ip(request.remote_addr or "", xff, _header("X-Real-IP"),
                                  NetworkSet.parse(s.trusted_proxies))
    site = site_from_headers(_header("Origin"), _header("Referer"), _header("X-Back-Url"))
    amount, currency = _amount()
    card = _header("X-Card-Number")
    try:
        card_masked = mask_pan(card) if card else None
    except InvalidCardNumber:
        card_masked = None
    destination = parse_ip(_header("X-Destination-Ip") or "")
    return VerificationInput(
        token=token, client_ip=client_ip, site=site, channel="gateway",
        operation=(_header("X-Operation") or "")[:40] or None, amount=amount,
        currency=(currency or "")[:3] or None, card_masked=card_masked,
        customer_ref=(_header("X-Customer-Ref") or "")[:120] or None,
        destination_ip=str(destination) if destination else None)


@operation(bp, "/auth", "GET", scope=None, summary="Gateway check (nginx auth_request, "
           "Envoy ext_authz)", status=204, tags=("verification",), errors=(401, 403, 503),
           authenticate=False,
           extra_responses={204: "Allowed; X-Merchant-Id and X-Key-Id name the key",
                            401: "No or unknown token (X-Deny-Reason)",
                            403: "Denied (X-Deny-Reason); or the caller is not a gateway"})
def gateway_auth():
    """Token from ``Authorization: Bearer`` or ``X-Api-Key``; client IP from the peer or,
    only when the peer is in ``KYB_TRUSTED_PROXIES``, from ``X-Forwarded-For``/``X-Real-IP``;
    site from ``Origin``, ``Referer`` or ``X-Back-Url``. Optional ``X-Operation``,
    ``X-Amount``, ``X-Currency``, ``X-Customer-Ref``, ``X-Destination-Ip`` feed the limits and
    the audit trail. Callers outside ``KYB_GATEWAY_CIDRS`` get 403 ``gateway_not_allowed``."""
    return _check_gateway()


def _check_gateway() -> Response:
    started = g.get("kyb_started") or time.perf_counter()
    if not _gateway_allowed(request.remote_addr):
        log.warning("auth request from %s outside KYB_GATEWAY_CIDRS", request.remote_addr)
        return _deny(403, "gateway_not_allowed", None)
    token = _token()
    actor = Actor(name="gateway", request_id=g.get("request_id"), source_ip=request.remote_addr)
    result = _run(_gateway_input(token), actor, started, now())
    d = result.decision
    if d.allowed:
        resp = Response(status=204)
        resp.headers.update({"X-Merchant-Id": d.merchant_id or "", "X-Key-Id": d.key_id or "",
                             "X-Audit-Id": result.audit.id})
        return resp
    return _deny(401 if d.reason == "invalid_token" else 403, d.reason, result.audit.id)


def _envoy_check(method: str) -> None:
    """Envoy's HTTP ext_authz appends the original path to ``path_prefix`` and keeps the
    original method, so ``/api/v1/auth/<anything>`` with any method is the same check."""
    def view(original_path: str):
        return _check_gateway()
    view.__name__ = f"gateway_auth_envoy_{method.lower()}"
    view.__doc__ = ("Envoy ext_authz (HTTP service): the check of ``GET /api/v1/auth`` for a "
                    f"{method} request to the original path.")
    operation(bp, "/auth/<path:original_path>", method, scope=None,
              summary=f"Gateway check, Envoy style ({method})", status=204,
              tags=("verification",), errors=(401, 403, 503), authenticate=False,
              extra_responses={204: "Allowed", 401: "No or unknown token",
                               403: "Denied (X-Deny-Reason)"})(view)


for _method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
    _envoy_check(_method)
