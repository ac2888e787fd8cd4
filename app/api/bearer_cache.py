"""A short-lived, per-process cache of validated OAuth bearer tokens for the verification path.

``POST /api/v1/verify`` is called on every payment request; looking the caller's bearer token up
in the database each time would cost a query (on SQLite, a write-lock round) per request.
A token that validated with the needed scope is remembered for :data:`TTL_SECONDS` (and never
past its expiry), keyed by the SHA-256 of the token. The trade-off: revoking an OAuth token
takes up to that long to reach the verification endpoint. Refusals are never cached.
"""

from __future__ import annotations

import hashlib
import threading
import time

from flask import request

from app.api.framework import acquire_token
from app.db import utcnow

TTL_SECONDS = 2.0
MAX_ENTRIES = 4096
_lock = threading.Lock()
_entries: dict[tuple[str, str], tuple[str, float]] = {}


def _bearer() -> str | None:
    auth = request.headers.get("Authorization", "")
    if auth[:7].lower() != "bearer " or len(auth) > 4096:
        return None
    return auth[7:].strip() or None


def _full_check(scope: str) -> tuple[str, float]:
    token = acquire_token(scope)
    remaining = (token.row.expires_at - utcnow()).total_seconds()
    return token.client_id, time.monotonic() + min(TTL_SECONDS, max(remaining, 0.0))


def authenticate_cached(scope: str) -> str:
    """The client id of the request's bearer token holding ``scope``; 401/403 problems."""
    bearer = _bearer()
    key = (hashlib.sha256(bearer.encode()).hexdigest(), scope) if bearer else None
    if key is not None:
        with _lock:
            hit = _entries.get(key)
        if hit is not None and hit[1] > time.monotonic():
            return hit[0]
    client_id, until = _full_check(scope)
    if key is not None:
        with _lock:
            if len(_entries) >= MAX_ENTRIES:
                _entries.clear()
            _entries[key] = (client_id, until)
    return client_id
