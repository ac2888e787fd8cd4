"""Personal identity fields of persons (R-D7, R-B4): sealing them at rest, the keyed blind
indexes that link the same person across merchants, and disclosure.

Nothing decrypts a person outside a :class:`Disclosure`: it is made for one actor and one
purpose ("assessment", "staff merchant view", "STR package", …), opens only the fields asked
for, and :meth:`Disclosure.record` writes one audit event naming the actor, the purpose, the
fields and the person ids (never the values). Bulk system work records one event per run,
with counts.

:func:`national_id_index` is the stable blind index of a national id: screening compares list
identifiers with it, the blacklist stores it, and ownership joins on it.
"""

from __future__ import annotations

import datetime as dt
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import object_session
from sqlmodel import Session, select

from app.audit.trail import HEAD_INFO, Actor, record
from app.crypto.data_keys import DataKeys
from app.models import AuditEvent, BlacklistEntry, CaseAttachment, ContactPoint, Merchant, Person
from app.security import Keyring
from app.validation import person_name_key

PERSON_FIELDS = ("full_name", "birth_date", "national_id")
# A merchant's contact fields that are a natural person's data (the shop owner's e-mail and
# phone), sealed on the merchant and on its contact points of these kinds. Websites, domains
# and sign-up IPs are not a natural person's data and stay in clear.
MERCHANT_FIELDS = ("email", "phone")
PERSONAL_DATA_ROLES = frozenset({"analyst", "approver", "admin"})
MAX_LISTED_PERSONS = 200  # an audit event names at most this many ids; the count is exact


_KEYS_BY_ENGINE: weakref.WeakKeyDictionary[sa.Engine, DataKeys] = weakref.WeakKeyDictionary()


def register_data_keys(engine: sa.Engine, keys: DataKeys) -> None:
    """Make ``keys`` the data keys of sessions on ``engine`` (``create_app`` does this)."""
    _KEYS_BY_ENGINE[engine] = keys


def data_keys(session: Session | None = None) -> DataKeys:
    """The data keys of ``session``'s database (else of the current app)."""
    if session is not None:
        keys = _KEYS_BY_ENGINE.get(session.get_bind())
        if keys is not None:
            return keys
    return current_app.extensions["kyb.data_keys"]


def normalise_national_id(value: str) -> str:
    """A national id as compared: no spaces, upper-case."""
    return "".join(value.split()).upper()


def national_id_index(national_id: str, keys: DataKeys | None = None) -> str:
    """The blind index of ``national_id`` (spaces and case ignored): equal ids give equal
    indexes under the same ``KYB_DATA_KEYS``. Stable: screening and the blacklist rely on it."""
    return (keys or data_keys()).blind_index("national-id", normalise_national_id(national_id))


def name_index(full_name: str, keys: DataKeys | None = None) -> str:
    """The blind index of a person's name (case, accents and word order folded)."""
    return (keys or data_keys()).blind_index("person-name", person_name_key(full_name))


def name_birth_index(full_name: str, birth_date: dt.date | None,
                     keys: DataKeys | None = None) -> str | None:
    """The blind index of name and birth date together; ``None`` without a birth date."""
    if birth_date is None:
        return None
    return (keys or data_keys()).blind_index(
        "person-name-birth", f"{person_name_key(full_name)}\x1f{birth_date.isoformat()}")


def seal_person(person: Person, *, full_name: str, birth_date: dt.date | None,
                national_id: str | None, keys: DataKeys | None = None) -> Person:
    """Store ``person``'s identity sealed (bound to its id) with its blind indexes."""
    keys = keys or data_keys()

    def seal(column: str, clear: str | None) -> str | None:
        if clear is None:
            return None
        return keys.seal(clear, table="person", column=column, row_id=person.id)

    person.full_name_sealed = seal("full_name_sealed", full_name)
    person.birth_date_sealed = seal("birth_date_sealed",
                                    birth_date.isoformat() if birth_date else None)
    person.national_id_sealed = seal("national_id_sealed",
                                     normalise_national_id(national_id) if national_id else None)
    person.name_index = name_index(full_name, keys)
    person.name_birth_index = name_birth_index(full_name, birth_date, keys)
    person.national_id_index = national_id_index(national_id, keys) if national_id else None
    return person


def contact_norm(kind: str, value: str) -> str:
    """A contact point's value as compared when linking merchants (case and ends ignored)."""
    return value.strip().lower()


