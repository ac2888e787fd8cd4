"""What views need from the request: the acting client, the clock, the keyring."""

from __future__ import annotations

import datetime as dt

from flask import g, request

from app.audit.trail import Actor
from app.db import utcnow
from app.extensions import settings
from app.security import Keyring


def api_actor() -> Actor:
    """The OAuth client making this request, as an audit actor."""
    client = g.get("api_client_id")
    return Actor(name=f"client:{client}" if client else "anonymous",
                 request_id=g.get("request_id"), source_ip=request.remote_addr)


def keyring() -> Keyring:
    """The server's HMAC keys."""
    s = settings()
    return Keyring(s.token_peppers, s.token_pepper_version)


def now() -> dt.datetime:
    """The request's clock (frozen in tests by freezegun)."""
    return utcnow()
