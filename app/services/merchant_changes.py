"""Changes of a merchant's static data after its application (``PATCH``), and how merchants are
read back for the API."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from app.api.schemas import (
    MerchantChangeRequest,
    MerchantListQuery,
    MerchantOut,
    unwrap_cursor,
    wrap_cursor,
)
from app.audit.trail import Actor, record
from app.models import BankAccount, ContactPoint, Merchant, MerchantChange, Ownership, Person
from app.security import Keyring
from app.services.merchants import _add_iban, _add_owners
from app.services.notifications import notify_merchant
from app.services.personal_data import (
    MERCHANT_FIELDS,
    SYSTEM,
    Contacts,
    Disclosure,
    data_keys,
    mask_contact,
    new_contact_point,
    seal_merchant_contacts,
)
from app.validation import FieldError, website

# Fields whose change re-runs checks (R-D1): which checks each one affects.
AFFECTED_CHECKS = {
    "iban": ("iban_valid", "iban_change_frequency", "shared_ownership", "high_risk_country",
             "blacklist"),
    "website": ("domain_age", "domain_dns", "price_ticket_mismatch", "shared_ownership",
                "blacklist"),
    "email": ("domain_dns", "disposable_email", "shared_ownership", "blacklist"),
    "phone": ("shared_ownership", "blacklist"),
    "owners": ("shared_ownership", "sanctions_pep", "high_risk_country"),
    "trade_name": ("sanctions_pep",),
    "declared_prices": ("price_ticket_mismatch",),
    "capital": ("shared_ownership",),
}


def _owners_text(session: Session, merchant_id: str) -> str:
    """The current owners as the change history and the audit trail keep them: person ids and
    masked national ids, never names (R-D7: the trail cannot be purged, so it holds none)."""
    rows = session.exec(
        select(Person.id, Person.national_id_masked, Ownership.share_pct, Ownership.role)
        .join(Person, Person.id == Ownership.person_id)
        .where(Ownership.merchant_id == merchant_id, Ownership.removed_at.is_(None))
        .order_by(Person.id)
    ).all()
    return "; ".join(f"{n} ({m}, {s}% {r})" for n, m, s, r in rows)


def _money_text(amount: Decimal | None, currency: str | None) -> str | None:
    return None if amount is None else f"{amount.normalize():f} {currency}"


def _set_contact(session: Session, merchant: Merchant, kind: str, value: str | None,
                 now: dt.datetime) -> None:
    for point in session.exec(select(ContactPoint).where(
            ContactPoint.merchant_id == merchant.id, ContactPoint.kind == kind,
            ContactPoint.removed_at.is_(None))).all():
        point.removed_at = now
        session.add(point)
    if value:
        session.add(new_contact_point(merchant_id=merchant.id, kind=kind, value=value,
                                      added_at=now, keys=data_keys(session)))


def _apply_contact_changes(session: Session, merchant: Merchant, change: MerchantChangeRequest,
                           actor: Actor, current: Contacts,
                           now: dt.datetime) -> list[tuple[str, Any, Any]]:
    """The e-mail and phone changes, with their clear old and new values (see ``_kept``)."""
    diffs = []
    for name in ("email", "phone"):
        new = getattr(change, name)
        old = getattr(current, name)
        if new is not None and new != old:
            if name == "phone":
                from app.validation import phone
                try:
                    new = phone(new, merchant.country)
                except ValueError as exc:
                    raise FieldError("phone", str(exc)) from exc
                if new == old:
                    continue
            diffs.append((name, old, new))
            seal_merchant_contacts(merchant, keys=data_keys(session), **{name: new})
            _set_contact(session, merchant, name, new, now)
    if change.website is not None and change.website != merchant.website:
        site, domain = website(change.website)
        diffs.append(("website", merchant.website, site))
        merchant.website, merchant.website_domain = site, domain
        _set_contact(session, merchant, "website", site, now)
        _set_contact(session, merchant, "domain", domain, now)
    if change.iban is not None and change.iban != merchant.iban:
        diffs.append(("iban", merchant.iban, change.iban))
        current = session.exec(select(BankAccount).where(
            BankAccount.merchant_id == merchant.id, BankAccount.replaced_at.is_(None))).all()
        for account in current:
            account.replaced_at = now
            session.add(account)
        _add_iban(session, merchant, change.iban, actor, now, change.reason)
        merchant.iban = change.iban
    return diffs


def _apply_business_changes(session: Session, merchant: Merchant,
                            change: MerchantChangeRequest, keyring: Keyring,
                            now: dt.datetime) -> list[tuple[str, Any, Any]]:
    diffs = []
    if change.trade_name is not None and change.trade_name != merchant.trade_name:
        diffs.append(("trade_name", merchant.trade_name, change.trade_name))
        merchant.trade_name = change.trade_name
    if change.sector is not None and change.sector != merchant.sector:
        diffs.append(("sector", merchant.sector, change.sector))
        merchant.sector = change.sector
    pairs = (("capital", "capital_amount", "capital_currency", change.capital),
             ("expected_monthly_turnover", "expected_turnover_amount",
              "expected_turnover_currency", change.expected_monthly_turnover))
    for name, amount_attr, ccy_attr, value in pairs:
        if value is None:
            continue
        old = _money_text(getattr(merchant, amount_attr), getattr(merchant, ccy_attr))
        new = _money_text(value.amount, value.currency)
        if old != new:
            diffs.append((name, old, new))
            setattr(merchant, amount_attr, value.amount)
            setattr(merchant, ccy_attr, value.currency)
    if change.declared_prices is not None:
        p = change.declared_prices
        old = (None if merchant.declared_price_min is None else
               f"{merchant.declared_price_min.normalize():f}-"
               f"{merchant.declared_price_max.normalize():f} {merchant.declared_price_currency}")
        new = f"{p.min.normalize():f}-{p.max.normalize():f} {p.currency}"
        if old != new:
            diffs.append(("declared_prices", old, new))
            merchant.declared_price_min, merchant.declared_price_max = p.min, p.max
            merchant.declared_price_currency = p.currency
    if change.owners is not None:
        old = _owners_text(session, merchant.id)
        for link in session.exec(select(Ownership).where(
                Ownership.merchant_id == merchant.id, Ownership.removed_at.is_(None))).all():
            link.removed_at = now
            session.add(link)
        session.flush()
        _add_owners(session, merchant, change.owners, keyring, now)
        session.flush()
        new = _owners_text(session, merchant.id)
        if old != new:
            diffs.append(("owners", old, new))
    return diffs


def change_merchant(session: Session, *, merchant: Merchant, change: MerchantChangeRequest,
                    actor: Actor, keyring: Keyring, now: dt.datetime) -> list[MerchantChange]:
    """Apply ``change``, record each field's old and new value, audit it and notify the
    merchant. Returns the recorded changes (empty when nothing differed)."""
    disclosure = Disclosure(actor=SYSTEM, purpose="merchant change notice",
                            keys=data_keys(session))
    current = disclosure.contacts(merchant)
    diffs = _apply_contact_changes(session, merchant, change, actor, current, now)
    diffs += _apply_business_changes(session, merchant, change, keyring, now)
    if not diffs:
        return []
    merchant.updated_at = now
    session.add(merchant)
    rows = [MerchantChange(merchant_id=merchant.id, field=name, old_value=_kept(name, old),
                           new_value=_kept(name, new), actor=actor.name,
                           reason=change.reason, request_id=actor.request_id, at=now)
            for name, old, new in diffs]
    session.add_all(rows)
    record(session, actor.event("merchant.changed", target_type="merchant",
                                target_id=merchant.id, merchant_id=merchant.id,
                                details={"reason": change.reason,
                                         "changes": [{"field": r.field, "old": r.old_value,
                                                      "new": r.new_value} for r in rows]}))
    # The merchant is told the full old and new values (R-E4): its own data, to itself.
    text_diffs = [(name, None if old is None else str(old), None if new is None else str(new))
                  for name, old, new in diffs]
    # An e-mail change is also announced to the old address: a hijacker who changes the
    # address must not be the only one told about it.
    new_email = change.email if change.email is not None else current.email
    recipients = [new_email] if new_email else []
    if current.email and current.email != new_email:
        recipients.append(current.email)
    disclosure.record(session, merchant_id=merchant.id)
    for recipient in recipients:
        notify_merchant(session, merchant=merchant, event="merchant.changed",
                        payload={"changes": [{"field": f, "old": o, "new": n}
                                             for f, o, n in text_diffs],
                                 "reason": change.reason}, now=now,
                        recipient=recipient)
    session.flush()
    return rows


def _kept(name: str, value: Any) -> str | None:
    """A value as the change history and the audit trail keep it: an e-mail or phone masked
    (R-D7: the trail cannot be purged; the full values stay sealed in ``contact_point``, whose
    rows are the contact history), anything else as text."""
    if value is None:
        return None
    return mask_contact(name, value) if name in MERCHANT_FIELDS else str(value)


def affected_checks(changes: list[MerchantChange]) -> tuple[str, ...]:
    """The check codes that ``changes`` make stale (R-D1)."""
    codes: dict[str, None] = {}
    for change in changes:
        for code in AFFECTED_CHECKS.get(change.field, ()):
            codes[code] = None
    return tuple(codes)


def merchant_out(session: Session, merchant: Merchant, *, actor: Actor) -> MerchantOut:
    """The API view of ``merchant`` with its current owners."""
    return merchants_out(session, [merchant], actor=actor)[0]


def merchants_out(session: Session, merchants: list[Merchant], *,
                  actor: Actor) -> list[MerchantOut]:
    """API views of many merchants with one query for all their owners (no N+1). The owners'
    names and birth dates are opened for ``actor`` and audited, one event per merchant."""
    ids = [m.id for m in merchants]
    owners: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
    disclosures = {i: Disclosure(actor=actor, purpose="API merchant read",
                                 keys=data_keys(session)) for i in ids}
    contacts = {m.id: disclosures[m.id].contacts(m) for m in merchants}
    if ids:
        rows = session.exec(select(Ownership, Person).join(Person, Person.id ==
                                                           Ownership.person_id)
                            .where(Ownership.merchant_id.in_(ids),
                                   Ownership.removed_at.is_(None))
                            .order_by(Ownership.added_at, Ownership.share_pct.desc(),
                                      Ownership.id)).all()
        for link, person in rows:
            who = disclosures[link.merchant_id].identity(person, ("full_name", "birth_date"))
            owners[link.merchant_id].append({
                "person_id": person.id, "full_name": who.display_name,
                "national_id_masked": person.national_id_masked,
                "birth_date": who.birth_date, "nationality": person.nationality,
                "share_pct": decimal_out(link.share_pct), "role": link.role})
    for merchant_id, disclosure in disclosures.items():
        disclosure.record(session, merchant_id=merchant_id)
    return [_out(m, owners[m.id], contacts[m.id]) for m in merchants]


def decimal_out(value: Decimal | None) -> Decimal | None:
    """An amount as the API shows it: two decimals, more only when they carry a value (so a
    fresh object and a stored one serialise alike on SQLite and PostgreSQL)."""
    if value is None:
        return None
    cents = value.quantize(Decimal("0.01"))
    return cents if cents == value else value.normalize()


def _out(m: Merchant, owners: list[dict[str, Any]], contacts: Contacts) -> MerchantOut:
    def money(amount, currency):
        return None if amount is None else {"amount": decimal_out(amount), "currency": currency}
    prices = (None if m.declared_price_min is None else
              {"min": decimal_out(m.declared_price_min), "max": decimal_out(m.declared_price_max),
               "currency": m.declared_price_currency})
    return MerchantOut(
        id=m.id, status=m.status, tier=m.tier, legal_name=m.legal_name,
        trade_name=m.trade_name, country=m.country, tax_id=m.tax_id,
        registration_number=m.registration_number, founded_on=m.founded_on,
        capital=money(m.capital_amount, m.capital_currency), sector=m.sector,
        website=m.website, website_domain=m.website_domain, email=contacts.email,
        phone=contacts.phone,
        iban=m.iban,
        expected_monthly_turnover=money(m.expected_turnover_amount,
                                        m.expected_turnover_currency),
        declared_prices=prices, owners=owners, frozen=m.frozen,
        latest_assessment_id=m.latest_assessment_id, created_at=m.created_at,
        updated_at=m.updated_at)


class BadCursor(ValueError):
    """A pagination cursor that this server did not issue."""


def encode_cursor(merchant: Merchant) -> str:
    """An opaque cursor after ``merchant`` in (created_at desc, id desc) order."""
    return wrap_cursor(f"{merchant.created_at.isoformat()}|{merchant.id}")


def _decode_cursor(cursor: str) -> tuple[dt.datetime, str]:
    try:
        stamp, merchant_id = unwrap_cursor(cursor).split("|", 1)
        created = dt.datetime.fromisoformat(stamp)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadCursor(cursor) from exc
    if created.tzinfo is None:  # never issued by us; would fail the UTCDateTime bind (500)
        raise BadCursor(cursor)
    return created, merchant_id


def list_merchants(session: Session, query: MerchantListQuery) -> tuple[list[Merchant],
                                                                        str | None]:
    """Merchants newest first, filtered, one page at a time (keyset pagination)."""
    stmt = select(Merchant)
    if query.status:
        stmt = stmt.where(Merchant.status == query.status)
    if query.tier:
        stmt = stmt.where(Merchant.tier == query.tier)
    if query.created_from:
        stmt = stmt.where(Merchant.created_at >= query.created_from)
    if query.created_to:
        stmt = stmt.where(Merchant.created_at < query.created_to)
    if query.cursor:
        stamp, last_id = _decode_cursor(query.cursor)
        stmt = stmt.where(sa.or_(Merchant.created_at < stamp,
                                 sa.and_(Merchant.created_at == stamp, Merchant.id < last_id)))
    rows = session.exec(stmt.order_by(Merchant.created_at.desc(), Merchant.id.desc())
                        .limit(query.limit + 1)).all()
    page = list(rows[: query.limit])
    next_cursor = encode_cursor(page[-1]) if len(rows) > query.limit else None
    return page, next_cursor
