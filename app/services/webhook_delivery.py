"""Delivering the webhook outbox (R-D6): Standard Webhooks, at least once.

:func:`deliver_due_webhooks` is a plain function for the job runner and ``kybgate webhooks
deliver``. Each round:

1. claims the due deliveries in a short transaction: their ``next_attempt_at`` moves one lease
   ahead (PostgreSQL: ``FOR UPDATE SKIP LOCKED``), so two runners never send the same one at
   once, and one that dies mid-attempt leaves it to be retried when the lease ends;
2. POSTs each, outside any transaction, to the address the website fetcher's SSRF rules vetted
   (``WebsiteFetcher.vet``: https only in production; the connection goes to the vetted IP),
   signed by the ``standardwebhooks`` package with the endpoint's secret(s) — both during a
   rotation overlap, space-separated in ``webhook-signature``;
3. records the outcome: delivered on a 2xx answer; otherwise retried after
   ``backoff_base_seconds × 2^(attempts-1)`` capped at ``backoff_cap_seconds``, the same
   ``webhook-id`` every time, until ``max_attempts`` makes it dead (an admin can retry it).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from standardwebhooks.webhooks import Webhook

from app import metrics
from app.config import Settings
from app.db import utcnow
from app.models import WebhookDelivery, WebhookEndpoint
from app.services.webhooks import signing_secrets
from checks.policy import WebhooksPolicy
from checks.sources.website import FetchRefused, WebsiteFetcher, host_header

log = logging.getLogger("kybgate.webhooks")
USER_AGENT = "kybgate-webhooks/1.0"
LEASE_SLACK_SECONDS = 30


@dataclass
class DeliveryReport:
    """What one round did."""

    attempted: int = 0
    delivered: int = 0
    retrying: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Target:
    """Where and how to deliver: the SSRF rules and the deployment's switches."""

    key: bytes
    production: bool = False
    allow_private: bool = False


def target_from_settings(settings: Settings) -> Target:
    """The deployment's delivery switches: ``KYB_SECRET_KEY`` (the secrets' key), ``KYB_ENV``
    (https only in production), ``KYB_WEBHOOK_ALLOW_PRIVATE`` (tests reach 127.0.0.1)."""
    from app.services.webhooks import secret_box_key
    return Target(key=secret_box_key(settings.secret_key),
                  production=settings.env == "production",
                  allow_private=settings.webhook_allow_private)


def backoff(attempts: int, policy: WebhooksPolicy) -> dt.timedelta:
    """The wait after the ``attempts``-th failed attempt (exponential, capped)."""
    seconds = policy.backoff_base_seconds * 2 ** max(attempts - 1, 0)
    return dt.timedelta(seconds=min(seconds, policy.backoff_cap_seconds))


def body_of(delivery: WebhookDelivery) -> str:
    """The JSON body; the same bytes on every attempt."""
    return json.dumps(delivery.payload, ensure_ascii=False, sort_keys=True,
                      separators=(",", ":"))


def sign(secrets_: list[str], msg_id: str, at: dt.datetime, body: str) -> str:
    """The ``webhook-signature`` value: one ``v1,…`` per secret, space-separated."""
    return " ".join(Webhook(secret).sign(msg_id, at, body) for secret in secrets_)


def _claim(engine: Engine, now: dt.datetime, limit: int, lease: dt.timedelta
           ) -> list[tuple[WebhookDelivery, WebhookEndpoint]]:
    with Session(engine, expire_on_commit=False) as session:
        query = (select(WebhookDelivery).where(WebhookDelivery.status == "pending",
                                               WebhookDelivery.next_attempt_at <= now)
                 .order_by(WebhookDelivery.next_attempt_at).limit(limit))
        if engine.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        claimed = []
        for delivery in session.exec(query).all():
            endpoint = session.get(WebhookEndpoint, delivery.endpoint_id)
            if endpoint is None or endpoint.deleted_at is not None:
                delivery.status, delivery.last_error = "dead", "endpoint deleted"
            else:
                delivery.next_attempt_at = now + lease
                claimed.append((delivery, endpoint))
            session.add(delivery)
        session.commit()
        return claimed


