"""The verification data plane: a small WSGI app in front of the control plane (Flask) that
answers ``POST /api/v1/verify``, ``GET /api/v1/auth`` and Envoy's ``/api/v1/auth/<path>``
itself, with only what verification needs (issue #14): no Flask request, session, CSRF, i18n,
template or ORM work per request.

It answers a request when it can do so exactly as the control plane's views
(``app.api.verify``) would, and hands every other request over, unchanged, to the Flask app:

* ``POST /api/v1/verify`` is answered here when its body is JSON within the size limit, its
  bearer token holds scope ``verify`` (``app.api.bearer_cache.data_plane_client``: the same
  rules and cache as the view's) and the body is a valid verification. Anything else (no or
  an unknown bearer, a malformed body, an invalid card number) goes to the Flask view, which
  answers the same problem+json as ever. Nothing is audited before
  the hand-over, so a handed-over request is audited once, by the view.
* The gateway checks are always answered here (their answers are status codes and headers).

Both share the parsing (``app.dataplane.inputs``), the :class:`~app.services.verification.
Verifier` of the process (``app.dataplane.runtime``) and so every deny reason, its order, the
limits, the blacklist and the audit event written before the answer. ``X-Request-Id`` and the
security headers are the ones the Flask app sets on every answer.
"""

from __future__ import annotations

import io
import json
import logging
import os
import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask
from pydantic import ValidationError

from api_keys.cards import InvalidCardNumber
from api_keys.whitelist import NetworkSet, parse_ip
from app import turnstile
from app.api.bearer_cache import bearer_of, data_plane_client
from app.audit.batcher import AuditUnavailable
from app.audit.trail import Actor
from app.dataplane import runtime as runtime_module
from app.dataplane.inputs import VerifyIn, gateway_input, verify_input
from app.db import utcnow
from app.errors import ApiProblem
from app.request_ids import request_id_for
from app.security import Keyring
from app.services.verification import Verified

log = logging.getLogger("kybgate.verify")

