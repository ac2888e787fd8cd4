"""Webhooks to the back office (R-D6): the endpoints a client registered and the outbox of
deliveries to them.

An endpoint's signing secret is kept encrypted (AES-GCM under a key derived from
``KYB_SECRET_KEY``), never hashed: it must be usable to sign. During a rotation the previous
secret is kept until ``previous_secret_until`` and every delivery is signed with both.

A delivery row is written in the same transaction as the audit event it reports (exactly-once
enqueue); its ``id`` is the ``webhook-id`` header, the same on every attempt. Status: pending →
delivered, or dead after the last attempt (an admin can put a dead one back to pending).
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.models.base import created_field, id_field, json_field, when_field

DELIVERY_STATUSES: tuple[str, ...] = ("pending", "delivered", "dead")


class WebhookEndpoint(SQLModel, table=True):
    """A URL that receives the event types it subscribed to."""

    __tablename__ = "webhook_endpoint"

    id: str = id_field("whe")
    url: str = Field(max_length=2048)
    events: list = json_field(default_factory=list)
    secret_encrypted: str = Field(max_length=200)
    previous_secret_encrypted: str | None = Field(default=None, max_length=200)
    previous_secret_until: dt.datetime | None = when_field()
    created_by: str = Field(max_length=200)
    created_at: dt.datetime = created_field()
    rotated_at: dt.datetime | None = when_field()
    deleted_at: dt.datetime | None = when_field()


class WebhookDelivery(SQLModel, table=True):
    """One event for one endpoint, retried with backoff until delivered or dead."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        sa.Index("ix_webhook_delivery_due", "status", "next_attempt_at"),
        # one delivery per endpoint and audit event, whatever retries the enqueue
        sa.UniqueConstraint("endpoint_id", "audit_event_id", name="uq_webhook_delivery_event"),
    )

    id: str = Field(primary_key=True, max_length=40)  # the webhook-id header
    endpoint_id: str = Field(foreign_key="webhook_endpoint.id", index=True, max_length=40)
    event_type: str = Field(max_length=60)
    audit_event_id: str = Field(max_length=40)
    payload: dict = json_field()
    status: str = Field(default="pending", max_length=20)
    attempts: int = Field(default=0)
    next_attempt_at: dt.datetime = created_field()
    last_error: str | None = Field(default=None, max_length=500)
    last_status_code: int | None = None
    created_at: dt.datetime = created_field()
    updated_at: dt.datetime = created_field()
    delivered_at: dt.datetime | None = when_field()
