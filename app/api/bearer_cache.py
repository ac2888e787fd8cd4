"""A short-lived, per-process cache of validated OAuth bearer tokens for the verification path.

``POST /api/v1/verify`` is called on every payment request; looking the caller's bearer token up
in the database each time would cost a query (on SQLite, a write-lock round) per request.
A token that validated with the needed scope is remembered for :data:`TTL_SECONDS` (and never
past its expiry), keyed by the SHA-256 of the token. The trade-off: revoking an OAuth token
takes up to that long to reach the verification endpoint. Refusals are never cached.

The data plane (``app.dataplane.wsgi``) checks with :func:`data_plane_client`: the same rules
as the OAuth server's validator (known, not expired, not revoked, holding the scope) in one
plain read on the data plane's reader (on SQLite an autocommit read that never waits for the
audit writer's lock), and one thread refreshes an entry in the last
:data:`REFRESH_AHEAD_SECONDS` of its life while the others go on using it, so a busy bearer
never expires under load and the threads never stampede the database together.
"""

from __future__ import annotations

import hashlib
import threading
import time

import sqlalchemy as sa
from flask import request
from sqlalchemy.engine import Engine

from app.api.framework import acquire_token
from app.db import utcnow
from app.models import OAuthToken

TTL_SECONDS = 2.0
REFRESH_AHEAD_SECONDS = 0.5
MAX_ENTRIES = 4096
_lock = threading.Lock()
_entries: dict[tuple[str, str], tuple[str, float]] = {}
_refreshing: set[tuple[str, str]] = set()
_TOKENS = OAuthToken.__table__
_LOOKUP = sa.select(_TOKENS.c.client_id, _TOKENS.c.scope, _TOKENS.c.expires_at,
                    _TOKENS.c.revoked_at).where(
    _TOKENS.c.access_token_hash == sa.bindparam("digest"))


def _bearer() -> str | None:
    return bearer_of(request.headers.get("Authorization"))


def _full_check(scope: str) -> tuple[str, float]:
    token = acquire_token(scope)
    remaining = (token.row.expires_at - utcnow()).total_seconds()
    return token.client_id, time.monotonic() + min(TTL_SECONDS, max(remaining, 0.0))


def cached_client(bearer: str | None, scope: str) -> str | None:
    """The client id of ``bearer`` if it validated with ``scope`` within the TTL, else None
    (the data plane's check: a miss takes the full path, which fills the cache)."""
    if not bearer:
        return None
    hit = _entries.get((hashlib.sha256(bearer.encode()).hexdigest(), scope))
    if hit is not None and hit[1] > time.monotonic():
        return hit[0]
    return None


def data_plane_client(bearer: str | None, scope: str, engine: Engine) -> str | None:
    """The client id of ``bearer`` if it holds ``scope`` (cached, refreshed ahead by one
    thread), else None: the caller hands the request to the control plane, which answers the
    401/403 problem."""
    if not bearer:
        return None
    key = (hashlib.sha256(bearer.encode()).hexdigest(), scope)
    hit = _entries.get(key)
    now = time.monotonic()
    if hit is not None and hit[1] > now:
        if hit[1] - now > REFRESH_AHEAD_SECONDS or key in _refreshing:
            return hit[0]
        with _lock:  # this thread refreshes; the others keep the entry meanwhile
            if key in _refreshing:
                return hit[0]
            _refreshing.add(key)
        try:
            return _lookup(key, scope, engine)
        finally:
            _refreshing.discard(key)
    return _lookup(key, scope, engine)


def _lookup(key: tuple[str, str], scope: str, engine: Engine) -> str | None:
    """The validator's rules on the stored token; caches a pass, drops the entry otherwise."""
    with engine.connect() as conn:
        row = conn.execute(_LOOKUP, {"digest": key[0]}).first()
    if row is not None:
        remaining = (row.expires_at - utcnow()).total_seconds()
        if row.revoked_at is None and remaining > 0 and scope in row.scope.split():
            _remember(key, row.client_id, time.monotonic() + min(TTL_SECONDS, remaining))
            return row.client_id
    _entries.pop(key, None)
    return None


def bearer_of(authorization: str | None) -> str | None:
    """The bearer token of an ``Authorization`` header value, or None."""
    auth = authorization or ""
    if auth[:7].lower() != "bearer " or len(auth) > 4096:
        return None
    return auth[7:].strip() or None


def authenticate_cached(scope: str) -> str:
    """The client id of the request's bearer token holding ``scope``; 401/403 problems."""
    bearer = _bearer()
    key = (hashlib.sha256(bearer.encode()).hexdigest(), scope) if bearer else None
    client_id = cached_client(bearer, scope)
    if client_id is not None:
        return client_id
    client_id, until = _full_check(scope)
    if key is not None:
        _remember(key, client_id, until)
    return client_id


def _remember(key: tuple[str, str], client_id: str, until: float) -> None:
    """Cache a bearer that validated with its scope until ``until`` (monotonic)."""
    with _lock:
        if len(_entries) >= MAX_ENTRIES:
            _entries.clear()
        _entries[key] = (client_id, until)
