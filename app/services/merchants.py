"""Merchant applications and changes of their static data.

Every change of an IBAN, website, owner or contact point is kept as history (old value, new
value, who, when, why); the IBAN change-frequency check reads that history (R-A3), and the
merchant is told of each change with the old and new values (R-E4).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlmodel import Session, select

from app.api.schemas import MerchantApplication, MoneyIn, OwnerIn
from app.audit.trail import Actor, record
from app.models import BankAccount, Merchant, Ownership, Person
from app.security import Keyring, mask_identifier
from app.services.personal_data import (
    data_keys,
    heal_legacy_national_id,
    name_birth_index,
    name_index,
    national_id_index,
    new_contact_point,
    seal_merchant_contacts,
    seal_person,
)
from app.validation import iban as parse_iban
from app.validation import website


class MerchantNotFound(LookupError):
    """No merchant has that id."""


def get_merchant(session: Session, merchant_id: str) -> Merchant:
    """The merchant with ``merchant_id`` or ``MerchantNotFound``."""
    merchant = session.get(Merchant, merchant_id)
    if merchant is None:
        raise MerchantNotFound(merchant_id)
    return merchant


def _money(value: MoneyIn | None) -> tuple[Decimal | None, str | None]:
    return (value.amount, value.currency) if value else (None, None)


def _add_contacts(session: Session, merchant: Merchant, application: MerchantApplication,
                  now: dt.datetime) -> None:
    values = {"email": application.email, "phone": application.phone,
              "website": merchant.website, "domain": merchant.website_domain,
              "signup_ip": merchant.signup_ip}
    keys = data_keys(session)
    for kind, value in values.items():
        if value:
            session.add(new_contact_point(merchant_id=merchant.id, kind=kind, value=value,
                                          added_at=now, keys=keys))


def _add_iban(session: Session, merchant: Merchant, value: str, actor: Actor,
              now: dt.datetime, reason: str | None) -> None:
    parsed = parse_iban(value)
    session.add(BankAccount(merchant_id=merchant.id, iban=parsed.compact,
                            country=parsed.country_code, bank_code=parsed.bank_code or None,
                            added_at=now, added_by=actor.name, reason=reason))


def _add_owners(session: Session, merchant: Merchant, owners: list[OwnerIn],
                keyring: Keyring, now: dt.datetime) -> None:
    keys = data_keys(session)
    for owner in owners:
        id_index = national_id_index(owner.national_id, keys)
        heal_legacy_national_id(session, owner.national_id, keyring=keyring, keys=keys)
        # The same person again only when name and birth date agree too: an id on file under
        # another name is stored as submitted (and screened so), and the shared-ownership
        # check reports the conflict (issue #13 item 2).
        person = session.exec(select(Person).where(
            Person.national_id_index == id_index, Person.erased_at.is_(None),
            Person.name_index == name_index(owner.full_name, keys),
            Person.name_birth_index == name_birth_index(owner.full_name, owner.birth_date,
                                                        keys))).first()
        if person is None:
            person = seal_person(
                Person(national_id_masked=mask_identifier(owner.national_id),
                       nationality=owner.nationality, created_at=now),
                full_name=owner.full_name, birth_date=owner.birth_date,
                national_id=owner.national_id, keys=keys)
            session.add(person)
            session.flush()
        session.add(Ownership(merchant_id=merchant.id, person_id=person.id, role=owner.role,
                              share_pct=owner.share_pct, added_at=now))


def submit_application(session: Session, *, application: MerchantApplication, actor: Actor,
                       keyring: Keyring, now: dt.datetime) -> Merchant:
    """Store a validated application as a merchant in status ``applied``; once the caller
    commits, the job ``assess_application`` assesses it (``app.jobs.assessments``)."""
    site, domain = website(application.website)
    capital, capital_ccy = _money(application.capital)
    turnover, turnover_ccy = _money(application.expected_monthly_turnover)
    prices = application.declared_prices
    merchant = Merchant(
        legal_name=application.legal_name, trade_name=application.trade_name,
        country=application.country, tax_id=application.tax_id,
        registration_number=application.registration_number,
        founded_on=application.founded_on, capital_amount=capital, capital_currency=capital_ccy,
        sector=application.sector, website=site, website_domain=domain,
        iban=application.iban,
        expected_turnover_amount=turnover, expected_turnover_currency=turnover_ccy,
        declared_price_min=prices.min if prices else None,
        declared_price_max=prices.max if prices else None,
        declared_price_currency=prices.currency if prices else None,
        signup_ip=application.signup_ip, created_by=actor.name, created_at=now, updated_at=now)
    seal_merchant_contacts(merchant, email=application.email, phone=application.phone,
                           keys=data_keys(session))
    session.add(merchant)
    session.flush()
    _add_iban(session, merchant, application.iban, actor, now, "application")
    _add_contacts(session, merchant, application, now)
    _add_owners(session, merchant, application.owners, keyring, now)
    record(session, actor.event("merchant.applied", target_type="merchant",
                                target_id=merchant.id, merchant_id=merchant.id,
                                details={"after": {"legal_name": merchant.legal_name,
                                                   "country": merchant.country,
                                                   "website": site, "iban": merchant.iban}}))
    session.flush()
    from app.jobs import enqueue_after_commit
    # Assessed by a worker once this is committed (R-D1): the lookups stay off the request.
    enqueue_after_commit(session, "assess_application", merchant_id=merchant.id)
    return merchant
