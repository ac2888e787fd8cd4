"""The institution's blacklist (R-E2, R-E3): IBANs, e-mail addresses, phones, domains, IPs,
national ids and devices known to be used for fraud.

Values are compared by a normalised key (``value_key``), the same normalisation the merchant
data gets, so ``Fraud@Example.com`` on the list matches ``fraud@example.com`` in an
application. A national id is never stored in clear: its key is the keyed hash that
``person.national_id_hash`` holds, and only a masked form is shown (R-D7). Removing an entry
(unblocking) needs a reason and is audited; the row is kept with ``removed_at``.
"""

from __future__ import annotations

import datetime as dt
import ipaddress

from sqlmodel import Session, select

from app.audit.trail import Actor, record
from app.models import BlacklistEntry, Merchant, Ownership, Person
from app.security import Keyring, mask_identifier
from app.validation import email as parse_email
from app.validation import iban as parse_iban
from app.validation import phone as parse_phone
from checks.facts import BlacklistHit
from checks.sources.domains import registered_domain

KINDS = ("iban", "email", "phone", "domain", "ip", "national_id", "device")


class BlacklistEntryNotFound(LookupError):
    """No active blacklist entry has that id."""


def normalise(kind: str, value: str, keyring: Keyring) -> tuple[str, str]:
    """``(value to show, value_key)`` for a blacklist value; ``ValueError`` when invalid."""
    text = value.strip()
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    if not text:
        raise ValueError("value must not be blank")
    if kind == "iban":
        compact = parse_iban(text).compact
        return compact, compact
    if kind == "email":
        address = parse_email(text)
        return address, address.lower()
    if kind == "phone":
        number = parse_phone(text, None if text.startswith("+") else "TR")
        return number, number
    if kind == "domain":
        domain = registered_domain(text)
        if domain is None:
            raise ValueError(f"{text!r} has no registrable domain")
        return domain, domain
    if kind == "ip":
        address = str(ipaddress.ip_address(text.strip("[]")))
        return address, address
    if kind == "national_id":
        return mask_identifier(text), keyring.keyed_hash("national-id", text.upper())
    return text, text.lower()


def add_entry(session: Session, *, kind: str, value: str, reason: str, actor: Actor,
              keyring: Keyring, now: dt.datetime) -> tuple[BlacklistEntry, bool]:
    """Blacklist ``value``; returns ``(entry, created)`` — an active equal entry is returned
    as is (adding twice is harmless)."""
    shown, key = normalise(kind, value, keyring)
    existing = session.exec(select(BlacklistEntry).where(
        BlacklistEntry.kind == kind, BlacklistEntry.value_key == key,
        BlacklistEntry.removed_at.is_(None))).first()
    if existing is not None:
        return existing, False
    entry = BlacklistEntry(kind=kind, value=shown, value_key=key, reason=reason,
                           added_by=actor.name, added_at=now)
    session.add(entry)
    session.flush()
    record(session, actor.event("blacklist.added", target_type="blacklist_entry",
                                target_id=entry.id, reason=reason,
                                details={"kind": kind, "value": shown}))
    return entry, True


def remove_entry(session: Session, *, entry_id: str, reason: str, actor: Actor,
                 now: dt.datetime) -> BlacklistEntry:
    """Unblock: mark the entry removed (kept for history) with who, when and why."""
    entry = session.get(BlacklistEntry, entry_id)
    if entry is None or entry.removed_at is not None:
        raise BlacklistEntryNotFound(entry_id)
    entry.removed_at, entry.removed_by = now, actor.name
    session.add(entry)
    session.flush()
    record(session, actor.event("blacklist.removed", target_type="blacklist_entry",
                                target_id=entry.id, reason=reason,
                                details={"kind": entry.kind, "value": entry.value}))
    return entry


def list_entries(session: Session, *, kind: str | None = None, include_removed: bool = False,
                 limit: int = 200) -> list[BlacklistEntry]:
    """Entries, newest first."""
    stmt = select(BlacklistEntry)
    if kind:
        stmt = stmt.where(BlacklistEntry.kind == kind)
    if not include_removed:
        stmt = stmt.where(BlacklistEntry.removed_at.is_(None))
    return list(session.exec(stmt.order_by(BlacklistEntry.added_at.desc(),
                                           BlacklistEntry.id.desc()).limit(limit)).all())


def merchant_keys(session: Session, merchant: Merchant) -> list[tuple[str, str, str]]:
    """``(kind, value shown, value_key)`` of every blacklistable attribute of ``merchant``."""
    keys: list[tuple[str, str, str]] = []
    if merchant.iban:
        keys.append(("iban", merchant.iban, merchant.iban.replace(" ", "").upper()))
    if merchant.email:
        keys.append(("email", merchant.email, merchant.email.strip().lower()))
    if merchant.phone:
        keys.append(("phone", merchant.phone, merchant.phone))
    if merchant.website_domain:
        keys.append(("domain", merchant.website_domain, merchant.website_domain.lower()))
    if merchant.signup_ip:
        keys.append(("ip", merchant.signup_ip, merchant.signup_ip))
    people = session.exec(
        select(Person.national_id_masked, Person.national_id_hash)
        .join(Ownership, Ownership.person_id == Person.id)
        .where(Ownership.merchant_id == merchant.id, Ownership.removed_at.is_(None))).all()
    keys += [("national_id", masked or "", digest) for masked, digest in people if digest]
    return keys


def merchant_hits(session: Session, *, merchant: Merchant) -> tuple[BlacklistHit, ...]:
    """The merchant's attributes found on the active blacklist (one indexed query per kind)."""
    hits = []
    for kind, shown, key in merchant_keys(session, merchant):
        entry = session.exec(select(BlacklistEntry).where(
            BlacklistEntry.kind == kind, BlacklistEntry.value_key == key,
            BlacklistEntry.removed_at.is_(None)).limit(1)).first()
        if entry is not None:
            hits.append(BlacklistHit(kind=kind, value=shown, reason=entry.reason))
    return tuple(hits)