VERIFY_PATH = "/api/v1/verify"
AUTH_PATH = "/api/v1/auth"
ENVOY_PREFIX = AUTH_PATH + "/"
ENVOY_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"})
STATUS = {200: "200 OK", 204: "204 No Content", 401: "401 Unauthorized",
          403: "403 Forbidden", 500: "500 Internal Server Error",
          503: "503 Service Unavailable"}
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class DataPlane:
    """The dispatcher: verification requests answered here, the rest by ``control_plane``."""

    def __init__(self, app: Flask, control_plane: WSGIApp) -> None:
        self.app = app
        self.control_plane = control_plane
        self._networks: dict[tuple[str, ...], NetworkSet] = {}

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
        try:
            if path == VERIFY_PATH and method == "POST":
                answer = self._verify(environ)
            elif (path == AUTH_PATH and method in {"GET", "HEAD"}) or (
                    method in ENVOY_METHODS and _envoy_path(path)):
                answer = self._gateway(environ)
            else:
                answer = None
        except Exception:  # as the control plane's handler: logged, never a stack trace
            log.exception("unhandled error on %s %s", method, path)
            answer = self._problem(environ, ApiProblem(500, "Internal error", "The request "
                                                       "could not be completed.",
                                                       kind="internal"))
        if answer is None:
            turnstile.step_aside()  # the control plane's views are not the turnstile's to wait
            return self.control_plane(environ, start_response)
        status, headers, body = answer
        start_response(STATUS[status], headers)
        return [body] if body and method != "HEAD" else []

    # --- POST /api/v1/verify ------------------------------------------------------------

    def _verify(self, environ: dict[str, Any]) -> tuple[int, list, bytes] | None:
        """The answer, or None to hand the request to the control plane."""
        started = time.perf_counter()
        raw = self._body(environ)
        if raw is None:
            return None
        runtime = self._runtime()
        client_id = data_plane_client(bearer_of(environ.get("HTTP_AUTHORIZATION")), "verify",
                                      runtime.reader)
        if client_id is None:
            return None
        try:
            request_in = verify_input(VerifyIn.model_validate_json(raw), self._keyring())
        except (ValidationError, InvalidCardNumber):
            return None  # the view names the bad field
        request_id = request_id_for(environ.get("HTTP_X_REQUEST_ID", ""))
        actor = Actor(name=f"client:{client_id}", request_id=request_id,
                      source_ip=environ.get("REMOTE_ADDR"))
        result = self._run(request_in, actor, started)
        if isinstance(result, ApiProblem):
            return self._problem(environ, result, request_id)
        d = result.decision
        body = json.dumps({"allowed": d.allowed, "reason": d.reason,
                           "merchant_id": d.merchant_id, "key_id": d.key_id,
                           "audit_id": result.audit.id}, ensure_ascii=False).encode()
        return 200, [("Content-Type", "application/json"),
                     ("Content-Length", str(len(body))), *_common(request_id)], body

    def _body(self, environ: dict[str, Any]) -> bytes | None:
        """The JSON body, if it is one within ``MAX_CONTENT_LENGTH``; the stream is replaced by
        a buffer of what was read, so a hand-over reads the same bytes."""
        mimetype = (environ.get("CONTENT_TYPE") or "").split(";", 1)[0].strip().lower()
        length = environ.get("CONTENT_LENGTH") or ""
        limit = self.app.config.get("MAX_CONTENT_LENGTH")
        if mimetype != "application/json" or not length.isdigit() or (
                limit is not None and int(length) > limit):
            return None
        raw = environ["wsgi.input"].read(int(length))
        environ["wsgi.input"] = io.BytesIO(raw)
        environ["CONTENT_LENGTH"] = str(len(raw))
        return raw

    # --- the gateway checks ----------------------------------------------------------------

    def _gateway(self, environ: dict[str, Any]) -> tuple[int, list, bytes]:
        started = time.perf_counter()
        request_id = request_id_for(environ.get("HTTP_X_REQUEST_ID", ""))
        settings = self.app.extensions["kyb.settings"]
        peer = environ.get("REMOTE_ADDR") or ""
        address = parse_ip(peer)
        if address is None or address not in self._nets(settings.gateway_cidrs):
            log.warning("auth request from %s outside KYB_GATEWAY_CIDRS", peer)
            return _deny(403, "gateway_not_allowed", None, request_id)

        def header(name: str) -> str | None:
            return environ.get("HTTP_" + name.upper().replace("-", "_"))

        request_in = gateway_input(header, peer, self._nets(settings.trusted_proxies),
                                   self._keyring())
        result = self._run(request_in, Actor(name="gateway", request_id=request_id,
                                             source_ip=peer), started)
        if isinstance(result, ApiProblem):
            return self._problem(environ, result, request_id)
        d = result.decision
        if d.allowed:
            return 204, [("X-Merchant-Id", d.merchant_id or ""), ("X-Key-Id", d.key_id or ""),
                         ("X-Audit-Id", result.audit.id), *_common(request_id)], b""
        return _deny(401 if d.reason == "invalid_token" else 403, d.reason, result.audit.id,
                     request_id)

    # --- shared ------------------------------------------------------------------------------

    def _run(self, request_in: Any, actor: Actor, started: float) -> Verified | ApiProblem:
        try:
            return self._runtime().verifier.verify(request_in, actor=actor, now=utcnow(),
                                                   started=started)
        except AuditUnavailable as exc:
            log.error("verification not answered: %s", exc)
            return audit_unavailable()

    def _runtime(self) -> runtime_module.KeysRuntime:
        state = self.app.extensions.get(runtime_module.EXTENSION)
        if state is not None and state[0] == os.getpid():
            state[1].ensure_listening()
            return state[1]
        with self.app.app_context():  # first use in this process: settings, policy, engines
            return runtime_module.runtime(self.app)

    def _keyring(self) -> Keyring:
        settings = self.app.extensions["kyb.settings"]
        return Keyring(settings.token_peppers, settings.token_pepper_version)

    def _nets(self, cidrs: tuple[str, ...]) -> NetworkSet:
        nets = self._networks.get(cidrs)
        if nets is None:
            nets = self._networks[cidrs] = NetworkSet.parse(cidrs)
        return nets

    def _problem(self, environ: dict[str, Any], problem: ApiProblem,
                 request_id: str | None = None) -> tuple[int, list, bytes]:
        request_id = request_id or request_id_for(environ.get("HTTP_X_REQUEST_ID", ""))
        doc = problem.body()
        doc.setdefault("instance", environ.get("PATH_INFO", ""))
        doc.setdefault("request_id", request_id)
        body = json.dumps(doc, sort_keys=True).encode()
        return problem.status, [("Content-Type", "application/problem+json"),
                                ("Content-Length", str(len(body))),
                                *problem.headers.items(), *_common(request_id)], body


def _envoy_path(path: str) -> bool:
    """Whether the router would take ``path`` as ``/api/v1/auth/<path:original_path>``
    (werkzeug's path converter: not starting with a slash, no newline; doubled slashes are
    redirected there)."""
    rest = path[len(ENVOY_PREFIX):] if path.startswith(ENVOY_PREFIX) else ""
    return bool(rest) and rest[0] != "/" and "\n" not in rest and "//" not in rest


def audit_unavailable() -> ApiProblem:
    """The answer when a decision could not be recorded: never an unaudited ``allowed``."""
    return ApiProblem(503, "Audit trail unavailable", "The decision could not be recorded; "
                      "retry.", kind="audit-unavailable", headers={"Retry-After": "1"})


def _deny(status: int, reason: str, audit_id: str | None, request_id: str
          ) -> tuple[int, list, bytes]:
    headers = [("X-Deny-Reason", reason), *_common(request_id)]
    if audit_id:
        headers.append(("X-Audit-Id", audit_id))
    if status == 401:
        headers.append(("WWW-Authenticate", 'Bearer realm="kybgate"'))
    return status, [("Content-Length", "0"), *headers], b""


def _common(request_id: str) -> list[tuple[str, str]]:
    """The headers the control plane sets on every answer (``app._register_request_hooks``)."""
    return [("X-Request-Id", request_id), ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "same-origin"), ("X-Frame-Options", "DENY")]


def mount(app: Flask) -> Flask:
    """Put the data plane in front of ``app``'s WSGI callable (the test client and gunicorn
    both go through it)."""
    app.wsgi_app = DataPlane(app, app.wsgi_app)  # type: ignore[method-assign]
    return app
