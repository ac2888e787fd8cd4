"""Assessments, decisions, alerts, blacklists and screening lists."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.crypto.sealed import SealedText
from app.models.base import created_field, id_field, json_field, when_field


class Assessment(SQLModel, table=True):
    """A stored risk assessment with its policy version and exact input snapshot (R-D4).

    Check evidence, explanations and reasons name owners, birth dates, e-mails and phones, so
    they are sealed (``checks_sealed``; ``checks`` keeps each check's code, status and points
    in clear), as are the snapshot's personal facts (``snapshot_sealed``; ``input_snapshot``
    keeps the rest): :mod:`app.services.sealed_assessments` seals and opens them (R-D7)."""

    __tablename__ = "assessment"
    __table_args__ = (sa.Index("ix_assessment_merchant_created", "merchant_id", "created_at"),
                      sa.Index("ix_assessment_expires_at", "expires_at"))

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
    checks_sealed: str | None = Field(default=None, sa_type=SealedText)
    snapshot_sealed: str | None = Field(default=None, sa_type=SealedText)
    trigger: str = Field(default="manual", max_length=60)
    created_by: str = Field(default="system", max_length=120)
    created_at: dt.datetime = created_field()
    # When the scheduler re-runs it (the policy's TTL for its tier, R-D1); None: never. A
    # renewal claims the assessment by moving this forward by the policy's lease.
    expires_at: dt.datetime | None = when_field()


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
    # The summary's English template and values (``checks.wording``): the console writes it in
    # the reader's language. ``None`` for alerts opened before summaries kept their template.
    summary_wording: dict | None = Field(default=None, sa_type=sa.JSON, nullable=True)
    details: dict = json_field()
    dedupe_key: str = Field(max_length=200, unique=True)
    status: str = Field(default="open", max_length=20)  # open | in_review | closed
    assignee: str | None = Field(default=None, max_length=120)
    # The earliest transaction or API call behind the alert; the 3-hour clock runs from it.
    occurred_at: dt.datetime | None = when_field()
    opened_at: dt.datetime = created_field()
    due_at: dt.datetime = created_field()
    escalated_at: dt.datetime | None = when_field()
    case_id: str | None = Field(default=None, foreign_key="case_file.id", index=True,
                                max_length=40)
    disposition: str | None = Field(default=None, max_length=20)
    closed_by: str | None = Field(default=None, max_length=120)
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


class BlacklistState(SQLModel, table=True):
    """The blacklist's change counter (one row): every add or removal increments
    ``generation`` in its own transaction, so each process can tell with one cheap read
    whether its in-memory index (``app.services.blacklist_index``) is still current."""

    __tablename__ = "blacklist_state"

    id: int = Field(default=1, primary_key=True)
    generation: int = Field(default=0, sa_type=sa.BigInteger, nullable=False)
    changed_at: dt.datetime | None = when_field()


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
