"""The institution's blacklist (R-E2, R-E3): IBANs, e-mail addresses, phones, domains, IPs and
CIDR blocks, national ids, devices, cards and customer refs known to be used for fraud.

Values are compared by a normalised key (``value_key``), the same normalisation the merchant
data gets, so ``Fraud@Example.com`` on the list matches ``fraud@example.com`` in an
application. A national id is never stored in clear: its key is the blind index that
``person.national_id_index`` holds (``app.services.personal_data.national_id_index``), and
only a masked form is shown (R-D7). Removing an entry (unblocking) needs a reason and is
audited; the row is kept with ``removed_at``. A card is kept only as its keyed fingerprint
(the one transactions get) and a first 6 / last 4 mask.

Every add or removal increments the blacklist's generation (``blacklist_state``) in the same
transaction, and marks the session so that, once it commits, every process refreshes its
in-memory index (``app.services.blacklist_index``); traffic is matched there.
"""

from __future__ import annotations

import datetime as dt
import ipaddress

import sqlalchemy as sa
from sqlmodel import Session, select

from api_keys.blacklist import card_key, customer_key, device_key
from api_keys.cards import InvalidCardNumber, protect_pan, scrub_pans
from app.audit.trail import Actor, record
from app.db import as_utc
from app.models import (
    BlacklistEntry,
    BlacklistState,
    ContactPoint,
    Merchant,
    Ownership,
    Person,
    Transaction,
)
from app.security import Keyring, mask_identifier
from app.services.personal_data import (
    SYSTEM,
    Disclosure,
    contact_index,
    data_keys,
    national_id_index,
)
from app.validation import email as parse_email
from app.validation import iban as parse_iban
from app.validation import phone as parse_phone
from checks.facts import BlacklistHit
from checks.sources.domains import registered_domain

KINDS = ("iban", "email", "phone", "domain", "ip", "national_id", "device", "card",
         "customer")
CHANGED = "kyb.blacklist_changed"  # session.info flag: publish a refresh once committed


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
        return _ip(text)
    if kind == "national_id":
        return mask_identifier(text), national_id_index(text)
    if kind == "card":
        return _card(text, keyring)
    if kind == "customer":
        return scrub_pans(text), customer_key(text)
    return scrub_pans(text), device_key(text)


def _ip(text: str) -> tuple[str, str]:
    """An address, or a CIDR block (``203.0.113.0/24``; host bits are refused, a /32 or /128
    is the address itself)."""
    if "/" not in text:
        address = str(ipaddress.ip_address(text.strip("[]")))
        return address, address
    network = ipaddress.ip_network(text, strict=True)
    if network.num_addresses == 1:
        return str(network.network_address), str(network.network_address)
    return str(network), str(network)


def _card(text: str, keyring: Keyring) -> tuple[str, str]:
    """A card number (kept as mask + fingerprint under the current pepper) or a fingerprint
    (16-64 letters, digits, ``_`` or ``-``, as ``POST /transactions`` accepts)."""
    compact = text.replace(" ", "").replace("-", "")
    if compact.isdigit():
        try:
            card = protect_pan(text, keyring.peppers[keyring.current])
        except InvalidCardNumber as exc:
            raise ValueError(str(exc)) from None
        return card.masked, card.fingerprint
    if not 16 <= len(text) <= 64 or not all(c.isalnum() or c in "_-" for c in text):
        raise ValueError("a card is a card number or a fingerprint of 16-64 letters and digits")
    key = card_key(text)
    return f"fingerprint {key[:8]}…", key


def bump_generation(session: Session, now: dt.datetime) -> None:
    """Count a change of the blacklist, and have every process refresh its index once the
    session commits."""
    result = session.execute(sa.update(BlacklistState).where(BlacklistState.id == 1).values(
        generation=BlacklistState.generation + 1, changed_at=now))
    if result.rowcount == 0:
        session.add(BlacklistState(id=1, generation=1, changed_at=now))
    session.info[CHANGED] = True


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
    bump_generation(session, now)
    record(session, actor.event("blacklist.added", target_type="blacklist_entry",
                                target_id=entry.id, reason=reason,
                                details={"kind": kind, "value": shown}))
    queue_reassessment(session, entry=entry)
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
    bump_generation(session, now)
    record(session, actor.event("blacklist.removed", target_type="blacklist_entry",
                                target_id=entry.id, reason=reason,
                                details={"kind": entry.kind, "value": entry.value}))
    queue_reassessment(session, entry=entry)
    return entry


