"""Leases of running-total limits in the database (issue #14 item 3; R-E5, SAMA 004 §15 g):
the short transactions in which a host takes a slice of a limit (``spend_lease``) or gives
back what it did not spend.

A lease is granted in one transaction that holds the row (``SELECT … FOR UPDATE`` on
PostgreSQL, where several hosts share the database; ``BEGIN IMMEDIATE`` on SQLite, see
``app.db``): the grant is computed from the row's ``leased`` and the update is conditional on
``leased + grant <= limit`` as well, so ``leased`` can never pass the limit, whatever the
number of hosts. A new row starts at the period's settled ``spend_total`` (what was accepted
before leases existed, or before this row was created), and the host that created it counts
that amount as leased and spent.

Amounts here are integers of 1/10,000 of the currency unit, like the slots.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from app.db import Money
from app.models import SpendLease, SpendTotal

Total = tuple[str, str, str]  # (subject, period key, currency)

_LEASE = SpendLease.__table__
_TOTAL = SpendTotal.__table__


def to_decimal(units: int) -> Decimal:
    """``units`` of 1/10,000 as an amount."""
    return Decimal(units).scaleb(-4)


def _money(units: int) -> sa.BindParameter[Decimal]:
    """A bound amount typed as ``Money`` (scaled integers on SQLite, like the column)."""
    return sa.literal(to_decimal(units), Money())


def to_units(amount: Decimal) -> int:
    """An amount (at most 4 decimals, as ``Money`` stores it) in units of 1/10,000."""
    return int(amount.scaleb(4))


@dataclass(frozen=True, slots=True)
class Grant:
    """What a lease call got: ``granted`` units (0: refused), and ``seeded`` units the new row
    started with (this host created it: count them as leased and spent)."""

    granted: int
    seeded: int = 0


def _where(total: Total) -> sa.ColumnElement[bool]:
    subject, period, currency = total
    return sa.and_(_LEASE.c.subject == subject, _LEASE.c.period == period,
                   _LEASE.c.currency == currency)


def _insert(conn: sa.Connection, total: Total, now: dt.datetime) -> int | None:
    """Create the row at the settled total; its units if this call created it, else None."""
    subject, period, currency = total
    settled = conn.execute(sa.select(_TOTAL.c.amount).where(
        _TOTAL.c.subject == subject, _TOTAL.c.period == period,
        _TOTAL.c.currency == currency)).scalar()
    module = postgresql if conn.dialect.name == "postgresql" else sqlite
    created = conn.execute(module.insert(_LEASE).values(
        subject=subject, period=period, currency=currency, leased=settled or Decimal(0),
        updated_at=now).on_conflict_do_nothing().returning(_LEASE.c.leased)).scalar()
    return None if created is None else to_units(created)


def lease(engine: Engine, total: Total, need: int, chunk: int, limit: int,
          now: dt.datetime) -> Grant:
    """Lease ``min(max(need, chunk), limit - leased)`` units of ``total`` if that covers
    ``need`` (after seeding a new row); otherwise grant nothing."""
    locked = sa.select(_LEASE.c.leased).where(_where(total)).with_for_update()
    with engine.begin() as conn:
        leased = conn.execute(locked).scalar()
        seeded = 0
        if leased is None:
            created = _insert(conn, total, now)
            seeded = created or 0
            leased = to_decimal(created) if created is not None else (
                conn.execute(locked).scalar_one())
        have = to_units(leased)
        grant = min(max(need, chunk), limit - have)
        if grant < need or grant <= 0:
            return Grant(0, seeded)
        moved = conn.execute(_LEASE.update().where(
            _where(total), _LEASE.c.leased + _money(grant) <= _money(limit)).values(
            leased=_LEASE.c.leased + _money(grant), updated_at=now).returning(
            _LEASE.c.leased)).scalar()
        if moved is None:  # cannot happen while the row is held; refuse if it does
            raise RuntimeError(f"the lease of {total} moved while it was held")
        return Grant(grant, seeded)


def give_back(engine: Engine, total: Total, units: int, now: dt.datetime) -> None:
    """Return ``units`` unspent units of ``total`` to the limit (never below 0)."""
    if units <= 0:
        return
    amount = _money(units)
    with engine.begin() as conn:
        conn.execute(_LEASE.update().where(_where(total)).values(
            leased=sa.case((_LEASE.c.leased >= amount, _LEASE.c.leased - amount),
                           else_=_money(0)), updated_at=now))


def leased(engine: Engine, total: Total) -> Decimal | None:
    """The total leased by all hosts (reports, tests); None if nothing was leased."""
    with engine.connect() as conn:
        return conn.execute(sa.select(_LEASE.c.leased).where(_where(total))).scalar()


def prune(conn: sa.Connection, now: dt.datetime, keep_days: int = 2) -> int:
    """Delete the leases of periods over for at least ``keep_days`` days (UTC dates: on any
    calendar a day is over 14 hours after its UTC date ends): daily totals dated before
    ``now - keep_days`` and monthly totals of months before that date's month. Nothing charges
    such a total any more; a host giving back a slice of one later updates no row. The settled
    ``spend_total`` rows stay (they are the record of what was spent). Returns the rows
    deleted."""
    cutoff = (now.astimezone(dt.UTC) - dt.timedelta(days=keep_days)).date()
    day, month = cutoff.isoformat(), cutoff.isoformat()[:7]
    period = _LEASE.c.period
    result = conn.execute(_LEASE.delete().where(sa.or_(
        sa.and_(sa.func.length(period) == 10, period < day),
        sa.and_(sa.func.length(period) == 7, period < month))))
    return result.rowcount or 0
