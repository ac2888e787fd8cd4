"""Running totals of accepted amounts as stored with the audit trail (R-E5; SAMA 004 §15 c, g).

An allowed verification carries its charges in ``details["charges"]`` (see
``api_keys.limits.Charge``): the key's daily limit, the merchant's daily and monthly caps. The
worker decides them exactly before it answers, in memory its host shares with database leases
(``app.dataplane.spend``), and records in each charge what its host had spent after it
(``spent``) and its slice of the limit (``leased``); a charge that does not fit makes the event
``deny`` / ``limit_exceeded`` with the limit named in ``details["limit"]``.

Where the events are chained (the audit writer's commit, or a process's ``AuditBatcher``),
:func:`record_charges` adds the allowed charges to ``spend_total``, in the same transaction, so
the stored totals count exactly the stored events: what the limits endpoint, the meters and
the reports show.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from api_keys.limits import Charge, period_key
from app.audit.trail import EventDraft
from app.models import SpendTotal

VERIFY_ACTION = "api.verify"
Total = tuple[str, str, str]  # (subject, period key, currency)

_TABLE = SpendTotal.__table__
_SELECT = sa.select(_TABLE.c.subject, _TABLE.c.period, _TABLE.c.currency, _TABLE.c.amount,
                    _TABLE.c["count"]).where(
    _TABLE.c.subject.in_(sa.bindparam("subjects", expanding=True)),
    _TABLE.c.period.in_(sa.bindparam("periods", expanding=True)))


def charges_to_details(charges: Sequence[Charge]) -> list[dict[str, str]]:
    """Charges as the event's details hold them (amounts as exact strings)."""
    return [{"subject": c.subject, "period": c.period, "currency": c.currency,
             "amount": format(c.amount, "f"), "limit": format(c.limit, "f"),
             **({"key": c.key} if c.key else {})} for c in charges]


def _charges(draft: EventDraft) -> list[Charge] | None:
    """The draft's charges; None if it has none to settle; [] if they are malformed."""
    if draft.action != VERIFY_ACTION or draft.decision != "allow":
        return None
    raw = (draft.details or {}).get("charges")
    if not raw:
        return None
    try:
        charges = [Charge(str(c["subject"]), str(c["period"]), str(c["currency"]),
                          Decimal(str(c["amount"])), Decimal(str(c["limit"])),
                          str(c["key"]) if c.get("key") else None) for c in raw]
    except (KeyError, TypeError, InvalidOperation):
        return []
    if any(c.period not in {"day", "month"} or not c.amount.is_finite() or c.amount < 0
           for c in charges):
        return []
    return charges


def _total(charge: Charge, at: dt.datetime) -> Total:
    """The running total a charge counts in: its own day or month (dated by the decision on
    the policy's calendar), else the UTC one of the event."""
    return (charge.subject, charge.key or period_key(charge.period, at), charge.currency)




def record_charges(conn: sa.Connection, drafts: Sequence[EventDraft], now: dt.datetime) -> None:
    """Add the charges of the allowed verifications among ``drafts`` to the stored running
    totals (what was spent, for the limits endpoint, meters and reports). The worker already
    decided them exactly (``app.dataplane.spend``); nothing here turns an event down. The caller
    holds the chain lock and commits, so a total never counts an event that was not stored."""
    parsed = [_charges(d) for d in drafts]
    if not any(parsed):
        return
    at = [(d.at or now) for d in drafts]
    wanted: set[Total] = {_total(c, when) for charges, when in zip(parsed, at, strict=True)
                          if charges for c in charges}
    totals = _load(conn, wanted)
    for charges, when in zip(parsed, at, strict=True):
        for charge in charges or ():
            key = _total(charge, when)
            amount, count = totals.get(key, (Decimal(0), 0))
            totals[key] = (amount + charge.amount, count + 1)
    _save(conn, {k: totals[k] for k in wanted}, now)


def _load(conn: sa.Connection, wanted: set[Total]) -> dict[Total, tuple[Decimal, int]]:
    stored = spend_totals(conn, sorted({w[0] for w in wanted}), sorted({w[1] for w in wanted}))
    return {total: value for total, value in stored.items() if total in wanted}


_UPSERTS: dict[str, Any] = {}


def _upsert(dialect: sa.Dialect) -> Any:
    statement = _UPSERTS.get(dialect.name)
    if statement is None:
        module = postgresql if dialect.name == "postgresql" else sqlite
        insert = module.insert(_TABLE)
        statement = _UPSERTS[dialect.name] = insert.on_conflict_do_update(
            index_elements=[_TABLE.c.subject, _TABLE.c.period, _TABLE.c.currency],
            set_={"amount": insert.excluded.amount, "count": insert.excluded["count"],
                  "updated_at": insert.excluded.updated_at})
    return statement


def _save(conn: sa.Connection, totals: dict[Total, tuple[Decimal, int]], now: dt.datetime
          ) -> None:
    """Write the new totals (absolute values: the chain lock is held, nobody else writes)."""
    if totals:
        conn.execute(_upsert(conn.dialect), [
            {"subject": s, "period": p, "currency": c, "amount": amount, "count": count,
             "updated_at": now} for (s, p, c), (amount, count) in totals.items()])


def spend_totals(conn: sa.Connection | Any, subjects: Sequence[str], periods: Sequence[str]
                 ) -> dict[Total, tuple[Decimal, int]]:
    """The stored totals of ``subjects`` in ``periods`` (settlement, pages, reports)."""
    if not subjects or not periods:
        return {}
    rows = conn.execute(_SELECT, {"subjects": list(subjects), "periods": list(periods)})
    return {(r.subject, r.period, r.currency): (r.amount, r.count) for r in rows}


__all__ = ["charges_to_details", "record_charges", "spend_totals"]
