"""Webhook endpoints and the outbox (R-D6): register, list, delete, rotate the secret, and
enqueue one delivery per subscribed endpoint when an audited change is a webhook event.

The signing secret (``whsec_`` + base64 of 32 random bytes, the Standard Webhooks form) is
returned once and stored encrypted with AES-GCM under a key derived from ``KYB_SECRET_KEY``
(:func:`secret_box_key`); the endpoint id is the associated data, so a ciphertext copied to
another endpoint does not decrypt. Delivery is in ``app.services.webhook_delivery``.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlmodel import Session, select

from app.audit.trail import Actor, record
from app.models import AuditEvent, WebhookDelivery, WebhookEndpoint
from app.models.base import sortable_id
from app.services.webhook_events import EVENT_TYPES, webhook_type
from checks.policy import WebhooksPolicy
from checks.sources.website import FetchRefused, WebsiteFetcher

SECRET_PREFIX = "whsec_"  # noqa: S105 - the Standard Webhooks prefix, not a secret
_BOX_VERSION = "v1"


class WebhookError(ValueError):
    """A webhook request the service refuses; ``field`` names the bad input."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class WebhookNotFound(LookupError):
    """No such (undeleted) endpoint or delivery."""


# --------------------------------------------------------------------------- secrets at rest

def secret_box_key(secret_key: str) -> bytes:
    """The AES-256 key that encrypts webhook secrets, derived from ``KYB_SECRET_KEY`` with a
    purpose label (never the application secret itself)."""
    return hmac.new(secret_key.encode(), b"kybgate webhook secrets v1", hashlib.sha256).digest()


def encrypt_secret(key: bytes, endpoint_id: str, secret: str) -> str:
    """``v1:`` + base64(nonce ‖ AES-GCM ciphertext) of ``secret``, bound to ``endpoint_id``."""
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(key).encrypt(nonce, secret.encode(), endpoint_id.encode())
    return f"{_BOX_VERSION}:" + base64.b64encode(nonce + sealed).decode()


def decrypt_secret(key: bytes, endpoint_id: str, stored: str) -> str:
    """The secret :func:`encrypt_secret` sealed; ``ValueError`` if it was altered or the key
    is not the one that sealed it."""
    version, _, body = stored.partition(":")
    if version != _BOX_VERSION:
        raise ValueError(f"unknown webhook secret format {version!r}")
    raw = base64.b64decode(body)
    try:
        return AESGCM(key).decrypt(raw[:12], raw[12:], endpoint_id.encode()).decode()
    except InvalidTag:
        raise ValueError("webhook secret does not decrypt (wrong KYB_SECRET_KEY?)") from None


def new_secret() -> str:
    """A fresh Standard Webhooks secret."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def signing_secrets(endpoint: WebhookEndpoint, key: bytes, now: dt.datetime) -> list[str]:
    """The secrets that sign a delivery now: the current one, and the previous one while the
    rotation overlap lasts."""
    found = [decrypt_secret(key, endpoint.id, endpoint.secret_encrypted)]
    if (endpoint.previous_secret_encrypted and endpoint.previous_secret_until
            and now < endpoint.previous_secret_until):
        found.append(decrypt_secret(key, endpoint.id, endpoint.previous_secret_encrypted))
    return found


# --------------------------------------------------------------------------- endpoints

def check_target(url: str, *, production: bool, allow_private: bool) -> str:
    """``url`` if a delivery may go there: https in production, and the website fetcher's
    SSRF rules (``checks.sources.website``); :class:`WebhookError` naming why not."""
    url = (url or "").strip()
    if production and not url.lower().startswith("https://"):
        raise WebhookError("url", "must be an https URL in production")
    try:
        WebsiteFetcher(allow_private=allow_private).vet(url)
    except FetchRefused as exc:
        raise WebhookError("url", str(exc)) from None
    return url


def _events(events: Sequence[str]) -> list[str]:
    wanted = list(dict.fromkeys(e.strip() for e in events))
    unknown = [e for e in wanted if e not in EVENT_TYPES]
    if not wanted or unknown:
        raise WebhookError("events", f"unknown event type(s): {', '.join(unknown) or '(none)'}; "
                                     f"known: {', '.join(EVENT_TYPES)}")
    return wanted


@dataclass(frozen=True)
class CreatedEndpoint:
    """A new endpoint and its secret (shown only in this answer)."""

    endpoint: WebhookEndpoint
    secret: str


def create_endpoint(session: Session, *, url: str, events: Sequence[str], key: bytes,
                    actor: Actor, now: dt.datetime, production: bool,
                    allow_private: bool) -> CreatedEndpoint:
    """Register ``url`` for ``events``; audited (never the secret)."""
    wanted = _events(events)
    target = check_target(url, production=production, allow_private=allow_private)
    endpoint = WebhookEndpoint(url=target, events=wanted, secret_encrypted="", created_at=now,
                               created_by=actor.name)
    secret = new_secret()
    endpoint.secret_encrypted = encrypt_secret(key, endpoint.id, secret)
    session.add(endpoint)
    session.flush()
    record(session, actor.event("webhook.created", target_type="webhook_endpoint",
                                target_id=endpoint.id, at=now,
                                details={"url": target, "events": wanted}))
    return CreatedEndpoint(endpoint, secret)


def get_endpoint(session: Session, endpoint_id: str) -> WebhookEndpoint:
    """An undeleted endpoint, or :class:`WebhookNotFound`."""
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.deleted_at is not None:
        raise WebhookNotFound(endpoint_id)
    return endpoint


def list_endpoints(session: Session) -> list[WebhookEndpoint]:
    """Every undeleted endpoint, oldest first."""
    return list(session.exec(select(WebhookEndpoint).where(WebhookEndpoint.deleted_at.is_(None))
                             .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)).all())


def rotate_secret(session: Session, *, endpoint_id: str, key: bytes, actor: Actor,
                  now: dt.datetime, policy: WebhooksPolicy) -> CreatedEndpoint:
    """A new secret; the old one keeps signing (beside it) for the policy's overlap."""
    endpoint = get_endpoint(session, endpoint_id)
    secret = new_secret()
    endpoint.previous_secret_encrypted = endpoint.secret_encrypted
    endpoint.previous_secret_until = now + dt.timedelta(hours=policy.rotation_overlap_hours)
    endpoint.secret_encrypted = encrypt_secret(key, endpoint.id, secret)
    endpoint.rotated_at = now
    session.add(endpoint)
    session.flush()
    record(session, actor.event("webhook.secret_rotated", target_type="webhook_endpoint",
                                target_id=endpoint.id, at=now,
                                details={"previous_valid_until":
                                         endpoint.previous_secret_until.isoformat()}))
    return CreatedEndpoint(endpoint, secret)


