"""Request and response schemas of the risk API: assessments, transactions, the blacklist."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    Discriminator,
    Field,
    RootModel,
    StringConstraints,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)

from api_keys.cards import InvalidCardNumber, mask_pan, scrub_pans
from app import validation
from app.api.schemas import Country, Currency, IpText, Strict
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
    trigger: str = Field(description="Why it ran: application_submitted, ttl_expired, api, "
                                     "staff, change:<fields>, lists.changed, ...")
    expires_at: dt.datetime | None = Field(
        description="When the scheduler re-runs it (the policy's TTL for its tier, R-D1); "
                    "null: it stands until the data changes")


Text = Annotated[str, StringConstraints(min_length=1, max_length=120,
                                        pattern=r"^[^\x00-\x1f\x7f]+$")]


class TransactionIn(Strict):
    """One payment transaction. Send ``card_number`` (masked and fingerprinted on arrival,
    never stored) or a ``card_fingerprint`` computed by the caller."""

    merchant_id: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    external_id: Text
    type: Literal["sale", "refund", "chargeback", "transfer"]
    amount: Annotated[Decimal, Field(gt=0, max_digits=16, decimal_places=4)]
    currency: Currency
    occurred_at: dt.datetime
    card_number: Annotated[str, StringConstraints(max_length=64)] | None = None
    card_fingerprint: Annotated[str, StringConstraints(
        pattern=r"^[A-Za-z0-9_\-]{16,64}$")] | None = None
    customer_ref: Text | None = None
    client_ip: IpText | None = None
    description: Annotated[str, StringConstraints(max_length=500)] | None = None
    # The payment account behind the transaction (R-C10 account scenarios); all optional.
    account_ref: Text | None = None
    account_opened_at: dt.datetime | None = None
    account_type: Literal["personal", "business"] | None = None
    account_holder_birth_year: Annotated[int, Field(ge=1900, le=2100)] | None = None
    counterparty_ref: Text | None = None
    account_email: Annotated[str, StringConstraints(max_length=320),
                             AfterValidator(validation.email)] | None = None
    account_phone: Annotated[str, StringConstraints(max_length=40),
                             AfterValidator(lambda v: validation.phone(v, "TR"))] | None = None
    ip_country: Country | None = None
    device_id: Text | None = Field(default=None, description="The payer's device id, matched "
                                   "against the blacklist (R-E2)")

    @field_validator("external_id", "customer_ref", "description", "account_ref",
                     "counterparty_ref", "device_id")
    @classmethod
    def _no_card_numbers(cls, value: str | None) -> str | None:
        """Card numbers in free text are masked on arrival (issue #13 item 4), so a retried
        ``external_id`` finds the stored (masked) one."""
        return scrub_pans(value) if value else value

    @field_validator("occurred_at", "account_opened_at")
    @classmethod
    def _aware_past(cls, value: dt.datetime | None, info: ValidationInfo) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"{info.field_name} needs a time zone (e.g. 2026-11-20T10:00:00Z)")
        if value > utcnow() + FUTURE_TOLERANCE:
            raise ValueError(f"{info.field_name} is in the future")
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
    device_id: str | None = None
    account_ref: str | None = None
    account_type: str | None = None
    counterparty_ref: str | None = None
    phone_country: str | None = Field(default=None, description="the country of the account's "
                                      "phone; the e-mail and phone are stored only as digests")
    ip_country: str | None = None
    duplicate: bool = Field(description="true when this external_id was already recorded "
                                        "for the merchant; the stored one is returned")


class RefusedTransaction(BaseModel):
    """A transaction of a batch that was not recorded: a blacklisted attribute (R-E2)."""

    index: int = Field(description="position in the request's ``transactions``")
    merchant_id: str
    external_id: str
    code: Literal["blacklisted"]
    field: str = Field(description="the request field that matched")
    kind: str = Field(description="the blacklist entry's kind")
    entry_id: str


class TransactionBatchOut(BaseModel):
    """The outcome of a batch: the recorded (and duplicate) transactions in request order,
    and the refused ones with their position."""

    created: int
    duplicates: int
    items: list[TransactionOut]
    refused: list[RefusedTransaction] = Field(default_factory=list)


BlacklistKind = Literal["iban", "email", "phone", "domain", "ip", "national_id", "device",
                        "card", "customer"]


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