REASSESS_JOB = "reassess_blacklist_entry"


def queue_reassessment(session: Session, *, entry: BlacklistEntry) -> None:
    """Queue, once the session commits, the job that re-assesses the merchants the entry's
    change touches (R-D1): a wide CIDR may touch many, so it stays off the request's path."""
    from app.jobs import enqueue_after_commit
    enqueue_after_commit(session, REASSESS_JOB, entry_id=entry.id,
                         change="removed" if entry.removed_at else "added")


def reassess_touched(session: Session, *, entry_id: str, change: str, actor: Actor,
                     now: dt.datetime, limit: int) -> tuple[list[str], bool]:
    """Re-run the ``blacklist`` check of up to ``limit`` assessed merchants the entry's
    ``change`` (``added`` or ``removed``) touches (R-D1; network facts are reused, nothing is
    looked up). A merchant already re-assessed for this change is skipped, so a job run twice
    does nothing twice. Returns ``(merchant ids re-assessed, more left)``; outside an
    application (no policy or lookup settings) nothing is re-run."""
    from flask import has_app_context

    from app.services.assessments import assess_merchant, current_policy
    from app.services.facts import lookup_sources
    from app.services.screening import screening_index
    entry = session.get(BlacklistEntry, entry_id)
    if entry is None or not has_app_context():
        return [], False
    trigger = f"blacklist {change}: {entry.kind}"
    since = entry.removed_at if change == "removed" else entry.added_at
    pending = [m for m in merchants_touched(session, entry)
               if m.latest_assessment_id and not _done(session, m, trigger, since)]
    if not pending:
        return [], False
    policy, sources, index = current_policy(), lookup_sources(), screening_index(session)
    for merchant in pending[:limit]:
        assess_merchant(session, merchant=merchant, actor=actor, now=now, trigger=trigger,
                        sources=sources, index=index, policy=policy,
                        refresh_checks=("blacklist",))
    return [m.id for m in pending[:limit]], len(pending) > limit


def _done(session: Session, merchant: Merchant, trigger: str,
          since: dt.datetime | None) -> bool:
    """Whether the merchant's current assessment already answers this change."""
    from app.models import Assessment
    latest = session.get(Assessment, merchant.latest_assessment_id)
    if latest is None or latest.trigger != trigger or since is None:
        return False
    return as_utc(latest.created_at) >= as_utc(since)


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


def merchant_keys(session: Session, merchant: Merchant,
                  disclosure: Disclosure | None = None) -> list[tuple[str, str, str]]:
    """``(kind, value shown, value_key)`` of every blacklistable attribute of ``merchant``;
    its sealed e-mail and phone are opened through ``disclosure`` (else for the system, pooled
    into one audit event per transaction)."""
    keys: list[tuple[str, str, str]] = []
    own = disclosure or Disclosure(actor=SYSTEM, purpose="blacklist check",
                                     keys=data_keys(session))
    contacts = own.contacts(merchant)
    if disclosure is None:
        own.record(session, merchant_id=merchant.id)
    if merchant.iban:
        keys.append(("iban", merchant.iban, merchant.iban.replace(" ", "").upper()))
    if contacts.email:
        keys.append(("email", contacts.email, contacts.email.strip().lower()))
    if contacts.phone:
        keys.append(("phone", contacts.phone, contacts.phone))
    if merchant.website_domain:
        keys.append(("domain", merchant.website_domain, merchant.website_domain.lower()))
    if merchant.signup_ip:
        keys.append(("ip", merchant.signup_ip, merchant.signup_ip))
    people = session.exec(
        select(Person.national_id_masked, Person.national_id_index)
        .join(Ownership, Ownership.person_id == Person.id)
        .where(Ownership.merchant_id == merchant.id, Ownership.removed_at.is_(None))).all()
    keys += [("national_id", masked or "", digest) for masked, digest in people if digest]
    return keys


