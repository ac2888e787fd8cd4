"""Sanctions and PEP lists in the database, and the screening index built from them (R-D2).

``import_list`` stores a list file set (OFAC CSV trio, UN XML, FtM JSONL) as a new
``ScreeningList`` version with its entries; the previous version of the same list is
deactivated in the same transaction, so screening never sees half a list. ``screening_index``
builds one ``ScreeningIndex`` per process from the active lists and keeps it until the set of
active list versions changes; the lists' identifiers are indexed there with the blind index
``app.services.personal_data.national_id_index``, so that owners' national ids, stored sealed
with that index, are compared with them (issue #12).
``screen_merchant`` gives the facts the ``sanctions_pep`` check reads.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, select

from app.audit.trail import Actor, record
from app.crypto.data_keys import DataKeys
from app.models import Merchant, Ownership, Person, ScreeningEntry, ScreeningList
from app.services.personal_data import (
    SYSTEM,
    Disclosure,
    Identity,
    data_keys,
    national_id_index,
)
from checks.facts import ScreeningHit
from checks.screening import ScreeningIndex, load_list

INSERT_BATCH = 2000
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ImportSummary:
    """What an import stored."""

    list_id: str
    name: str
    kind: str
    format: str
    version: str
    entries: int
    counts: dict[str, int]
    warnings: tuple[str, ...]
    replaced: tuple[str, ...]  # ids of the list versions it deactivated
    unchanged: bool = False  # the same version was already active: nothing stored


def import_list(session: Session, *, paths: Sequence[str | Path], kind: str,
                name: str | None, actor: Actor, now: dt.datetime,
                progress: Progress | None = None) -> ImportSummary:
    """Parse ``paths`` and store them as the active version of list ``name``.

    Raises ``ListFormatError`` naming the file and line at fault; nothing is stored then.
    """
    loaded = load_list(paths, kind=kind, list_name=name)
    active = session.exec(select(ScreeningList).where(ScreeningList.name == loaded.list_name,
                                                      ScreeningList.active.is_(True))).all()
    summary = dict(name=loaded.list_name, kind=kind, format=loaded.format,
                   version=loaded.version, counts=loaded.counts, warnings=loaded.warnings)
    same = [row for row in active if row.version == loaded.version and row.kind == kind]
    if same:
        return ImportSummary(list_id=same[0].id, entries=same[0].entry_count, replaced=(),
                             unchanged=True, **summary)
    row = ScreeningList(name=loaded.list_name, kind=kind, format=loaded.format,
                        version=loaded.version, entry_count=len(loaded.entries),
                        imported_by=actor.name, imported_at=now)
    session.add(row)
    session.flush()
    _insert_entries(session, row.id, [e.to_dict() for e in loaded.entries], progress)
    for old in active:
        old.active = False
        session.add(old)
    record(session, actor.event("screening_list.imported", target_type="screening_list",
                                target_id=row.id,
                                details={"name": row.name, "kind": kind, "version": row.version,
                                         "entries": row.entry_count,
                                         "replaced": [old.id for old in active],
                                         "warnings": list(loaded.warnings[:20])}))
    session.flush()
    return ImportSummary(list_id=row.id, entries=row.entry_count,
                         replaced=tuple(old.id for old in active), **summary)


def _insert_entries(session: Session, list_id: str, entries: list[dict],
                    progress: Progress | None) -> None:
    """Bulk insert (executemany) in batches, reporting progress after each."""
    table = ScreeningEntry.__table__
    for start in range(0, len(entries), INSERT_BATCH):
        batch = entries[start:start + INSERT_BATCH]
        session.execute(sa.insert(table), [
            {"list_id": list_id, "entry_id": e["entry_id"][:80], "data": e} for e in batch])
        if progress:
            progress(min(start + INSERT_BATCH, len(entries)), len(entries))


def active_lists(session: Session) -> list[ScreeningList]:
    """The active list versions, by name."""
    return list(session.exec(select(ScreeningList).where(ScreeningList.active.is_(True))
                             .order_by(ScreeningList.name, ScreeningList.id)).all())


_cache_lock = threading.Lock()
_cache: dict[str, tuple[tuple, ScreeningIndex]] = {}


def screening_index(session: Session) -> ScreeningIndex | None:
    """The index over the active lists (None when no list is loaded), built once per process
    for each set of active list versions."""
    lists = active_lists(session)
    if not lists:
        return None
    keys = _data_keys(session)
    key = (tuple((row.id, row.version) for row in lists),
           keys.blind_index("screening-cache", "") if keys else None)
    with _cache_lock:
        cached = _cache.get("index")
        if cached is not None and cached[0] == key:
            return cached[1]
        index = _build(session, lists, keys)
        _cache["index"] = (key, index)
        return index


def _data_keys(session: Session) -> DataKeys | None:
    """The data keys whose blind index owners' national ids are stored under (None outside
    an app: identifiers then compare in clear)."""
    try:
        return data_keys(session)
    except RuntimeError:  # no app, and an engine no app registered keys for
        return None


def _build(session: Session, lists: list[ScreeningList],
           keys: DataKeys | None) -> ScreeningIndex:
    ids = [row.id for row in lists]
    versions = {row.name: row.version for row in lists}
    data = session.exec(select(ScreeningEntry.data).where(ScreeningEntry.list_id.in_(ids))
                        .order_by(ScreeningEntry.id)).all()
    # the lists' identifiers under the same blind index as owners' national ids (issue #12)
    hashing = (lambda value: national_id_index(value, keys)) if keys is not None else None
    return ScreeningIndex.build(data, versions, identifier_hash=hashing)


def screened_list_names(index: ScreeningIndex | None) -> tuple[str, ...]:
    """``("OFAC SDN@sha256:…", …)``: what a screening was made against."""
    if index is None:
        return ()
    return tuple(f"{name}@{version}" for name, version in sorted(index.versions.items()))


def lists_by_kind(index: ScreeningIndex | None) -> dict[str, tuple[str, ...]]:
    """``{"sanctions_lists": (…), "pep_lists": (…)}``: which screened lists hold which kind of
    entry (the facts ``sanctions_pep`` needs to say what was and was not consulted)."""
    if index is None:
        return {"sanctions_lists": (), "pep_lists": ()}
    return {"sanctions_lists": index.lists_of_kind("sanctions"),
            "pep_lists": index.lists_of_kind("pep")}


def screen_merchant(session: Session, *, merchant: Merchant,
                    index: ScreeningIndex | None) -> tuple[tuple[ScreeningHit, ...],
                                                           tuple[str, ...]]:
    """Hits for the legal name, trade name and every current owner, and the lists used."""
    if index is None:
        return (), ()
    hits: list[ScreeningHit] = []
    ids = (merchant.tax_id,) if merchant.tax_id else ()
    hits += index.screen(merchant.legal_name, "legal_name", nationality=merchant.country,
                         identifiers=ids)
    if merchant.trade_name and merchant.trade_name != merchant.legal_name:
        hits += index.screen(merchant.trade_name, "trade_name", nationality=merchant.country,
                             identifiers=ids)
    for person in _owners(session, merchant.id):
        if person.full_name:  # an erased person has no name left to screen
            hashed = (person.national_id_index,) if person.national_id_index else ()
            hits += index.screen(person.full_name, "owner", birth_date=person.birth_date,
                                 nationality=person.nationality, hashed_identifiers=hashed)
    return tuple(hits), screened_list_names(index)


def _owners(session: Session, merchant_id: str) -> list[Identity]:
    """The current owners' names and birth dates, opened for screening (audited: R-D7)."""
    persons = session.exec(select(Person).join(Ownership, Ownership.person_id == Person.id)
                           .where(Ownership.merchant_id == merchant_id,
                                  Ownership.removed_at.is_(None))).all()
    disclosure = Disclosure(actor=SYSTEM, purpose="screening", keys=data_keys(session))
    found = disclosure.identities(persons, ("full_name", "birth_date"))
    disclosure.record(session, merchant_id=merchant_id)
    return found