def delete_endpoint(session: Session, *, endpoint_id: str, actor: Actor,
                    now: dt.datetime) -> WebhookEndpoint:
    """Stop deliveries to the endpoint (kept, with its history); pending ones become dead."""
    endpoint = get_endpoint(session, endpoint_id)
    endpoint.deleted_at = now
    session.add(endpoint)
    pending = session.exec(select(WebhookDelivery).where(
        WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.status == "pending")).all()
    for delivery in pending:
        delivery.status, delivery.last_error, delivery.updated_at = "dead", "endpoint deleted", now
        session.add(delivery)
    session.flush()
    record(session, actor.event("webhook.deleted", target_type="webhook_endpoint",
                                target_id=endpoint.id, at=now,
                                details={"url": endpoint.url, "pending_dropped": len(pending)}))
    return endpoint


# --------------------------------------------------------------------------- the outbox

def event_payload(kind: str, event: AuditEvent) -> dict[str, Any]:
    """The Standard Webhooks body ``{type, timestamp, data}`` of an audit event."""
    details = dict(event.details or {})
    data: dict[str, Any] = {
        "audit_event_id": event.id, "audit_seq": event.seq, "audit_hash": event.hash,
        "action": event.action, "actor": event.actor, "merchant_id": event.merchant_id,
        "target_type": event.target_type, "target_id": event.target_id,
        "key_id": event.key_id, "reason": event.reason, "details": details}
    if kind == "kyb.merchant.status_changed":
        data["old_status"] = (details.get("before") or {}).get("status")
        data["new_status"] = (details.get("after") or {}).get("status")
    at = event.at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    return {"type": kind, "timestamp": at, "data": data}


def enqueue_for_events(session: Session, events: Sequence[AuditEvent]) -> list[WebhookDelivery]:
    """Queue a delivery of each webhook event to every endpoint subscribed to its type, in
    the caller's transaction (called by ``app.audit.trail.append_events``)."""
    typed = [(kind, e) for e in events if (kind := webhook_type(e.action, e.details))]
    if not typed:
        return []
    endpoints = list_endpoints(session)
    rows = [WebhookDelivery(id=sortable_id("msg"), endpoint_id=endpoint.id, event_type=kind,
                            audit_event_id=event.id, payload=event_payload(kind, event),
                            next_attempt_at=event.at, created_at=event.at, updated_at=event.at)
            for kind, event in typed for endpoint in endpoints if kind in endpoint.events]
    if rows:
        session.add_all(rows)
        session.flush()
        _deliver_soon(session)
    return rows


def _deliver_soon(session: Session) -> None:
    """Queue one delivery run for after the commit (once per transaction), so a webhook
    leaves within seconds rather than at the worker's next minute."""
    from app.jobs import enqueue_after_commit
    enqueue_after_commit(session, "deliver_webhooks")


def retry_delivery(session: Session, *, delivery_id: str, actor: Actor,
                   now: dt.datetime) -> WebhookDelivery:
    """Put a dead delivery back in the queue (same webhook-id, attempts start again)."""
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.status != "dead":
        raise WebhookNotFound(delivery_id)
    get_endpoint(session, delivery.endpoint_id)  # a deleted endpoint gets nothing more
    delivery.status, delivery.attempts, delivery.next_attempt_at = "pending", 0, now
    delivery.updated_at = now
    session.add(delivery)
    session.flush()
    record(session, actor.event("webhook.delivery_retried", target_type="webhook_delivery",
                                target_id=delivery.id, at=now,
                                details={"endpoint_id": delivery.endpoint_id,
                                         "event_type": delivery.event_type,
                                         "last_error": delivery.last_error}))
    return delivery


def dead_deliveries(session: Session, limit: int = 200) -> list[WebhookDelivery]:
    """Dead deliveries, newest first (the console's dead-letter list)."""
    return list(session.exec(select(WebhookDelivery).where(WebhookDelivery.status == "dead")
                             .order_by(WebhookDelivery.updated_at.desc()).limit(limit)).all())