def contact_index(kind: str, value: str, keys: DataKeys | None = None) -> str:
    """The blind index of an e-mail or phone contact point: merchants sharing one have equal
    indexes (``ix_contact_kind_value`` joins on it); the value cannot be read back."""
    return (keys or data_keys()).blind_index(f"contact-{kind}", contact_norm(kind, value))


def mask_contact(kind: str, value: str) -> str:
    """What a contact point shows without opening it: ``f•••@example.com``, ``+90•••••23``."""
    if kind == "email":
        local, _, domain = value.partition("@")
        return f"{local[:1]}•••@{domain}"
    return f"{value[:3]}•••{value[-2:]}" if len(value) > 6 else "•••"


def seal_merchant_contacts(merchant: Merchant, *, keys: DataKeys | None = None,
                           **values: str | None) -> Merchant:
    """Store the given contact fields (``email=…``, ``phone=…``) of ``merchant`` sealed, bound
    to its id (``None`` clears a field)."""
    keys = keys or data_keys()
    for name, clear in values.items():
        if name not in MERCHANT_FIELDS:
            raise ValueError(f"unknown merchant personal field {name!r}")
        setattr(merchant, f"{name}_sealed", None if clear is None else keys.seal(
            clear, table="merchant", column=f"{name}_sealed", row_id=merchant.id))
    return merchant


def new_contact_point(*, merchant_id: str, kind: str, value: str, added_at: dt.datetime,
                      keys: DataKeys | None = None) -> ContactPoint:
    """A contact point of ``merchant_id``: an e-mail or phone sealed (bound to the point's id)
    with a keyed blind index and a mask; a website, domain or sign-up IP in clear."""
    point = ContactPoint(merchant_id=merchant_id, kind=kind, value=value,
                         value_key=contact_norm(kind, value), added_at=added_at)
    if kind in MERCHANT_FIELDS:
        keys = keys or data_keys()
        point.value = mask_contact(kind, value)
        point.value_key = contact_index(kind, value, keys)
        point.value_sealed = keys.seal(value, table="contact_point", column="value_sealed",
                                       row_id=point.id)
    return point


@dataclass(frozen=True)
class Contacts:
    """A merchant's opened contact fields; ``None`` when empty, not asked for, or erased."""

    merchant_id: str
    email: str | None = None
    phone: str | None = None
    erased: bool = False


def heal_legacy_national_id(session: Session, national_id: str, *, keyring: Keyring,
                            keys: DataKeys | None = None) -> int:
    """Move rows still keyed by the pre-0014 national-id hash (token pepper) to the blind
    index, now that the full id is known again: persons (whose full id is sealed on the way)
    and national-id blacklist entries. Returns how many persons moved; an index lookup."""
    keys = keys or data_keys()
    legacy = keyring.keyed_hash("national-id", national_id.upper())
    index = national_id_index(national_id, keys)
    if legacy == index:
        return 0
    persons = session.exec(select(Person).where(Person.national_id_index == legacy)).all()
    for person in persons:
        person.national_id_index = index
        person.national_id_sealed = keys.seal(normalise_national_id(national_id),
                                              table="person", column="national_id_sealed",
                                              row_id=person.id)
        session.add(person)
    session.execute(sa.update(BlacklistEntry).where(
        BlacklistEntry.kind == "national_id", BlacklistEntry.value_key == legacy)
        .values(value_key=index))
    return len(persons)


@dataclass(frozen=True)
class Identity:
    """A person's opened identity fields; a field not asked for (or erased) is ``None``."""

    person_id: str
    full_name: str | None = None
    birth_date: dt.date | None = None
    national_id: str | None = None
    nationality: str | None = None  # kept in clear: the country checks read it
    national_id_index: str | None = None  # the blind index (screening compares list ids)
    erased: bool = False

    @property
    def display_name(self) -> str:
        """The name, or a placeholder once retention erased it."""
        return self.full_name or ("[erased]" if self.erased else "[not disclosed]")


