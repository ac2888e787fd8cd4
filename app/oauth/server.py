"""The authorization server and resource protector.

Unknown scopes are refused with ``invalid_scope``: Authlib's client-credentials grant would
otherwise silently narrow the request to what the client holds.
"""

from __future__ import annotations

import datetime as dt

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import InvalidScopeError
from authlib.oauth2.rfc6749.util import scope_to_list
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from flask import Flask, g, request
from sqlmodel import select

from app.audit.trail import EventDraft, record
from app.db import utcnow
from app.extensions import db_session
from app.models import OAuthClient, OAuthToken
from app.oauth.models import KNOWN_SCOPES, Client, Token, digest

TOKEN_LIFETIME = dt.timedelta(hours=1)


def _query_client(client_id: str) -> Client | None:
    row = db_session().exec(
        select(OAuthClient).where(OAuthClient.client_id == client_id,
                                  OAuthClient.revoked_at.is_(None))
    ).first()
    return Client(row) if row else None


def _save_token(token: dict, oauth_request) -> None:
    now = utcnow()
    client = oauth_request.client
    row = OAuthToken(client_id=client.get_client_id(),
                     access_token_hash=digest(token["access_token"]),
                     scope=token.get("scope", ""), issued_at=now,
                     expires_at=now + dt.timedelta(seconds=int(token["expires_in"])))
    session = db_session()
    session.add(row)
    record(session, EventDraft(action="oauth.token.issued", actor=f"client:{row.client_id}",
                               target_type="oauth_token", target_id=row.id,
                               request_id=g.get("request_id"), source_ip=request.remote_addr,
                               details={"scope": row.scope}))
    session.commit()


class StrictClientCredentialsGrant(grants.ClientCredentialsGrant):
    """Client credentials where every requested scope must exist and be granted to the client;
    no scope asked means all of the client's scopes."""

    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def validate_requested_scope(self) -> None:  # noqa: D102
        requested = scope_to_list(self.request.payload.scope) or []
        unknown = [s for s in requested if s not in KNOWN_SCOPES]
        if unknown:
            raise InvalidScopeError(description=f"unknown scope(s): {' '.join(unknown)}")
        held = set(self.request.client.scopes)
        missing = [s for s in requested if s not in held]
        if missing:
            raise InvalidScopeError(description=f"scope(s) not granted to this client: "
                                                f"{' '.join(missing)}")


class MerchantKeyCheck:
    """A merchant API token (``kyb_live_…``/``kyb_test_…``) checked through introspection,
    with the verification's decision and audit event."""

    def __init__(self, verified) -> None:
        self.verified = verified

    def payload(self) -> dict:
        """RFC 7662 answer; inactive answers still carry the reason and the audit id."""
        decision = self.verified.decision
        body = {"active": bool(decision.allowed), "token_type": "kyb_api_key",
                "reason": decision.reason, "audit_id": self.verified.audit.id}
        if decision.allowed:
            body.update(sub=decision.merchant_id, merchant_id=decision.merchant_id,
                        key_id=decision.key_id)
        return body


def _check_merchant_token(token_string: str, client) -> MerchantKeyCheck:
    """Verify a merchant token as ``POST /api/v1/verify`` would. RFC 7662 lets the caller add
    context: ``client_ip`` and ``back_url`` (or ``origin``) — without them the IP whitelist
    and back-URL checks cannot pass, so such a token is reported inactive with its reason."""
    import time

    from api_keys.backurls import site_from_headers
    from api_keys.whitelist import parse_ip
    from app.audit.trail import Actor
    from app.dataplane.runtime import runtime
    from app.services.verification import VerificationInput
    # The client lookup opened this request's transaction; on SQLite that holds the write lock,
    # which the audit writer needs before this answer may go out.
    db_session().commit()
    form = request.form
    ip = parse_ip(form.get("client_ip", "")) if form.get("client_ip") else None
    site = site_from_headers(form.get("origin"), None, form.get("back_url"))
    verification = VerificationInput(token=token_string, client_ip=ip, site=site,
                                      channel="introspect", operation=form.get("operation"))
    actor = Actor(name=f"client:{client.get_client_id()}", request_id=g.get("request_id"),
                  source_ip=request.remote_addr)
    return MerchantKeyCheck(runtime().verifier.verify(verification, actor=actor, now=utcnow(),
                                                      started=time.perf_counter()))


class Introspection(IntrospectionEndpoint):
    """RFC 7662 for kybgate's OAuth bearer tokens and for merchant API tokens; only clients
    holding ``introspect`` may ask."""

    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def query_token(self, token_string: str, token_type_hint: str | None):  # noqa: D102
        return _stored_token(token_string)

    def check_permission(self, token, client, request) -> bool:  # noqa: D102
        return "introspect" in client.scopes

    def authenticate_token(self, request, client):  # noqa: D102
        if "introspect" not in client.scopes:
            raise InvalidScopeError(description="introspection needs the 'introspect' scope")
        self.check_params(request, client)
        token_string = request.form["token"]
        if token_string.startswith("kyb_"):
            return _check_merchant_token(token_string, client)
        return super().authenticate_token(request, client)

    def create_introspection_payload(self, token):  # noqa: D102
        if isinstance(token, MerchantKeyCheck):
            return token.payload()
        return super().create_introspection_payload(token)

    def introspect_token(self, token: Token) -> dict:  # noqa: D102
        issued = token.row.issued_at
        return {"active": True, "client_id": token.client_id, "scope": token.get_scope(),
                "token_type": "Bearer", "iat": int(issued.timestamp()),
                "exp": int(token.row.expires_at.timestamp()), "sub": token.client_id}


def _stored_token(token_string: str) -> Token | None:
    row = db_session().exec(
        select(OAuthToken).where(OAuthToken.access_token_hash == digest(token_string))
    ).first()
    return Token(row) if row else None


class Revocation(RevocationEndpoint):
    """RFC 7009: a client may revoke its own tokens."""

    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def query_token(self, token_string: str, token_type_hint: str | None):  # noqa: D102
        return _stored_token(token_string)

    def revoke_token(self, token: Token, request) -> None:  # noqa: D102
        session = db_session()
        token.row.revoked_at = utcnow()
        session.add(token.row)
        record(session, EventDraft(action="oauth.token.revoked",
                                   actor=f"client:{token.client_id}", target_type="oauth_token",
                                   target_id=token.row.id, request_id=g.get("request_id"),
                                   source_ip=request.remote_addr if hasattr(request,
                                                                            "remote_addr")
                                   else None))
        session.commit()


class StoredBearerValidator(BearerTokenValidator):
    """Bearer tokens looked up by their SHA-256."""

    def authenticate_token(self, token_string: str):  # noqa: D102
        return _stored_token(token_string)


authorization = AuthorizationServer()
require_oauth = ResourceProtector()


def init_oauth(app: Flask) -> None:
    """Bind the authorization server and the bearer validator to ``app``."""
    app.config.setdefault("OAUTH2_TOKEN_EXPIRES_IN",
                          {"client_credentials": int(TOKEN_LIFETIME.total_seconds())})
    authorization.init_app(app, query_client=_query_client, save_token=_save_token)
    authorization.register_grant(StrictClientCredentialsGrant)
    authorization.register_endpoint(Introspection)
    authorization.register_endpoint(Revocation)
    require_oauth.register_token_validator(StoredBearerValidator())
