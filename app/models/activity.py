"""Transactions, the notification outbox and idempotency records."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.crypto.sealed import SealedText
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
    # The payment account behind the transaction (R-C10), when the caller sends it. The
    # account's e-mail and phone are kept only as keyed HMAC digests, and the phone's country.
    account_ref: str | None = Field(default=None, max_length=120)
    account_opened_at: dt.datetime | None = when_field()
    account_type: str | None = Field(default=None, max_length=10)
    account_holder_birth_year: int | None = None
    counterparty_ref: str | None = Field(default=None, max_length=120)
    account_email_hash: str | None = Field(default=None, max_length=64, index=True)
    account_phone_hash: str | None = Field(default=None, max_length=64, index=True)
    phone_country: str | None = Field(default=None, max_length=2)
    ip_country: str | None = Field(default=None, max_length=2)
    device_id: str | None = Field(default=None, max_length=120, index=True)  # payer device, R-E2


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
    # A merchant's notice: the full recipient, body and payload sealed (``recipient`` holds a
    # mask, ``payload`` and ``body`` the personal values masked; app.services.sealed_notices).
    content_sealed: str | None = Field(default=None, sa_type=SealedText)


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
