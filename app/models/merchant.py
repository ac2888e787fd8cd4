"""The merchant aggregate: the application and its lifecycle, owners, IBANs, contacts, history."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.crypto.sealed import SealedText
from app.db import utcnow
from app.models.base import created_field, id_field, json_field, money_field, when_field


class MerchantStatus(StrEnum):
    """Where an application stands. Only ``approved`` merchants may hold working API keys."""

    applied = "applied"
    in_review = "in_review"
    info_requested = "info_requested"
    approved = "approved"
    rejected = "rejected"
    suspended = "suspended"


class Merchant(SQLModel, table=True):
    """A merchant, from its application onwards. Contact fields hold the current values;
    their history sits in ``merchant_change`` and ``contact_point``."""

    __tablename__ = "merchant"
    __table_args__ = (sa.Index("ix_merchant_created", "created_at", "id"),)

    id: str = id_field("mer")
    legal_name: str = Field(max_length=300)
    trade_name: str | None = Field(default=None, max_length=300)
    country: str = Field(max_length=2, index=True)
    tax_id: str | None = Field(default=None, max_length=40, index=True)
    registration_number: str | None = Field(default=None, max_length=60)
    founded_on: dt.date | None = None
    capital_amount: Decimal | None = money_field()
    capital_currency: str | None = Field(default=None, max_length=3)
    sector: str | None = Field(default=None, max_length=4)
    website: str | None = Field(default=None, max_length=500)
    website_domain: str | None = Field(default=None, max_length=255, index=True)
    # The contact e-mail and phone are a natural person's data: sealed like a person's fields
    # (bound to this row), opened only through ``app.services.personal_data`` (R-D7, R-B4).
    email_sealed: str | None = Field(default=None, sa_type=SealedText)
    phone_sealed: str | None = Field(default=None, sa_type=SealedText)
    iban: str | None = Field(default=None, max_length=34)
    expected_turnover_amount: Decimal | None = money_field()
    expected_turnover_currency: str | None = Field(default=None, max_length=3)
    declared_price_min: Decimal | None = money_field()
    declared_price_max: Decimal | None = money_field()
    declared_price_currency: str | None = Field(default=None, max_length=3)
    signup_ip: str | None = Field(default=None, max_length=45)
    status: str = Field(default=MerchantStatus.applied, max_length=20, index=True)
    tier: str | None = Field(default=None, max_length=10, index=True)
    frozen: bool = False
    frozen_at: dt.datetime | None = when_field()
    activated_at: dt.datetime | None = when_field()
    latest_assessment_id: str | None = Field(default=None, max_length=40)
    # When the relationship ended (status rejected or suspended; cleared when approved again)
    # and when retention erased its personal data (R-D7, ``app.services.retention``).
    relationship_ended_at: dt.datetime | None = when_field(index=True)
    personal_data_erased_at: dt.datetime | None = when_field()
    limits: dict = json_field()
    created_by: str = Field(default="system", max_length=120)
    created_at: dt.datetime = created_field()
    updated_at: dt.datetime = created_field()


ENDED_STATUSES = (MerchantStatus.rejected, MerchantStatus.suspended)


@sa.event.listens_for(Merchant.status, "set")
def _relationship_end(merchant: Merchant, value: str, old: object, _initiator: object) -> None:
    """Stamp when a merchant's relationship ends, whichever service changes its status: the
    retention period counts from there (R-D7)."""
    if value == old:
        return
    if value in ENDED_STATUSES:
        merchant.relationship_ended_at = utcnow()
    else:
        merchant.relationship_ended_at = None


class Person(SQLModel, table=True):
    """A natural person who owns or directs merchants (R-D7, R-B4). Name, birth date and full
    national id are sealed (AES-GCM under ``KYB_DATA_KEYS``, bound to this row and field); the
    lookups that link the same person across merchants use keyed blind indexes, and the
    national id is shown masked. A purged person keeps only a tombstone (``erased_at``)."""

    __tablename__ = "person"
    __table_args__ = (sa.Index("ix_person_name_birth", "name_birth_index"),)

    id: str = id_field("per")
    full_name_sealed: str | None = Field(default=None, sa_type=SealedText)
    birth_date_sealed: str | None = Field(default=None, sa_type=SealedText)
    national_id_sealed: str | None = Field(default=None, sa_type=SealedText)
    name_index: str | None = Field(default=None, max_length=64)
    name_birth_index: str | None = Field(default=None, max_length=64)
    national_id_index: str | None = Field(default=None, max_length=64, index=True)
    national_id_masked: str | None = Field(default=None, max_length=40)
    nationality: str | None = Field(default=None, max_length=2)
    created_at: dt.datetime = created_field()
    erased_at: dt.datetime | None = when_field()


class Ownership(SQLModel, table=True):
    """A person's link to a merchant: owner or director, with the share held."""

    __tablename__ = "ownership"
    __table_args__ = (sa.Index("ix_ownership_person", "person_id", "merchant_id"),)

    id: str = id_field("own")
    merchant_id: str = Field(foreign_key="merchant.id", index=True, max_length=40)
    person_id: str = Field(foreign_key="person.id", max_length=40)
    role: str = Field(default="owner", max_length=20)
    share_pct: Decimal | None = money_field()
    added_at: dt.datetime = created_field()
    removed_at: dt.datetime | None = when_field()