@dataclass
class Disclosure:
    """Opens persons' sealed fields for one actor and purpose, and remembers what it opened
    so that :meth:`record` writes one audit event for all of it."""

    actor: Actor
    purpose: str
    action: str = "personal_data.decrypted"  # "personal_data.viewed" for a staff view
    keys: DataKeys | None = None
    shown: tuple[str, ...] = ()  # clear personal fields a staff view also shows (e-mail, phone)
    opened: dict[str, set[str]] = field(default_factory=dict)
    opened_merchants: dict[str, set[str]] = field(default_factory=dict)  # e-mail, phone

    def identity(self, person: Person,
                 fields: Iterable[str] = PERSON_FIELDS) -> Identity:
        """``person``'s ``fields`` in clear (noted for the audit event)."""
        wanted = tuple(fields)
        if person.erased_at is not None:
            return Identity(person.id, nationality=person.nationality, erased=True)
        if self.keys is None:
            self.keys = data_keys(object_session(person))
        values = {name: self.open(person.id, name, getattr(person, f"{name}_sealed"))
                  for name in wanted}
        born = values.get("birth_date")
        return Identity(person.id, full_name=values.get("full_name"),
                        birth_date=dt.date.fromisoformat(born) if born else None,
                        national_id=values.get("national_id"), nationality=person.nationality,
                        national_id_index=person.national_id_index)

    def identities(self, persons: Iterable[Person],
                   fields: Iterable[str] = PERSON_FIELDS) -> list[Identity]:
        """The identities of ``persons``, sorted by name then id (a stable order)."""
        wanted = tuple(fields)
        found = [self.identity(p, wanted) for p in persons]
        return sorted(found, key=lambda i: (i.full_name or "", i.person_id))

    def open(self, person_id: str, name: str, sealed: str | None) -> str | None:
        """One sealed field of a person (from a row read with SQL), in clear."""
        if name not in PERSON_FIELDS:
            raise ValueError(f"unknown personal field {name!r}")
        if sealed is None:
            return None
        clear = (self.keys or data_keys()).open(sealed, table="person",
                                                column=f"{name}_sealed", row_id=person_id)
        self.opened.setdefault(person_id, set()).add(name)
        return clear

    def contacts(self, merchant: Merchant,
                 fields: Iterable[str] = MERCHANT_FIELDS) -> Contacts:
        """``merchant``'s contact ``fields`` (e-mail, phone) in clear (noted for the audit
        event)."""
        if self.keys is None:
            self.keys = data_keys(object_session(merchant))
        values = {name: self.open_merchant(merchant.id, name, getattr(merchant, f"{name}_sealed"))
                  for name in fields}
        return Contacts(merchant.id, email=values.get("email"), phone=values.get("phone"),
                        erased=merchant.personal_data_erased_at is not None)

    def open_merchant(self, merchant_id: str, name: str, sealed: str | None) -> str | None:
        """One sealed contact field of a merchant (from a row read with SQL), in clear."""
        if name not in MERCHANT_FIELDS:
            raise ValueError(f"unknown merchant personal field {name!r}")
        if sealed is None:
            return None
        clear = (self.keys or data_keys()).open(sealed, table="merchant",
                                                column=f"{name}_sealed", row_id=merchant_id)
        self.opened_merchants.setdefault(merchant_id, set()).add(name)
        return clear

    def contact_value(self, point: ContactPoint) -> str:
        """A contact point's value in clear: a sealed e-mail or phone is opened (and noted),
        an erased one stays ``[erased]``, any other kind is clear already."""
        if point.value_sealed is None:
            return point.value
        if self.keys is None:
            self.keys = data_keys(object_session(point))
        clear = self.keys.open(point.value_sealed, table="contact_point", column="value_sealed",
                               row_id=point.id)
        self.opened_merchants.setdefault(point.merchant_id, set()).add(point.kind)
        return clear

    def record(self, session: Session, *, merchant_id: str | None = None,
               details: dict | None = None) -> AuditEvent | None:
        """Write the audit event of what was opened (nothing when nothing was), then start
        afresh: who, why, which fields of how many persons, and their ids. The system's own
        openings (screening, assessment) are pooled into one event per transaction (a job
        run), written when it commits."""
        if not self.opened and not self.shown and not self.opened_merchants:
            return None
        if self.actor == SYSTEM and not self.shown:
            _pool(session, self, merchant_id)
            self.opened, self.opened_merchants = {}, {}
            return None
        ids = sorted(self.opened)
        fields_opened = sorted(set().union(*self.opened.values())) if ids else []
        merchant_fields = sorted(set(self.shown).union(*self.opened_merchants.values()))
        merchants = sorted(self.opened_merchants)
        self.opened, self.opened_merchants = {}, {}
        if merchant_id is None and len(merchants) == 1 and not ids:
            merchant_id = merchants[0]
        single = len(ids) == 1 and merchant_id is None
        return record(session, self.actor.event(
            self.action, target_type="person" if single else "merchant",
            target_id=ids[0] if single else merchant_id, merchant_id=merchant_id,
            reason=self.purpose,
            details={"purpose": self.purpose, "fields": fields_opened,
                     "merchant_fields": merchant_fields, "persons": len(ids),
                     "person_ids": ids[:MAX_LISTED_PERSONS], **(details or {})}))


