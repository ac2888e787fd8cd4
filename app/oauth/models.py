"""Authlib's client and token interfaces over kybgate's stored rows.

The stored rows keep only SHA-256 digests of client secrets and access tokens; these adapters
answer Authlib's questions without ever needing the plaintext back.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

from authlib.oauth2.rfc6749 import ClientMixin, TokenMixin
from authlib.oauth2.rfc6749.util import scope_to_list

from app.db import utcnow
from app.models import OAuthClient, OAuthToken

# Every scope an integration can hold, with what it lets a client do (the OAuth scopes of
# the OpenAPI document and /api/docs). ``introspect`` is for resource servers that call
# /oauth/introspect; the others are the /api/v1 scopes of DESIGN.md.
SCOPE_DESCRIPTIONS: dict[str, str] = {
    "merchants:read": "Read merchants and their applications (owners' national ids masked), "
                      "their latest risk assessment, monitoring verdicts and the blacklist.",
    "merchants:write": "Submit a merchant's application, change its contact data, IBAN, "
                       "website or owners (each change kept with old and new value), and "
                       "request a fresh risk assessment.",
    "decisions:write": "Record an approver's decision on a merchant (approve, approve with "
                       "limits, request information, reject, suspend; a high tier needs a "
                       "second approver) and dismiss or confirm screening hits.",
    "keys:write": "Issue, rotate, restrict and revoke a merchant's API keys, approve wide IP "
                  "ranges, and freeze or unfreeze all of a merchant's keys (kill switch).",
    "keys:read": "List a merchant's API keys (never their secrets) and its payment caps with "
                 "today's and this month's use.",
    "verify": "Check a merchant token presented to your gateway: the answer says whether the "
              "call is allowed (key, IP, back URL, limits) and why not when refused.",
    "audit:read": "Read the tamper-evident audit trail and verify its hash chain.",
    "transactions:write": "Report merchants' payment transactions (one or a batch of up to "
                          "1,000) for transaction monitoring.",
    "blacklist:write": "Add fraud-linked values (IBAN, e-mail, phone, domain, IP address, "
                       "national id, device, card, customer) to the blacklist and remove them.",
    "introspect": "Ask /oauth/introspect whether a token is active and what it may do (for "
                  "resource servers).",
    "alerts:read": "List monitoring alerts and read one with its evidence.",
    "alerts:write": "Assign monitoring alerts and close them with a disposition.",
    "cases:read": "List investigation cases, read one with its timeline, and export a case's "
                  "suspicious-transaction report.",
    "cases:write": "Open investigation cases, add notes, close them, and record the filing of "
                   "a suspicious-transaction report.",
    "webhooks:write": "Register, list, delete and rotate the secrets of webhook endpoints that "
                      "receive kybgate's events.",
}
KNOWN_SCOPES = tuple(SCOPE_DESCRIPTIONS)


def digest(secret: str) -> str:
    """SHA-256 hex digest of a high-entropy secret (client secrets, access tokens)."""
    return hashlib.sha256(secret.encode()).hexdigest()


class Client(ClientMixin):
    """An ``OAuthClient`` row as Authlib sees it."""

    def __init__(self, row: OAuthClient) -> None:
        self.row = row
        self.client_id = row.client_id

    def get_client_id(self) -> str:  # noqa: D102
        return self.row.client_id

    def get_default_redirect_uri(self) -> None:  # noqa: D102
        return None

    def get_allowed_scope(self, scope: str) -> str:
        """The requested scopes this client holds; no scope asked means all of them."""
        if not scope:
            return " ".join(self.scopes)
        allowed = set(self.scopes)
        return " ".join(s for s in scope_to_list(scope) or [] if s in allowed)

    @property
    def scopes(self) -> list[str]:
        """The scopes granted to this client."""
        return self.row.scopes.split()

    def check_redirect_uri(self, redirect_uri: str) -> bool:  # noqa: D102
        return False

    def check_client_secret(self, client_secret: str) -> bool:  # noqa: D102
        return hmac.compare_digest(digest(client_secret), self.row.client_secret_hash)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:  # noqa: D102
        return method in {"client_secret_basic", "client_secret_post"}

    def check_response_type(self, response_type: str) -> bool:  # noqa: D102
        return False

    def check_grant_type(self, grant_type: str) -> bool:  # noqa: D102
        return grant_type == "client_credentials"


class Token(TokenMixin):
    """An ``OAuthToken`` row as Authlib sees it."""

    def __init__(self, row: OAuthToken) -> None:
        self.row = row

    @property
    def client_id(self) -> str:
        """The client the token was issued to."""
        return self.row.client_id

    @property
    def scopes(self) -> set[str]:
        """The token's scopes."""
        return set(self.row.scope.split())

    def check_client(self, client: Client) -> bool:  # noqa: D102
        return self.row.client_id == client.get_client_id()

    def get_scope(self) -> str:  # noqa: D102
        return self.row.scope

    def get_expires_in(self) -> int:  # noqa: D102
        return int((self.row.expires_at - self.row.issued_at).total_seconds())

    def is_expired(self) -> bool:  # noqa: D102
        return self.row.expires_at <= utcnow()

    def is_revoked(self) -> bool:  # noqa: D102
        return self.row.revoked_at is not None

    def issued_at(self) -> dt.datetime:
        """When the token was issued."""
        return self.row.issued_at
