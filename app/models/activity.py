"""Transactions, the notification outbox and idempotency records."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.models.base import created_field, id_field, json_field, money_field, when_field


class Transaction(SQLModel, table=True):
    """A merchant's payment transaction. The full card number is never stored: only the first
    six and last four digits and a keyed fingerprint."""

    __tablename__ = "payment_transaction"
    __table_args__ = (
        sa.UniqueConstraint("merchant_id", "external_id", name="uq_transaction_external"),
        sa.Index("ix_transaction_merchant_time", "merchant_id", "occurred_at"),
    )

    id: str = id_field("trx")
    merchant_id: str = Field(foreign_key="merchant.id", max_length=40)
    external_id: str = Field(max_length=120)
    type: str = Field(max_length=20)
    amount: Decimal = money_field(nullable=False)
    currency: str = Field(max_length=3)
    amount_try: Decimal | None = money_field()
    occurred_at: dt.datetime = created_field()
    card_masked: str | None = Field(default=None, max_length=19)
    card_fingerprint: str | None = Field(default=None, max_length=64, index=True)
    customer_ref: str | None = Field(default=None, max_length=120)
    client_ip: str | None = Field(default=None, max_length=45)
    description: str | None = Field(default=None, max_length=500)
    created_at: dt.datetime = created_field()


class Notification(SQLModel, table=True):
    """An outbox row: a message to a merchant, delivered by the worker (R-E4, R-E7)."""

    __tablename__ = "notification"
    __table_args__ = (sa.Index("ix_notification_pending", "sent_at", "next_attempt_at"),)

    id: str = id_field("ntf")
    merchant_id: str | None = Field(default=None, foreign_key="merchant.id", index=True,
                                    max_length=40)
    event: str = Field(max_length=60)
    channel: str = Field(default="email", max_length=20)
    recipient: str = Field(max_length=320)
    subject: str = Field(max_length=300)
    body: str = Field(sa_type=sa.Text)
    payload: dict = json_field()
    created_at: dt.datetime = created_field()
    next_attempt_at: dt.datetime = created_field()
    sent_at: dt.datetime | None = when_field()
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=500)


class IdempotencyRecord(SQLModel, table=True):
    """The first response to a write sent with an ``Idempotency-Key``."""

    __tablename__ = "idempotency_record"
    __table_args__ = (sa.UniqueConstraint("client_id", "key", name="uq_idempotency_client_key"),)

    id: int | None = Field(default=None, primary_key=True)
    client_id: str = Field(max_length=64)
    key: str = Field(max_length=200)
    method: str = Field(max_length=10)
    path: str = Field(max_length=300)
    body_hash: str = Field(max_length=64)
    status_code: int
    response: dict = json_field()
    created_at: dt.datetime = created_field()
