"""A merchant's running sales figures (R-A4, R-A5, R-A7), kept up to date on ingest.

``MerchantFigures`` holds one row per merchant: the turnover of each new-merchant window since
activation, the ticket sketch (``checks.figures.TicketSketch``) and the crossings waiting to be
re-judged. ``MerchantDaySales`` holds the merchant's sales per local calendar day (policy time
zone), so that the sector comparison reads a few small rows instead of the transactions.
Both are written only by ``app.services.figures`` (transactions) and ``app.audit.figures``
(allowed verifications, in the audit commit), and recomputed by ``kybgate figures rebuild``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.models.base import created_field, json_field, money_field, when_field


class MerchantFigures(SQLModel, table=True):
    """The running figures of one merchant."""

    __tablename__ = "merchant_figures"

    merchant_id: str = Field(primary_key=True, foreign_key="merchant.id", max_length=40)
    # The activation instant the windows were counted from (a new one means a recount).
    activated_at: dt.datetime | None = when_field()
    sales_count: int = 0
    sales_try: Decimal = money_field(nullable=False)
    # {"30": "123.45", ...}: sales in [activated_at, activated_at + days) per policy window.
    window_turnover: dict = json_field()
    # TicketSketch buckets {"512": 3, "z": 1, ...} and the exact smallest and largest ticket.
    ticket_buckets: dict = json_field()
    ticket_min: Decimal | None = money_field()
    ticket_max: Decimal | None = money_field()
    # The reference price (R-A5) of the assessment the ticket thresholds were read from.
    reference_try: Decimal | None = money_field()
    reference_assessment_id: str | None = Field(default=None, max_length=40)
    # Check codes whose threshold a figure crossed and that are not yet re-judged.
    pending: list = json_field(default_factory=list)
    last_sale_at: dt.datetime | None = when_field()
    updated_at: dt.datetime = created_field()


class MerchantDaySales(SQLModel, table=True):
    """A merchant's sales on one local calendar day (the policy's ``[monitoring] timezone``)."""

    __tablename__ = "merchant_day_sales"
    __table_args__ = (sa.Index("ix_merchant_day_sales_day", "day"),)

    merchant_id: str = Field(primary_key=True, foreign_key="merchant.id", max_length=40)
    day: dt.date = Field(primary_key=True)
    sales_count: int = 0
    sales_try: Decimal = money_field(nullable=False)
