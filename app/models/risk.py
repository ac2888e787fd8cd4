"""Assessments, decisions, alerts, blacklists and screening lists."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.models.base import created_field, id_field, json_field, when_field


class Assessment(SQLModel, table=True):
    """A stored risk assessment with its policy version and exact input snapshot (R-D4)."""

    __tablename__ = "assessment"
    __table_args__ = (sa.Index("ix_assessment_merchant_created", "merchant_id", "created_at"),)

    id: str = id_field("asm")
    merchant_id: str = Field(foreign_key="merchant.id", max_length=40)
    policy_version: str = Field(max_length=40)
    policy_digest: str = Field(max_length=64)
    score: int
    tier: str = Field(max_length=10)
    recommended_action: str = Field(max_length=30)
    checks: list = json_field(default_factory=list)
    reasons: list = json_field(default_factory=list)
    input_snapshot: dict = json_field()
    trigger: str = Field(default="manual", max_length=60)
    created_by: str = Field(default="system", max_length=120)
    created_at: dt.datetime = created_field()


class Decision(SQLModel, table=True):
    """A staff decision on a merchant. A high-tier approval waits (``pending_second``) until a
    second, different approver confirms it (four eyes)."""

    __tablename__ = "decision"

    id: str = id_field("dec")
    merchant_id: str = Field(foreign_key="merchant.id", index=True, max_length=40)
    decision: str = Field(max_length=30)
    reason: str = Field(sa_type=sa.Text)
    actor: str = Field(max_length=120)
    status: str = Field(default="final", max_length=20)  # final | pending_second | superseded
    confirmed_by: str | None = Field(default=None, max_length=120)
    confirmed_at: dt.datetime | None = when_field()
    assessment_id: str | None = Field(default=None, max_length=40)
    policy_version: str | None = Field(default=None, max_length=40)
    tier: str | None = Field(default=None, max_length=10)
    limits: dict = json_field()
    created_at: dt.datetime = created_field()


class Alert(SQLModel, table=True):
    """A monitoring hit to be worked within the SLA (3 hours, R-C1)."""

    __tablename__ = "alert"
    __table_args__ = (sa.Index("ix_alert_status_due", "status", "due_at"),)

    id: str = id_field("alr")
    merchant_id: str | None = Field(default=None, foreign_key="merchant.id", index=True,
                                    max_length=40)
    scenario: str = Field(max_length=60)
    severity: str = Field(default="medium", max_length=10)
    summary: str = Field(max_length=500)
    details: dict = json_field()
    dedupe_key: str = Field(max_length=200, unique=True)
    status: str = Field(default="open", max_length=20)  # open | closed
    assignee: str | None = Field(default=None, max_length=120)
    opened_at: dt.datetime = created_field()
    due_at: dt.datetime = created_field()
    closed_at: dt.datetime | None = when_field()
    resolution: str | None = Field(default=None, max_length=500)


class BlacklistEntry(SQLModel, table=True):
    """A value known to be used for fraud (R-E2): IBAN, e-mail, domain, phone, IP, device."""

    __tablename__ = "blacklist_entry"
    __table_args__ = (sa.Index("ix_blacklist_kind_value", "kind", "value_key"),)

    id: str = id_field("blk")
    kind: str = Field(max_length=20)
    value: str = Field(max_length=500)
    value_key: str = Field(max_length=500)
    reason: str = Field(max_length=500)
    added_by: str = Field(max_length=120)
    added_at: dt.datetime = created_field()
    removed_at: dt.datetime | None = when_field()
    removed_by: str | None = Field(default=None, max_length=120)


class ScreeningList(SQLModel, table=True):
    """A loaded sanctions or PEP list version."""

    __tablename__ = "screening_list"

    id: str = id_field("lst")
    name: str = Field(max_length=120, index=True)
    kind: str = Field(max_length=20)  # sanctions | pep
    format: str = Field(max_length=30)
    version: str = Field(max_length=80)
    entry_count: int = 0
    active: bool = True
    imported_by: str = Field(max_length=120)
    imported_at: dt.datetime = created_field()


class ScreeningEntry(SQLModel, table=True):
    """One entry of a loaded list, as the screening index needs it."""

    __tablename__ = "screening_entry"

    id: int | None = Field(default=None, primary_key=True)
    list_id: str = Field(foreign_key="screening_list.id", index=True, max_length=40)
    entry_id: str = Field(max_length=80)
    data: dict = json_field()
