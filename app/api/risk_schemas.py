"""Request and response schemas of the risk API: assessments, transactions, the blacklist."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    Discriminator,
    Field,
    RootModel,
    StringConstraints,
    Tag,
    field_validator,
    model_validator,
)

from api_keys.cards import InvalidCardNumber, mask_pan
from app.api.schemas import Currency, IpText, Strict
from app.db import utcnow

MAX_BATCH = 1000
FUTURE_TOLERANCE = dt.timedelta(minutes=5)


class CheckOut(BaseModel):
    """One check of an assessment: its status, points, evidence and explanation."""

    code: str
    status: Literal["pass", "flag", "fail", "unknown"]
    points: int
    evidence: dict[str, Any]
    explanation: str


class AssessmentOut(BaseModel):
    """A stored risk assessment (DESIGN.md, "An assessment")."""

    id: str
    merchant_id: str
    policy_version: str
    score: int = Field(ge=0, le=100)
    tier: Literal["low", "medium", "high"]
    recommended_action: Literal["approve", "approve_with_limits", "request_info",
                                "manual_review", "reject"]
    checks: list[CheckOut]
    created_at: dt.datetime


Text = Annotated[str, StringConstraints(min_length=1, max_length=120,
                                        pattern=r"^[^\x00-\x1f\x7f]+$")]


class TransactionIn(Strict):
    """One payment transaction. Send ``card_number`` (masked and fingerprinted on arrival,
    never stored) or a ``card_fingerprint`` computed by the caller."""

    merchant_id: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    external_id: Text
    type: Literal["sale", "refund", "chargeback"]
    amount: Annotated[Decimal, Field(gt=0, max_digits=16, decimal_places=4)]
    currency: Currency
    occurred_at: dt.datetime
    card_number: Annotated[str, StringConstraints(max_length=64)] | None = None
    card_fingerprint: Annotated[str, StringConstraints(
        pattern=r"^[A-Za-z0-9_\-]{16,64}$")] | None = None
    customer_ref: Text | None = None
    client_ip: IpText | None = None
    description: Annotated[str, StringConstraints(max_length=500)] | None = None

    @field_validator("occurred_at")
    @classmethod
    def _aware_past(cls, value: dt.datetime) -> dt.datetime:
        if value.tzinfo is None:
            raise ValueError("occurred_at needs a time zone (e.g. 2026-11-20T10:00:00Z)")
        if value > utcnow() + FUTURE_TOLERANCE:
            raise ValueError("occurred_at is in the future")
        return value.astimezone(dt.UTC)

    @field_validator("card_number")
    @classmethod
    def _pan(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                mask_pan(value)
            except InvalidCardNumber as exc:
                raise ValueError(str(exc)) from None  # the message never holds the digits
        return value

    @model_validator(mode="after")
    def _one_card(self) -> TransactionIn:
        if self.card_number is not None and self.card_fingerprint is not None:
            raise ValueError("send card_number or card_fingerprint, not both")
        return self


class TransactionBatch(Strict):
    """Up to 1,000 transactions in one request."""

    transactions: Annotated[list[TransactionIn], Field(min_length=1, max_length=MAX_BATCH)]


def _shape(value: Any) -> str:
    return "@batch" if isinstance(value, dict) and "transactions" in value else "@one"


class TransactionSubmission(RootModel):
    """``POST /api/v1/transactions``: one transaction, or ``{"transactions": [...]}``."""

    root: Annotated[Annotated[TransactionIn, Tag("@one")] | Annotated[TransactionBatch,
                                                                      Tag("@batch")],
                    Discriminator(_shape)]


class TransactionOut(BaseModel):
    """A stored transaction; the card appears only masked (first 6 / last 4)."""

    id: str
    merchant_id: str
    external_id: str
    type: str
    amount: Decimal
    currency: str
    amount_try: Decimal | None
    occurred_at: dt.datetime
    card_masked: str | None
    card_fingerprint: str | None
    customer_ref: str | None
    client_ip: str | None
    duplicate: bool = Field(description="true when this external_id was already recorded "
                                        "for the merchant; the stored one is returned")


class TransactionBatchOut(BaseModel):
    """The outcome of a batch, in request order."""

    created: int
    duplicates: int
    items: list[TransactionOut]


BlacklistKind = Literal["iban", "email", "phone", "domain", "ip", "national_id", "device"]


class BlacklistIn(Strict):
    """A value to blacklist (R-E2)."""

    kind: BlacklistKind
    value: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    reason: Annotated[str, StringConstraints(min_length=3, max_length=500)]


class BlacklistOut(BaseModel):
    """A blacklist entry (a national id only masked)."""

    id: str
    kind: str
    value: str
    reason: str
    added_by: str
    added_at: dt.datetime
    removed_at: dt.datetime | None
    removed_by: str | None


class BlacklistQuery(Strict):
    """Filters of ``GET /api/v1/blacklist``."""

    kind: BlacklistKind | None = None
    include_removed: bool = False
    limit: int = Field(default=100, ge=1, le=500)


class BlacklistRemoval(Strict):
    """Why an entry is removed (unblocking needs a reason, R-E3)."""

    reason: Annotated[str, StringConstraints(min_length=3, max_length=500)]


class BlacklistPage(BaseModel):
    """Blacklist entries, newest first."""

    items: list[BlacklistOut]