def merchant_hits(session: Session, *, merchant: Merchant,
                  disclosure: Disclosure | None = None) -> tuple[BlacklistHit, ...]:
    """The merchant's attributes found on the active blacklist: one indexed query per kind,
    its signup IP also inside a listed CIDR block, and the devices its payments came from."""
    hits = []
    for kind, shown, key in merchant_keys(session, merchant, disclosure):
        entry = _active(session, kind, [key])
        if entry is None and kind == "ip":
            entry = _in_listed_block(session, key)
        if entry is not None:
            hits.append(BlacklistHit(kind=kind, value=shown, reason=entry.reason))
    devices = merchant_devices(session, merchant.id)
    for start in range(0, len(devices), 500):
        for entry in session.exec(select(BlacklistEntry).where(
                BlacklistEntry.kind == "device", BlacklistEntry.removed_at.is_(None),
                BlacklistEntry.value_key.in_(devices[start:start + 500]))).all():
            hits.append(BlacklistHit(kind="device", value=entry.value, reason=entry.reason))
    return tuple(hits)


def _active(session: Session, kind: str, keys: list[str]) -> BlacklistEntry | None:
    return session.exec(select(BlacklistEntry).where(
        BlacklistEntry.kind == kind, BlacklistEntry.value_key.in_(keys),
        BlacklistEntry.removed_at.is_(None)).limit(1)).first()


def _in_listed_block(session: Session, address: str) -> BlacklistEntry | None:
    from api_keys.blacklist import BlacklistProbe
    from app.services.blacklist_index import current_index
    try:
        probe = BlacklistProbe(ip=ipaddress.ip_address(address))
    except ValueError:
        return None
    match = current_index(session).match(probe)
    return session.get(BlacklistEntry, match.entry_id) if match is not None else None


def merchant_devices(session: Session, merchant_id: str, limit: int = 5000) -> list[str]:
    """The device ids the merchant's recorded payments came from (R-E2's devices)."""
    return list(session.exec(select(Transaction.device_id).where(
        Transaction.merchant_id == merchant_id, Transaction.device_id.is_not(None))
        .distinct().limit(limit)).all())


def merchants_touched(session: Session, entry: BlacklistEntry) -> list[Merchant]:
    """Merchants whose stored attributes the entry matches (their KYB ``blacklist`` check
    changes): IBAN, e-mail, phone, website domain, signup IP (in a CIDR block), an owner's
    national id, or a device their payments came from. Cards and customer refs are payers'
    attributes, not a merchant's: they are enforced on traffic only."""
    key = entry.value_key
    if entry.kind in ("email", "phone"):  # sealed: found through the contact points' index
        point = contact_index(entry.kind, key, data_keys(session))
        return list(session.exec(select(Merchant).where(Merchant.id.in_(
            select(ContactPoint.merchant_id).where(
                ContactPoint.kind == entry.kind, ContactPoint.value_key == point,
                ContactPoint.removed_at.is_(None))))).all())
    column = {"iban": Merchant.iban, "domain": Merchant.website_domain}.get(entry.kind)
    if column is not None:
        return list(session.exec(select(Merchant).where(column == key)).all())
    if entry.kind == "ip":
        network = ipaddress.ip_network(key)
        rows = session.exec(select(Merchant).where(Merchant.signup_ip.is_not(None))).all()
        return [m for m in rows if _inside(m.signup_ip, network)]
    if entry.kind == "national_id":
        owned = (select(Ownership.merchant_id)
                 .join(Person, Person.id == Ownership.person_id)
                 .where(Person.national_id_index == key, Ownership.removed_at.is_(None)))
        return list(session.exec(select(Merchant).where(Merchant.id.in_(owned))).all())
    if entry.kind == "device":
        ids = select(Transaction.merchant_id).where(Transaction.device_id == key).distinct()
        return list(session.exec(select(Merchant).where(Merchant.id.in_(ids))).all())
    return []


def _inside(address: str | None, network: ipaddress.IPv4Network | ipaddress.IPv6Network
            ) -> bool:
    try:
        return ipaddress.ip_address(address or "") in network
    except ValueError:
        return False