class BankAccount(SQLModel, table=True):
    """A payout IBAN of a merchant; the current one has no ``replaced_at``. The rows are the
    IBAN history that the change-frequency check counts (R-A3)."""

    __tablename__ = "bank_account"

    id: str = id_field("iba")
    merchant_id: str = Field(foreign_key="merchant.id", index=True, max_length=40)
    iban: str = Field(max_length=34, index=True)
    country: str = Field(max_length=2)
    bank_code: str | None = Field(default=None, max_length=20)
    added_at: dt.datetime = created_field()
    replaced_at: dt.datetime | None = when_field()
    added_by: str = Field(default="system", max_length=120)
    reason: str | None = Field(default=None, max_length=500)


class ContactPoint(SQLModel, table=True):
    """An e-mail, phone, website domain or signup IP of a merchant, normalised for linking.

    An e-mail or phone is sealed (``value_sealed``, bound to this row) and linked through a
    keyed blind index in ``value_key``; ``value`` then holds only a mask. Websites, domains and
    sign-up IPs are in clear (``app.services.personal_data.new_contact_point``)."""

    __tablename__ = "contact_point"
    __table_args__ = (sa.Index("ix_contact_kind_value", "kind", "value_key"),)

    id: str = id_field("cpt")
    merchant_id: str = Field(foreign_key="merchant.id", index=True, max_length=40)
    kind: str = Field(max_length=20)  # email | phone | website | domain | signup_ip
    value: str = Field(max_length=500)
    value_key: str = Field(max_length=500)
    value_sealed: str | None = Field(default=None, sa_type=SealedText)
    added_at: dt.datetime = created_field()
    removed_at: dt.datetime | None = when_field()


class MerchantChange(SQLModel, table=True):
    """One change of a merchant's static data: old value, new value, who, when, why (R-E4)."""

    __tablename__ = "merchant_change"
    __table_args__ = (sa.Index("ix_change_merchant_field", "merchant_id", "field", "at"),)

    id: str = id_field("chg")
    merchant_id: str = Field(foreign_key="merchant.id", max_length=40)
    field: str = Field(max_length=40)
    old_value: str | None = Field(default=None, sa_type=sa.Text)
    new_value: str | None = Field(default=None, sa_type=sa.Text)
    actor: str = Field(max_length=120)
    reason: str | None = Field(default=None, max_length=500)
    request_id: str | None = Field(default=None, max_length=64)
    at: dt.datetime = created_field()


class MerchantNote(SQLModel, table=True):
    """A reviewer's note on a merchant."""

    __tablename__ = "merchant_note"

    id: str = id_field("not")
    merchant_id: str = Field(foreign_key="merchant.id", index=True, max_length=40)
    author: str = Field(max_length=120)
    body: str = Field(sa_type=sa.Text)
    created_at: dt.datetime = created_field()
