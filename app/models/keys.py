"""Merchant API keys: only an HMAC of the token is stored, with the pepper version used."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.models.base import created_field, json_field, money_field, when_field


class ApiKey(SQLModel, table=True):
    """One API token of a merchant, bound to an IP whitelist and back URLs (R-B1, R-B3)."""

    __tablename__ = "api_key"

    id: str = Field(primary_key=True, max_length=40)  # the public key id inside the token
    merchant_id: str = Field(foreign_key="merchant.id", index=True, max_length=40)
    name: str = Field(max_length=120)
    environment: str = Field(max_length=4)  # live | test
    prefix: str = Field(max_length=40)
    token_hash: str = Field(max_length=64)
    pepper_version: int = 1
    ip_whitelist: list = json_field(default_factory=list)
    back_urls: list = json_field(default_factory=list)
    status: str = Field(default="active", max_length=20)  # active | revoked
    created_at: dt.datetime = created_field()
    created_by: str = Field(default="system", max_length=120)
    activates_at: dt.datetime = created_field()
    expires_at: dt.datetime | None = when_field()
    revoked_at: dt.datetime | None = when_field()
    revoked_reason: str | None = Field(default=None, max_length=200)
    rotated_to: str | None = Field(default=None, max_length=40)
    grace_until: dt.datetime | None = when_field()
    max_amount_per_tx: Decimal | None = money_field()
    daily_amount_limit: Decimal | None = money_field()
    limit_currency: str | None = Field(default=None, max_length=3)
    allowed_operations: list = json_field(default_factory=list)
    # A requested limit increase (R-E5) and when it takes effect; until then the columns above
    # hold the strictest of the old and the requested limits.
    raised_limits: dict | None = Field(default=None, sa_type=sa.JSON, nullable=True)
    raised_limits_at: dt.datetime | None = when_field()
    wide_ranges_approved_by: str | None = Field(default=None, max_length=120)
    last_used_at: dt.datetime | None = when_field()
    last_used_ip: str | None = Field(default=None, max_length=45)
    use_count: int = 0


class SpendTotal(SQLModel, table=True):
    """A running total of accepted amounts (R-E5; SAMA 004 §15 c, g): one per subject
    (``key:<id>`` or ``merchant:<id>``), period (a UTC day ``2026-11-22`` or month ``2026-11``)
    and currency.

    Checked and added in the same transaction as the verification events it counts, under the
    audit chain lock (``app.audit.spend``), so no two requests can both take the last of a limit.
    """

    __tablename__ = "spend_total"

    subject: str = Field(primary_key=True, max_length=60)
    period: str = Field(primary_key=True, max_length=10)
    currency: str = Field(primary_key=True, max_length=3)
    amount: Decimal = money_field(nullable=False)
    count: int = 0
    updated_at: dt.datetime = created_field()


class SpendLease(SQLModel, table=True):
    """How much of one running total's limit the hosts have taken, in all (R-E5; SAMA 004
    §15 g; issue #14 item 3): one row per subject, period key and currency, like
    :class:`SpendTotal`.

    Each host charges from a slice it leased (``app.dataplane.spend``); a lease is granted by a
    conditional update that never takes ``leased`` past the charge's limit, and a host gives
    back what it did not spend. So the hosts together can never accept more than the limit.
    Seeded, when the row is created, with the period's settled ``spend_total``.
    """

    __tablename__ = "spend_lease"

    subject: str = Field(primary_key=True, max_length=60)
    period: str = Field(primary_key=True, max_length=10)
    currency: str = Field(primary_key=True, max_length=3)
    leased: Decimal = money_field(nullable=False)
    updated_at: dt.datetime = created_field()
