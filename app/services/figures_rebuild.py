"""Recomputing merchants' running figures from what is stored (``kybgate figures rebuild``).

For recovery (figures lost or suspected wrong) and for databases that had transactions before
the figures existed: the merchant's figures row and per-day rows are replaced by ones computed
from its stored sales and, when the policy counts them, the allowed verifications with an amount
in the audit trail — the same sales the incremental path counts, so a rebuild of a database
whose figures were kept on ingest changes nothing. Runs in the caller's transaction, with the
figures row locked, so ingest waits for it instead of racing it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa

from app.services.figures import (
    DAYS,
    FIGURES,
    MERCHANTS,
    add_day_sales,
    judged,
    locked_row,
    reference_for,
    stored_sales,
    window_days,
)
from checks.figures import TicketSketch, add_amounts, window_shares
from checks.policy import Policy

CHUNK = 5000  # sales folded into the figures at a time


@dataclass(frozen=True)
class Rebuilt:
    """A merchant's rebuilt figures: counts, and the thresholds they are at or over."""

    merchant_id: str
    sales: int
    turnover_try: Decimal
    days: int
    over: tuple[str, ...] = field(default_factory=tuple)


def rebuild_merchant(conn: sa.Connection, *, merchant_id: str, policy: Policy,
                     now: dt.datetime, mark_pending: bool = False) -> Rebuilt:
    """Replace the merchant's figures by ones computed from its stored sales. With
    ``mark_pending`` the thresholds they are over become pending crossings (re-judged by
    ``app.services.figure_crossings.rejudge_pending``; alerts already open are not repeated)."""
    merchant = conn.execute(sa.select(MERCHANTS.c.activated_at, MERCHANTS.c.latest_assessment_id)
                            .where(MERCHANTS.c.id == merchant_id)).one()
    kept = list(locked_row(conn, merchant_id, now).pending)  # crossings not yet re-judged
    conn.execute(DAYS.delete().where(DAYS.c.merchant_id == merchant_id))
    sketch, windows = TicketSketch(), add_amounts({}, window_shares(merchant.activated_at,
                                                                    window_days(policy), []))
    count, total, last = 0, Decimal(0), None
    chunk: list[tuple[dt.datetime, Decimal]] = []
    days: set[dt.date] = set()
    for sale in stored_sales(conn, merchant_id=merchant_id, policy=policy):
        chunk.append(sale)
        if len(chunk) >= CHUNK:
            windows, last = _fold(conn, merchant_id, merchant.activated_at, chunk, sketch,
                                  windows, last, policy, days)
            count, total, chunk = count + len(chunk), total + _sum(chunk), []
    windows, last = _fold(conn, merchant_id, merchant.activated_at, chunk, sketch, windows,
                          last, policy, days)
    count, total = count + len(chunk), total + _sum(chunk)
    reference, reference_id = reference_for(conn, assessment_id=merchant.latest_assessment_id,
                                            known=(None, None), policy=policy)
    over = tuple(sorted(judged(windows, sketch, reference, policy)))
    conn.execute(FIGURES.update().where(FIGURES.c.merchant_id == merchant_id).values(
        activated_at=merchant.activated_at, sales_count=count, sales_try=total,
        window_turnover=windows, ticket_buckets=sketch.to_json(), ticket_min=sketch.smallest,
        ticket_max=sketch.largest, reference_try=reference,
        reference_assessment_id=reference_id, last_sale_at=last, updated_at=now,
        pending=list(dict.fromkeys([*kept, *over])) if mark_pending else kept))
    return Rebuilt(merchant_id, count, total, len(days), over)


def _fold(conn: sa.Connection, merchant_id: str, activated_at: dt.datetime | None,
          chunk: list[tuple[dt.datetime, Decimal]], sketch: TicketSketch,
          windows: dict[str, str], last: dt.datetime | None, policy: Policy,
          days: set[dt.date]) -> tuple[dict[str, str], dt.datetime | None]:
    if not chunk:
        return windows, last
    from checks.monitoring.windows import local_day
    sketch.add(amount for _, amount in chunk)
    add_day_sales(conn, merchant_id=merchant_id, sales=chunk, policy=policy)
    days.update(local_day(at, policy) for at, _ in chunk)
    newest = max(at for at, _ in chunk)
    windows = add_amounts(windows, window_shares(activated_at, window_days(policy), chunk))
    return windows, newest if last is None or newest > last else last


def _sum(chunk: list[tuple[dt.datetime, Decimal]]) -> Decimal:
    return sum((amount for _, amount in chunk), Decimal(0))


def merchants_with_sales(conn: sa.Connection) -> list[str]:
    """Every merchant with a stored transaction, a figures row or a verification event."""
    from app.models import AuditEvent, Transaction
    ids: set[str] = set(conn.execute(sa.select(Transaction.__table__.c.merchant_id)
                                     .distinct()).scalars())
    ids.update(conn.execute(sa.select(FIGURES.c.merchant_id)).scalars())
    events = AuditEvent.__table__
    ids.update(m for m in conn.execute(sa.select(events.c.merchant_id).distinct().where(
        events.c.action == "api.verify", events.c.amount.is_not(None))).scalars() if m)
    return sorted(ids)


__all__ = ["Rebuilt", "merchants_with_sales", "rebuild_merchant"]
