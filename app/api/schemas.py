"""Request and response schemas of the merchants API. The same models validate requests and
generate the OpenAPI document."""

from __future__ import annotations

import base64
import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from app import validation
from app.db import utcnow

Name = Annotated[str, StringConstraints(min_length=1, max_length=300),
                 AfterValidator(lambda v: validation.plain_text(v, "name"))]
Country = Annotated[str, StringConstraints(min_length=2, max_length=2),
                    AfterValidator(validation.country_code)]
Currency = Annotated[str, StringConstraints(min_length=3, max_length=3),
                     AfterValidator(validation.currency_code)]
Amount = Annotated[Decimal, Field(ge=0, max_digits=16, decimal_places=4)]
IpText = Annotated[str, StringConstraints(max_length=45), AfterValidator(validation.ip_address)]


def _assume_utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


# A query-string time: ISO 8601, read as UTC when it carries no offset.
QueryTime = Annotated[dt.datetime, AfterValidator(_assume_utc)]


def wrap_cursor(position: str) -> str:
    """An opaque page cursor for ``position`` (where the last page ended)."""
    return base64.urlsafe_b64encode(position.encode()).decode().rstrip("=")


def unwrap_cursor(cursor: str) -> str:
    """The position inside a cursor from ``wrap_cursor``; ``ValueError`` for anything else."""
    return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()


class Strict(BaseModel):
    """Unknown fields are refused; nothing is coerced silently."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class MoneyIn(Strict):
    """An amount with its ISO 4217 currency."""

    amount: Amount
    currency: Currency


class PriceRange(Strict):
    """The price range the merchant declares for what it sells."""

    min: Amount
    max: Amount
    currency: Currency

    @model_validator(mode="after")
    def _ordered(self) -> PriceRange:
        if self.min > self.max:
            raise ValueError("min must not exceed max")
        return self


class OwnerIn(Strict):
    """An owner or director. Turkish nationals' identity numbers are checked (TCKN)."""

    full_name: Name
    national_id: Annotated[str, StringConstraints(min_length=4, max_length=32,
                                                  pattern=r"^[A-Za-z0-9\-]+$")]
    birth_date: dt.date
    nationality: Country
    share_pct: Annotated[Decimal, Field(ge=0, le=100, decimal_places=2)] = Decimal(0)
    role: Literal["owner", "director", "ubo"] = "owner"

    @model_validator(mode="after")
    def _identity(self) -> OwnerIn:
        if self.nationality == "TR":
            self.national_id = validation.turkish_national_id(self.national_id)
        today = utcnow().date()
        if self.birth_date > today:
            raise ValueError("birth_date is in the future")
        if self.birth_date < dt.date(1900, 1, 1):
            raise ValueError("birth_date is before 1900")
        return self


def _owners_consistent(owners: list[OwnerIn]) -> list[OwnerIn]:
    total = sum((o.share_pct for o in owners), Decimal(0))
    if total > 100:
        raise ValueError(f"owner shares sum to {total} %, more than 100 %")
    seen: set[str] = set()
    for owner in owners:
        key = owner.national_id.upper()
        if key in seen:
            raise ValueError(f"national_id {owner.national_id} appears more than once")
        seen.add(key)
    return owners


Owners = Annotated[list[OwnerIn], Field(max_length=50), AfterValidator(_owners_consistent)]


class ContactFields(Strict):
    """Fields shared by an application and a change request."""

    website: Annotated[str, StringConstraints(max_length=500)] | None = None
    email: Annotated[str, StringConstraints(max_length=320)] | None = None
    phone: Annotated[str, StringConstraints(max_length=32)] | None = None
    iban: Annotated[str, StringConstraints(max_length=42)] | None = None

    @field_validator("website")
    @classmethod
    def _website(cls, value: str | None) -> str | None:
        return None if value is None else validation.website(value)[0]

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return None if value is None else validation.email(value)

    @field_validator("iban")
    @classmethod
    def _iban(cls, value: str | None) -> str | None:
        return None if value is None else validation.iban(value).compact


