"""Token verification for payment APIs and gateways (R-B1, R-B3, R-B5).

* ``POST /api/v1/verify`` — a payment API asks about one request (bearer scope ``verify``);
  always 200 with ``{allowed, reason, merchant_id, key_id, audit_id}`` for a well-formed body.
* ``GET /api/v1/auth`` — nginx ``auth_request`` / Envoy ``ext_authz``: 204 with
  ``X-Merchant-Id``/``X-Key-Id``, 401 without or with an unknown token, 403 with
  ``X-Deny-Reason`` otherwise. Only callers inside ``KYB_GATEWAY_CIDRS`` are answered.

Both audit every decision through the group commit (``app.audit.writer``) before answering;
if the event cannot be stored the answer is 503, never an unaudited ``allowed``.

In ``kybgate serve`` (and the test client) the data plane in front of the app
(``app.dataplane.wsgi``) answers these requests itself; these views answer what it hands over
(a bearer token not yet in the cache, an invalid body) and describe the operations in the
OpenAPI document.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Literal

from flask import Response, g, request
from pydantic import BaseModel

from api_keys.cards import InvalidCardNumber
from api_keys.verification import REASONS
from api_keys.whitelist import NetworkSet, parse_ip
from app.api import bp
from app.api.bearer_cache import authenticate_cached
from app.api.context import keyring, now
from app.api.framework import operation
from app.audit.batcher import AuditUnavailable
from app.audit.trail import Actor
from app.dataplane.inputs import VerifyIn, gateway_input, verify_input
from app.dataplane.runtime import runtime
from app.dataplane.wsgi import audit_unavailable
from app.errors import validation_problem
from app.extensions import db_session, settings
from app.services.verification import VerificationInput, Verified

log = logging.getLogger("kybgate.verify")


class VerifyOut(BaseModel):
    """The decision and the audit event recording it."""

    allowed: bool
    reason: Literal[REASONS]  # type: ignore[valid-type]
    merchant_id: str | None
    key_id: str | None
    audit_id: str


def _run(request_in: VerificationInput, actor: Actor, started: float,
         at: dt.datetime) -> Verified:
    try:
        return runtime().verifier.verify(request_in, actor=actor, now=at, started=started)
    except AuditUnavailable as exc:
        log.error("verification not answered: %s", exc)
        raise audit_unavailable() from exc


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
    try:
        request_in = verify_input(body, keyring())
    except InvalidCardNumber as exc:
        raise validation_problem([{"field": "card_number", "code": "invalid",
                                   "message": str(exc)}]) from None
    actor = Actor(name=f"client:{client_id}", request_id=g.get("request_id"),
                  source_ip=request.remote_addr)
    result = _run(request_in, actor, started, now())
    d = result.decision
    return {"allowed": d.allowed, "reason": d.reason, "merchant_id": d.merchant_id,
            "key_id": d.key_id, "audit_id": result.audit.id}


def _header(name: str) -> str | None:
    if name == "X-Forwarded-For":  # every hop's header, in order
        return ",".join(request.headers.getlist(name)) or None
    return request.headers.get(name)


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
    the audit trail; ``X-Card-Number``, ``X-Customer-Ref``, ``X-Device-Id``,
    ``X-Customer-Email`` and ``X-Customer-Phone`` are matched against the blacklist (403
    ``blacklisted``). Callers outside ``KYB_GATEWAY_CIDRS`` get 403 ``gateway_not_allowed``."""
    return _check_gateway()


def _check_gateway() -> Response:
    started = g.get("kyb_started") or time.perf_counter()
    if not _gateway_allowed(request.remote_addr):
        log.warning("auth request from %s outside KYB_GATEWAY_CIDRS", request.remote_addr)
        return _deny(403, "gateway_not_allowed", None)
    actor = Actor(name="gateway", request_id=g.get("request_id"), source_ip=request.remote_addr)
    request_in = gateway_input(_header, request.remote_addr or "",
                               NetworkSet.parse(settings().trusted_proxies), keyring())
    result = _run(request_in, actor, started, now())
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
