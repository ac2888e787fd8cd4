"""The latest verdict of each monitoring scenario per merchant and stream (issue #9): ``hit``,
``clear`` or ``insufficient_data`` with the reason, so "nothing found" and "could not judge"
never look the same."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.models.base import created_field, id_field


class ScenarioResult(SQLModel, table=True):
    """One scenario's latest judgement for one merchant. ``stream`` is ``transactions`` (the
    transaction feed) or ``verifications`` (allowed verifications with an amount)."""

    __tablename__ = "scenario_result"
    __table_args__ = (
        sa.UniqueConstraint("merchant_id", "stream", "scenario", name="uq_scenario_result"),
    )

    id: str = id_field("scr")
    merchant_id: str = Field(foreign_key="merchant.id", max_length=40, index=True)
    stream: str = Field(default="transactions", max_length=20)
    scenario: str = Field(max_length=60)
    status: str = Field(max_length=20)
    reason: str | None = Field(default=None, max_length=300)
    hits: int = 0
    policy_version: str = Field(max_length=40)
    evaluated_at: dt.datetime = created_field()
    updated_at: dt.datetime = created_field()
