"""Re-encryption of sealed personal fields under the current data key (``kybgate data-keys
reencrypt``, after a rotation): every column of :data:`SEALED` (persons, merchants' e-mail and
phone, their contact points, assessments' evidence and personal facts, …), a batch of rows per
transaction, each field opened under the version it names and sealed again under the current
one (blind indexes stay: they use the index key). Safe to repeat and to run while the service
is up (a row already under the current key is skipped)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import select

from app.crypto.data_keys import DataKeys, sealed_version
from app.db import session_scope
from app.models import (
    Assessment,
    ContactPoint,
    Merchant,
    MerchantUser,
    Notification,
    Person,
    ScreeningDismissal,
)

# Every sealed column, by model (the table name is part of each value's associated data).
SEALED = ((Person, ("full_name_sealed", "birth_date_sealed", "national_id_sealed")),
          (Merchant, ("email_sealed", "phone_sealed")),
          (ContactPoint, ("value_sealed",)),
          (Assessment, ("checks_sealed", "snapshot_sealed")),
          (Notification, ("content_sealed",)),
          (ScreeningDismissal, ("subject_sealed",)),
          (MerchantUser, ("email_sealed",)))


@dataclass
class ReencryptProgress:
    """Counts so far: rows read, rows re-sealed, fields re-sealed, by old version."""

    scanned: int = 0
    rows_changed: int = 0
    fields_changed: int = 0
    from_versions: dict[int, int] | None = None


def reencrypt_sealed(engine: Engine, keys: DataKeys, *, batch: int = 500,
                     dry_run: bool = False) -> Iterator[ReencryptProgress]:
    """Re-seal every sealed field not under ``keys.current``; yields progress per batch."""
    progress = ReencryptProgress(from_versions={})
    for model, columns in SEALED:
        held = sa.or_(*(getattr(model, c).is_not(None) for c in columns))
        after = ""
        while True:
            with session_scope(engine) as session:
                rows = session.exec(select(model).where(held, model.id > after)
                                    .order_by(model.id).limit(batch)).all()
                if not rows:
                    break
                for row in rows:
                    changed = _reseal(row, columns, keys, progress.from_versions)
                    progress.scanned += 1
                    if changed:
                        progress.rows_changed += 1
                        progress.fields_changed += changed
                        if not dry_run:
                            session.add(row)
                after = rows[-1].id
                if dry_run:
                    session.rollback()
            yield progress


def _reseal(row, columns: tuple[str, ...], keys: DataKeys, versions: dict[int, int]) -> int:
    table = row.__tablename__
    changed = 0
    for column in columns:
        sealed = getattr(row, column)
        if sealed is None or sealed_version(sealed) == keys.current:
            continue
        versions[sealed_version(sealed)] = versions.get(sealed_version(sealed), 0) + 1
        clear = keys.open(sealed, table=table, column=column, row_id=row.id)
        setattr(row, column, keys.seal(clear, table=table, column=column, row_id=row.id))
        changed += 1
    return changed


def versions_in_use(engine: Engine) -> dict[int, int]:
    """How many sealed fields each key version holds (what a key retirement needs)."""
    counts: dict[int, int] = {}
    with engine.connect() as conn:
        for model, columns in SEALED:
            for column in columns:
                for (value,) in conn.execute(sa.select(getattr(model, column))
                                             .where(getattr(model, column).is_not(None))):
                    version = sealed_version(value)
                    counts[version] = counts.get(version, 0) + 1
    return counts