class MerchantApplication(ContactFields):
    """``POST /api/v1/merchants``: a merchant's application."""

    legal_name: Name
    trade_name: Name | None = None
    country: Country
    tax_id: Annotated[str, StringConstraints(min_length=2, max_length=40)]
    registration_number: Annotated[str, StringConstraints(max_length=60)] | None = None
    founded_on: dt.date
    capital: MoneyIn
    sector: Annotated[str, StringConstraints(pattern=r"^[0-9]{4}$")] = Field(
        description="ISO 18245 merchant category code (MCC)")
    website: Annotated[str, StringConstraints(max_length=500)]
    email: Annotated[str, StringConstraints(max_length=320)]
    phone: Annotated[str, StringConstraints(max_length=32)]
    iban: Annotated[str, StringConstraints(max_length=42)]
    expected_monthly_turnover: MoneyIn
    declared_prices: PriceRange | None = None
    owners: Owners = Field(min_length=1)
    signup_ip: IpText | None = None

    @field_validator("founded_on")
    @classmethod
    def _founded(cls, value: dt.date) -> dt.date:
        if value > utcnow().date():
            raise ValueError("founded_on is in the future")
        return value

    @model_validator(mode="after")
    def _by_country(self, info: ValidationInfo) -> MerchantApplication:
        try:
            if self.country == "TR":
                self.tax_id = validation.turkish_tax_id(self.tax_id)
        except ValueError as exc:
            raise validation.FieldError("tax_id", str(exc)) from exc
        try:
            self.phone = validation.phone(self.phone, self.country)
        except ValueError as exc:
            raise validation.FieldError("phone", str(exc)) from exc
        return self


IMMUTABLE_FIELDS = ("id", "legal_name", "country", "tax_id", "registration_number",
                    "founded_on", "status", "tier", "created_at", "signup_ip")


class MerchantChangeRequest(ContactFields):
    """``PATCH /api/v1/merchants/{id}``: a change of static data, with the reason for it.
    Identity fields (legal name, country, tax id, registration number, founding date) may not
    change: that is a new application."""

    __immutable_fields__ = IMMUTABLE_FIELDS

    trade_name: Name | None = None
    capital: MoneyIn | None = None
    sector: Annotated[str, StringConstraints(pattern=r"^[0-9]{4}$")] | None = None
    expected_monthly_turnover: MoneyIn | None = None
    declared_prices: PriceRange | None = None
    owners: Owners | None = None
    reason: Annotated[str, StringConstraints(min_length=3, max_length=500)]


class OwnerOut(BaseModel):
    """An owner as the API returns it; the national id is masked (R-D7)."""

    person_id: str
    full_name: str
    national_id_masked: str | None
    birth_date: dt.date | None
    nationality: str | None
    share_pct: Decimal | None
    role: str


class MoneyOut(BaseModel):
    """An amount as a decimal string with its currency."""

    amount: Decimal
    currency: str


class PriceRangeOut(BaseModel):
    """A declared price range."""

    min: Decimal
    max: Decimal
    currency: str


class MerchantOut(BaseModel):
    """A merchant and its application."""

    id: str
    status: str
    tier: str | None
    legal_name: str
    trade_name: str | None
    country: str
    tax_id: str | None
    registration_number: str | None
    founded_on: dt.date | None
    capital: MoneyOut | None
    sector: str | None
    website: str | None
    website_domain: str | None
    email: str | None
    phone: str | None
    iban: str | None
    expected_monthly_turnover: MoneyOut | None
    declared_prices: PriceRangeOut | None
    owners: list[OwnerOut]
    frozen: bool
    latest_assessment_id: str | None
    created_at: dt.datetime
    updated_at: dt.datetime


class MerchantListQuery(Strict):
    """Filters and paging of ``GET /api/v1/merchants``."""

    status: Literal["applied", "in_review", "info_requested", "approved", "rejected",
                    "suspended"] | None = None
    tier: Literal["low", "medium", "high"] | None = None
    created_from: QueryTime | None = Field(default=None, description="inclusive, ISO 8601")
    created_to: QueryTime | None = Field(default=None, description="exclusive, ISO 8601")
    limit: int = Field(default=50, ge=1, le=200)
    cursor: Annotated[str, StringConstraints(max_length=200)] | None = None



class MerchantPage(BaseModel):
    """One page of merchants; pass ``next_cursor`` back as ``cursor`` for the next."""

    items: list[MerchantOut]
    next_cursor: str | None


class ChangeOut(BaseModel):
    """One recorded change of static data."""

    field: str
    old_value: str | None
    new_value: str | None
    actor: str
    reason: str | None
    at: dt.datetime


class MerchantChangeResult(BaseModel):
    """The merchant after a change, and the changes recorded."""

    merchant: MerchantOut
    changes: list[ChangeOut]
