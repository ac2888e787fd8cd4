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
from app.db import as_utc, utcnow

Name = Annotated[str, StringConstraints(min_length=1, max_length=300),
                 AfterValidator(lambda v: validation.plain_text(v, "name"))]
Country = Annotated[str, StringConstraints(min_length=2, max_length=2),
                    AfterValidator(validation.country_code)]
Currency = Annotated[str, StringConstraints(min_length=3, max_length=3),
                     AfterValidator(validation.currency_code)]
Amount = Annotated[Decimal, Field(ge=0, max_digits=16, decimal_places=4)]
# An incorporation date before this is a typo (year 1, 0202…), not a very old company.
EARLIEST_FOUNDING = dt.date(1800, 1, 1)
IpText = Annotated[str, StringConstraints(max_length=45), AfterValidator(validation.ip_address)]


# A query-string time: ISO 8601, read as UTC when it carries no offset.
QueryTime = Annotated[dt.datetime, AfterValidator(as_utc)]


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
    """An owner or director. Turkish nationals' identity numbers are checked (TCKN).

    ``nationality`` comes before ``national_id`` so that the identity number is checked with
    the other fields, each in its own validator: a 422 names every bad field at once."""

    full_name: Name
    nationality: Country
    national_id: Annotated[str, StringConstraints(min_length=4, max_length=32,
                                                  pattern=r"^[A-Za-z0-9\-]+$")]
    birth_date: dt.date
    share_pct: Annotated[Decimal, Field(ge=0, le=100, decimal_places=2)] = Decimal(0)
    role: Literal["owner", "director", "ubo"] = "owner"

    @field_validator("national_id")
    @classmethod
    def _identity(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("nationality") == "TR":
            return validation.turkish_national_id(value)
        return value

    @field_validator("birth_date")
    @classmethod
    def _born(cls, value: dt.date) -> dt.date:
        if value > utcnow().date():
            raise ValueError("birth_date is in the future")
        if value < dt.date(1900, 1, 1):
            raise ValueError("birth_date is before 1900")
        return value


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


Website = Annotated[str, StringConstraints(max_length=500),
                    AfterValidator(lambda v: validation.website(v)[0])]
Email = Annotated[str, StringConstraints(max_length=320), AfterValidator(validation.email)]
PhoneText = Annotated[str, StringConstraints(max_length=32)]
Iban = Annotated[str, StringConstraints(max_length=42),
                 AfterValidator(lambda v: validation.iban(v).compact)]


def _phone_in(value: str, country: str | None) -> str:
    """``value`` in E.164, read as a national number of ``country``. With no country to read
    it in (the country field is itself bad), the number is left for the next attempt."""
    return value if country is None else validation.phone(value, country)


class ContactFields(Strict):
    """Fields shared by an application and a change request. A change request's phone is
    read in the merchant's country, which the operation passes as validation context
    (``{"country": ...}``) so that it is checked with the other fields."""

    website: Website | None = None
    email: Email | None = None
    phone: PhoneText | None = None
    iban: Iban | None = None

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None, info: ValidationInfo) -> str | None:
        country = (info.context or {}).get("country")
        return None if value is None else _phone_in(value, country)


class MerchantApplication(Strict):
    """``POST /api/v1/merchants``: a merchant's application.

    Fields are declared (and so validated) in an order where ``country`` precedes the fields
    read by country (tax number, phone): every field is checked in its own validator, so a
    422 names every bad field at once, never the tax number only after the rest."""

    legal_name: Name
    trade_name: Name | None = None
    country: Country
    tax_id: Annotated[str, StringConstraints(min_length=2, max_length=40)]
    registration_number: Annotated[str, StringConstraints(max_length=60)] | None = None
    founded_on: dt.date
    capital: MoneyIn
    sector: Annotated[str, StringConstraints(pattern=r"^[0-9]{4}$")] = Field(
        description="ISO 18245 merchant category code (MCC)")
    website: Website
    email: Email
    phone: PhoneText
    iban: Iban
    expected_monthly_turnover: MoneyIn
    declared_prices: PriceRange | None = None
    owners: Owners = Field(min_length=1)
    signup_ip: IpText | None = None

    @field_validator("founded_on")
    @classmethod
    def _founded(cls, value: dt.date) -> dt.date:
        if value > utcnow().date():
            raise ValueError("founded_on is in the future")
        if value < EARLIEST_FOUNDING:
            raise ValueError(f"founded_on is before {EARLIEST_FOUNDING.isoformat()}")
        return value

    @field_validator("tax_id")
    @classmethod
    def _tax_id(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("country") == "TR":
            return validation.turkish_tax_id(value)
        return value

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str, info: ValidationInfo) -> str:
        return _phone_in(value, info.data.get("country"))


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