def post(delivery: WebhookDelivery, endpoint: WebhookEndpoint, target: Target,
         policy: WebhooksPolicy, at: dt.datetime) -> tuple[int | None, str | None]:
    """One signed attempt; (HTTP status, None) on a 2xx answer, else (status, why)."""
    if target.production and not endpoint.url.lower().startswith("https://"):
        return None, "refused: http URL in production"
    try:
        url, host, address = WebsiteFetcher(allow_private=target.allow_private).vet(endpoint.url)
    except FetchRefused as exc:
        return None, f"{exc.kind}: {exc}"
    body = body_of(delivery)
    headers = {"webhook-id": delivery.id, "webhook-timestamp": str(int(at.timestamp())),
               "webhook-signature": sign(signing_secrets(endpoint, target.key, at), delivery.id,
                                         at, body),
               "content-type": "application/json", "user-agent": USER_AGENT,
               "host": host_header(url)}
    try:
        with httpx.Client(follow_redirects=False, trust_env=False) as http:
            response = http.post(url.copy_with(host=address), content=body.encode(),
                                 headers=headers, timeout=policy.timeout_seconds,
                                 extensions={"sni_hostname": host} if url.scheme == "https"
                                 else {})
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:500]
    if 200 <= response.status_code < 300:
        return response.status_code, None
    return response.status_code, f"HTTP {response.status_code}"


def _record(engine: Engine, delivery_id: str, status: int | None, error: str | None,
            now: dt.datetime, policy: WebhooksPolicy) -> str:
    with Session(engine) as session:
        delivery = session.get(WebhookDelivery, delivery_id)
        if delivery is None or delivery.status != "pending":
            return "gone"
        delivery.attempts += 1
        delivery.last_status_code, delivery.updated_at = status, now
        if error is None:
            delivery.status, delivery.delivered_at, delivery.last_error = "delivered", now, None
            metrics.webhook_delivered((now - delivery.created_at).total_seconds())
        elif delivery.attempts >= policy.max_attempts:
            delivery.status, delivery.last_error = "dead", error[:500]
            metrics.webhook_failed(dead=True)
        else:
            delivery.last_error = error[:500]
            delivery.next_attempt_at = now + backoff(delivery.attempts, policy)
            metrics.webhook_failed(dead=False)
        outcome = delivery.status if error is None or delivery.status == "dead" else "retrying"
        session.add(delivery)
        session.commit()
        return outcome


def deliver_due_webhooks(engine: Engine, *, target: Target, policy: WebhooksPolicy,
                         now: Callable[[], dt.datetime] = utcnow, limit: int = 100
                         ) -> DeliveryReport:
    """Attempt every delivery due at ``now()`` (up to ``limit``) and record each outcome;
    returns what happened. Safe to run in several processes at once."""
    report = DeliveryReport()
    start = now()
    lease = dt.timedelta(seconds=policy.timeout_seconds + LEASE_SLACK_SECONDS)
    for delivery, endpoint in _claim(engine, start, limit, lease):
        at = now()
        try:
            status, error = post(delivery, endpoint, target, policy, at)
        except Exception as exc:  # noqa: BLE001 - e.g. a secret that no longer decrypts;
            # one bad endpoint must not stop the round (the attempt counts and is retried)
            log.exception("webhook %s to %s failed", delivery.id, endpoint.url)
            status, error = None, f"{type(exc).__name__}: {exc}"
        outcome = _record(engine, delivery.id, status, error, at, policy)
        report.attempted += 1
        if outcome == "delivered":
            report.delivered += 1
        elif outcome in ("retrying", "dead"):
            setattr(report, outcome, getattr(report, outcome) + 1)
            report.errors.append(f"{delivery.id} → {endpoint.url}: {error}")
    return report


def pending_count(engine: Engine) -> int:
    """How many deliveries wait (for ``--loop`` progress)."""
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(WebhookDelivery)
                                .where(WebhookDelivery.status == "pending")).scalar() or 0)
