"""Casework (R-C1, R-D5): cases that group a merchant's alerts, their notes, attachments and
requests for information, and the scenario snoozes analysts set.

An alert (``app.models.risk.Alert``) moves open → in_review → closed and may belong to one case.
A case moves open → investigating → waiting_for_information → closed; closing a high-priority
case, or one with a filed suspicious-transaction report (STR), waits for a second approver
(``close_requested_by`` set, ``closed_at`` empty) — four eyes. Every change is also an audit
event, so the case's timeline is read from the hash-chained trail.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.models.base import created_field, id_field, when_field

CASE_STATUSES: tuple[str, ...] = ("open", "investigating", "waiting_for_information", "closed")
CASE_PRIORITIES: tuple[str, ...] = ("low", "medium", "high", "critical")
CASE_OUTCOMES: tuple[str, ...] = ("no_action", "str_filed", "merchant_offboarded",
                                  "limits_adjusted", "monitoring_continued")


class Case(SQLModel, table=True):
    """An investigation of one merchant, opened from alerts or on its own."""

    __tablename__ = "case_file"
    __table_args__ = (sa.Index("ix_case_status_due", "status", "due_at"),)

    id: str = id_field("cas")
    merchant_id: str = Field(foreign_key="merchant.id", index=True, max_length=40)
    title: str = Field(max_length=200)
    status: str = Field(default="open", max_length=30)
    priority: str = Field(default="medium", max_length=10)
    assignee: str | None = Field(default=None, max_length=120)
    opened_by: str = Field(max_length=120)
    opened_at: dt.datetime = created_field()
    due_at: dt.datetime = created_field()
    narrative: str | None = Field(default=None, sa_type=sa.Text)
    close_requested_by: str | None = Field(default=None, max_length=120)
    close_requested_at: dt.datetime | None = when_field()
    outcome: str | None = Field(default=None, max_length=30)
    close_reason: str | None = Field(default=None, max_length=1000)
    closed_by: str | None = Field(default=None, max_length=120)
    closed_at: dt.datetime | None = when_field()
    str_reference: str | None = Field(default=None, max_length=80)
    str_filed_by: str | None = Field(default=None, max_length=120)
    str_filed_at: dt.datetime | None = when_field()
    str_sha256: str | None = Field(default=None, max_length=64)


class CaseNote(SQLModel, table=True):
    """A note an analyst wrote on a case."""

    __tablename__ = "case_note"

    id: str = id_field("cnt")
    case_id: str = Field(foreign_key="case_file.id", index=True, max_length=40)
    author: str = Field(max_length=120)
    text: str = Field(sa_type=sa.Text)
    created_at: dt.datetime = created_field()


class CaseAttachment(SQLModel, table=True):
    """A document kept with a case; its SHA-256 is also recorded in the audit trail."""

    __tablename__ = "case_attachment"

    id: str = id_field("att")
    case_id: str = Field(foreign_key="case_file.id", index=True, max_length=40)
    filename: str = Field(max_length=200)
    content_type: str = Field(max_length=100)
    size: int
    sha256: str = Field(max_length=64)
    content: bytes = Field(sa_type=sa.LargeBinary, nullable=False)
    # The kept STR package carries full national ids: its content is then a sealed value
    # (``app.services.personal_data.seal_attachment``); ``sha256`` and ``size`` are the clear's.
    sealed: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    uploaded_by: str = Field(max_length=120)
    uploaded_at: dt.datetime = created_field()


class InformationRequest(SQLModel, table=True):
    """A question sent to the merchant from a case; the portal shows it until answered."""

    __tablename__ = "information_request"

    id: str = id_field("inf")
    case_id: str = Field(foreign_key="case_file.id", index=True, max_length=40)
    merchant_id: str = Field(foreign_key="merchant.id", index=True, max_length=40)
    question: str = Field(sa_type=sa.Text)
    status: str = Field(default="open", max_length=20)  # open | answered | withdrawn
    requested_by: str = Field(max_length=120)
    requested_at: dt.datetime = created_field()
    due_at: dt.datetime | None = when_field()
    answer: str | None = Field(default=None, sa_type=sa.Text)
    answered_by: str | None = Field(default=None, max_length=120)
    answered_at: dt.datetime | None = when_field()


class AlertSnooze(SQLModel, table=True):
    """No new alert of ``scenario`` for ``merchant_id`` until ``until`` (bounded, with a reason);
    hits in the meantime are still recorded as suppressed in the audit trail."""

    __tablename__ = "alert_snooze"
    __table_args__ = (sa.Index("ix_alert_snooze_merchant_scenario", "merchant_id", "scenario"),)

    id: str = id_field("snz")
    merchant_id: str = Field(foreign_key="merchant.id", max_length=40)
    scenario: str = Field(max_length=60)
    until: dt.datetime = created_field()
    reason: str = Field(max_length=500)
    created_by: str = Field(max_length=120)
    created_at: dt.datetime = created_field()
    lifted_at: dt.datetime | None = when_field()
    lifted_by: str | None = Field(default=None, max_length=120)
