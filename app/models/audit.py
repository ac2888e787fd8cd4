"""The append-only, hash-chained audit trail (R-B5, R-D5). The database refuses UPDATE and
DELETE on this table (triggers in the migrations)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.models.base import created_field, json_field, money_field


class AuditEvent(SQLModel, table=True):
    """One audited fact: a staff action, an API write, a key change or a token verification."""

    __tablename__ = "audit_event"
    __table_args__ = (
        sa.Index("ix_audit_merchant_at", "merchant_id", "at"),
        sa.Index("ix_audit_at", "at"),
        # migration 0002_keys: per-key daily spend and per-IP / per-customer anomaly counts
        sa.Index("ix_audit_key_at", "key_id", "at"),
        sa.Index("ix_audit_merchant_ip_at", "merchant_id", "source_ip", "at"),
        # migration 0012: STR anchors and case timelines look events up by what they target
        sa.Index("ix_audit_merchant_target", "merchant_id", "target_id"),
    )

    id: str = Field(primary_key=True, max_length=40)
    seq: int = Field(sa_column=sa.Column(sa.BigInteger, unique=True, nullable=False))
    at: dt.datetime = created_field()
    actor: str = Field(max_length=200)
    action: str = Field(max_length=80, index=True)
    target_type: str | None = Field(default=None, max_length=40)
    target_id: str | None = Field(default=None, max_length=64)
    merchant_id: str | None = Field(default=None, max_length=40)
    key_id: str | None = Field(default=None, max_length=40)
    request_id: str | None = Field(default=None, max_length=64)
    source_ip: str | None = Field(default=None, max_length=45)
    destination_ip: str | None = Field(default=None, max_length=45)
    operation: str | None = Field(default=None, max_length=40)
    amount: Decimal | None = money_field()
    currency: str | None = Field(default=None, max_length=3)
    card_masked: str | None = Field(default=None, max_length=19)
    customer_ref: str | None = Field(default=None, max_length=120, index=True)
    site: str | None = Field(default=None, max_length=300)
    decision: str | None = Field(default=None, max_length=20)
    reason: str | None = Field(default=None, max_length=60)
    latency_ms: float | None = None
    details: dict = json_field()
    # Not unique-indexed (migration 0003): ``seq`` is unique and appends hold the chain lock,
    # so a second event after the same hash cannot be stored; ``audit verify`` checks the links.
    # Two more b-trees keyed by random hashes doubled the cost of every append.
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditJournal(SQLModel, table=True):
    """How far the host's audit writer has shipped one worker journal into the chain
    (``app.dataplane.shipper``): moved in the transaction that stores the events, so each
    journalled event is chained exactly once. The row goes with its file."""

    __tablename__ = "audit_journal"

    name: str = Field(primary_key=True, max_length=80)
    position: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False, default=0))
    events: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False, default=0))
    updated_at: dt.datetime = created_field()
