"""Analysts' decisions that a screening hit is "not this person" (issue #12 item 3, R-D2).

A dismissal is keyed by the merchant, the screened subject (role and a digest of its name, and
birth date for an owner) and the list entry (list name, entry id and a digest of the entry's
data); it stops counting once any of these changes. A strong hit's dismissal needs a second,
different approver (``status`` ``pending`` until confirmed, then ``active``). An approver may
revoke a decision with a reason (``revoked``): it no longer counts and the hit is raised again.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.crypto.sealed import SealedText
from app.models.base import created_field, id_field, when_field


class ScreeningDismissal(SQLModel, table=True):
    """One "not this person" decision on a screening hit."""

    __tablename__ = "screening_dismissal"
    __table_args__ = (sa.Index("ix_screening_dismissal_lookup", "merchant_id", "list_name",
                               "entry_id"),)

    id: str = id_field("sdm")
    merchant_id: str = Field(foreign_key="merchant.id", max_length=40)
    subject_role: str = Field(max_length=20)  # legal_name | trade_name | owner
    # The screened name as it was dismissed: an owner's is a natural person's name, so
    # ``subject`` holds its mask ("C••• Y•••") and ``subject_sealed`` the name (R-D7); a legal
    # or trade name stays in clear. ``subject_digest`` is a keyed blind index, not a plain hash.
    subject: str = Field(max_length=300)
    subject_sealed: str | None = Field(default=None, sa_type=SealedText)
    subject_digest: str = Field(max_length=64)
    list_name: str = Field(max_length=120)
    entry_id: str = Field(max_length=80)
    entry_name: str = Field(max_length=300)
    entry_digest: str = Field(max_length=64)
    strong: bool = False
    status: str = Field(max_length=20)  # pending | active | revoked
    reason: str = Field(max_length=1000)
    dismissed_by: str = Field(max_length=120)
    dismissed_at: dt.datetime = created_field()
    confirmed_by: str | None = Field(default=None, max_length=120)
    confirmed_at: dt.datetime | None = when_field()
    revoked_by: str | None = Field(default=None, max_length=120)
    revoked_at: dt.datetime | None = when_field()
    revoke_reason: str | None = Field(default=None, max_length=1000)
