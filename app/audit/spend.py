"""Running totals of accepted amounts, settled where verification events are chained (R-E5;
SAMA 004 §15 c, g).

An allowed verification carries its charges in ``details["charges"]`` (see
``api_keys.limits.Charge``): the key's daily limit, the merchant's daily and monthly caps. The
audit append settles them under the chain lock, in the transaction that stores the events, in
the order the events are chained:

* every charge fits → the totals grow, and each charge in the event records the total it found
  (``spent``): the evidence that the limit held;
* one does not fit → the event is stored as ``deny`` / ``limit_exceeded`` with the limit named
  in ``details["limit"]``, nothing is added, and the worker answers ``limit_exceeded``.

Because the chain lock serialises every appender on every host, two requests can never both
take the last of a limit, whatever worker or writer they went through; and a total never counts
an event that was not stored (they commit together).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from api_keys.limits import Charge, period_key, plain_amount
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


def _limit_words(charge: Charge) -> str:
    kind = charge.subject.split(":", 1)[0]
    period = "daily" if charge.period == "day" else "monthly"
    return f"{kind} {period} limit {plain_amount(charge.limit)} {charge.currency}"


def settle_charges(conn: sa.Connection, drafts: Sequence[EventDraft], now: dt.datetime
                   ) -> tuple[list[EventDraft], list[str | None]]:
    """Check and add the charges of ``drafts`` (in order) to the running totals.

    Returns the drafts as they must be stored and, per draft, the reason it was turned down
    (``limit_exceeded``) or None. The caller holds the chain lock and commits.
    """
    parsed = [_charges(d) for d in drafts]
    if not any(p is not None for p in parsed):
        return list(drafts), [None] * len(drafts)
    at = [(d.at or now) for d in drafts]
    wanted: set[Total] = {_total(c, when) for charges, when in zip(parsed, at, strict=True)
                          if charges for c in charges}
    totals = _load(conn, wanted)
    touched: set[Total] = set()
    out: list[EventDraft] = []
    denied: list[str | None] = []
    for draft, charges, when in zip(drafts, parsed, at, strict=True):
        if charges is None:
            out.append(draft)
            denied.append(None)
            continue
        keys = [_total(c, when) for c in charges]
        spent = [totals.get(k, (Decimal(0), 0))[0] for k in keys]
        evidence = [{**entry, "spent": plain_amount(s)}
                    for entry, s in zip(charges_to_details(charges), spent, strict=True)]
        refused = next((c for c, s in zip(charges, spent, strict=True) if not c.fits(s)), None)
        if refused is not None or not charges:
            words = _limit_words(refused) if refused else "malformed limit charges"
            out.append(dataclasses.replace(draft, decision="deny", reason="limit_exceeded",
                                           details={**draft.details, "charges": evidence,
                                                    "limit": words}))
            denied.append("limit_exceeded")
            continue
        for key, charge in zip(keys, charges, strict=True):
            amount, count = totals.get(key, (Decimal(0), 0))
            totals[key] = (amount + charge.amount, count + 1)
            touched.add(key)
        out.append(dataclasses.replace(draft, details={**draft.details, "charges": evidence}))
        denied.append(None)
    _save(conn, {k: totals[k] for k in touched}, now)
    return out, denied


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


__all__ = ["charges_to_details", "settle_charges", "spend_totals"]