_POOL = "kyb.system_disclosures"


def _pool(session: Session, disclosure: Disclosure, merchant_id: str | None) -> None:
    """Add a system disclosure to this transaction's pooled audit event."""
    pool = session.info.get(_POOL)
    if pool is None:
        pool = session.info[_POOL] = {"purposes": set(), "fields": set(), "persons": set(),
                                      "merchants": set(), "merchant_fields": set()}
        sa.event.listen(session, "before_commit", _write_pool, once=True)
    pool["purposes"].add(disclosure.purpose)
    pool["persons"].update(disclosure.opened)
    for names in disclosure.opened.values():
        pool["fields"].update(names)
    for mid, names in disclosure.opened_merchants.items():
        pool["merchant_fields"].update(names)
        pool["merchants"].add(mid)
    if merchant_id:
        pool["merchants"].add(merchant_id)


def _transaction_time(session: Session) -> dt.datetime | None:
    """When this transaction's newest audit event happened (a back-dated import, such as the
    demo's, keeps the trail in time order), else None: now."""
    head = session.info.get(HEAD_INFO)
    if head is None:
        return None
    return session.exec(select(AuditEvent.at).where(AuditEvent.seq == head[0])).first()


def _write_pool(session: Session) -> None:
    pool = session.info.pop(_POOL, None)
    if not pool or not (pool["persons"] or pool["merchant_fields"]):
        return
    ids, merchants = sorted(pool["persons"]), sorted(pool["merchants"])
    record(session, SYSTEM.event(
        "personal_data.decrypted", at=_transaction_time(session),
        target_type="merchant" if len(merchants) == 1 else None,
        target_id=merchants[0] if len(merchants) == 1 else None,
        merchant_id=merchants[0] if len(merchants) == 1 else None,
        reason=", ".join(sorted(pool["purposes"])),
        details={"purpose": sorted(pool["purposes"]), "fields": sorted(pool["fields"]),
                 "merchant_fields": sorted(pool["merchant_fields"]), "persons": len(ids),
                 "person_ids": ids[:MAX_LISTED_PERSONS],
                 "merchants": len(merchants), "merchant_ids": merchants[:MAX_LISTED_PERSONS]}))


def seal_attachment(attachment: CaseAttachment, data: bytes, keys: DataKeys) -> None:
    """Keep ``data`` (a document holding personal data: the filed STR package) sealed as the
    content of ``attachment``, bound to its id; size and SHA-256 stay those of ``data``."""
    attachment.content = keys.seal(data.decode(), table="case_attachment", column="content",
                                   row_id=attachment.id).encode()
    attachment.sealed = True


def attachment_content(session: Session, attachment: CaseAttachment, *,
                       actor: Actor) -> bytes:
    """The clear content of ``attachment``; opening a sealed one is audited (R-D7)."""
    if not attachment.sealed:
        return attachment.content
    clear = data_keys(session).open(attachment.content.decode(), table="case_attachment",
                                    column="content", row_id=attachment.id)
    record(session, actor.event(
        "personal_data.decrypted", target_type="case_attachment", target_id=attachment.id,
        reason="kept STR package download",
        details={"purpose": "kept STR package download", "case_id": attachment.case_id,
                 "fields": ["str_package"]}))
    return clear.encode()


def own_contacts(merchant: Merchant) -> Contacts:
    """The merchant's own e-mail and phone for its own portal users (the data subject's side,
    not a disclosure to anyone else, so not an audit event)."""
    keys = data_keys(object_session(merchant))
    values = {name: None if getattr(merchant, f"{name}_sealed") is None else keys.open(
        getattr(merchant, f"{name}_sealed"), table="merchant", column=f"{name}_sealed",
        row_id=merchant.id) for name in MERCHANT_FIELDS}
    return Contacts(merchant.id, **values, erased=merchant.personal_data_erased_at is not None)


def may_see_personal_data(role: str) -> bool:
    """Whether a staff member of ``role`` is shown persons' names, birth dates and ids (the
    reviewers who judge an application; a role outside the list sees masks only)."""
    return role in PERSONAL_DATA_ROLES


SYSTEM = Actor("system")
