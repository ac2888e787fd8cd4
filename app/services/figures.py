"""Merchants' running figures (R-A4, R-A5, R-A7), updated incrementally on ingest.

:func:`apply_sales` adds a batch of sales to a merchant's ``merchant_figures`` row and its
``merchant_day_sales`` rows and returns the thresholds the batch crossed. It runs on a Core
connection, in the transaction that stores the sales, with the figures row locked
(``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's single writer serialises on its own), so two
concurrent batches never lose an update and the figures commit (or roll back) with the sales:

* transactions: :func:`on_transactions_recorded` subscribes to ``transactions_recorded`` (before
  the monitoring scenarios, which read the per-day rows), then re-judges a crossing in the same
  request (``app.services.figure_crossings``);
* verifications: ``app.audit.figures`` calls it in the audit writer's commit; the crossing is
  stored in the row's ``pending`` list and re-judged off the commit path.

Nothing here scans a merchant's history, except a recount of the windows when the activation
instant changed (once per merchant) and ``kybgate figures rebuild``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from app.audit.trail import Actor
from app.models import Assessment, Merchant, MerchantDaySales, MerchantFigures
from app.services import hooks
from checks.facts import MerchantFacts
from checks.figures import TicketSketch, add_amounts, window_shares
from checks.kyb.pricing import reference_price
from checks.monitoring.windows import local_day
from checks.policy import Policy

FIGURES = MerchantFigures.__table__
DAYS = MerchantDaySales.__table__
MERCHANTS = Merchant.__table__
Sale = tuple[dt.datetime, Decimal]  # (occurred_at, amount in TRY)
TURNOVER, TICKETS, SECTOR = "new_merchant_turnover", "price_ticket_mismatch", "sector_outlier"
SECTOR_CACHE = "kyb.sector_totals"  # Session.info: per-day sector totals read in this session


def apply_sales(conn: sa.Connection, *, merchant_id: str, sales: Sequence[Sale],
                policy: Policy, now: dt.datetime) -> list[str]:
    """Add ``sales`` (already stored) to the merchant's figures; return the crossings found,
    which are also appended to the row's ``pending`` list (``"new_merchant_turnover:30"``,
    ``"price_ticket_mismatch"``). The caller commits."""
    if not sales:
        return []
    merchant = conn.execute(_MERCHANT, {"mid": merchant_id}).one()
    row = locked_row(conn, merchant_id, now)
    values, crossed = _settled(conn, merchant, row, sales, policy, now)
    conn.execute(_UPDATE, values)
    add_day_sales(conn, merchant_id=merchant_id, sales=sales, policy=policy)
    return crossed


def apply_sales_many(conn: sa.Connection, *, sales: Mapping[str, Sequence[Sale]],
                     policy: Policy, now: dt.datetime) -> dict[str, list[str]]:
    """:func:`apply_sales` for several merchants at once, with the same rows as a result: the
    merchants and their figures rows read with one query each (the rows locked in merchant
    order), one UPDATE and one per-day upsert for them all, instead of four statements per
    merchant (the audit writer settles every merchant of a batch in its commit). Returns the
    crossings per merchant. The caller commits; should a statement fail, nothing of it stays
    only if the caller holds a savepoint."""
    ids = sorted(m for m, found in sales.items() if found)
    if not ids:
        return {}
    merchants = {r.id: r for r in conn.execute(_MERCHANTS, {"mids": ids})}
    rows = locked_rows(conn, ids, now)
    updates, days, crossed = [], [], {}
    for merchant_id in ids:
        if merchant_id not in merchants:
            raise sa.exc.NoResultFound(f"no merchant {merchant_id}")
        values, crossed[merchant_id] = _settled(conn, merchants[merchant_id], rows[merchant_id],
                                                sales[merchant_id], policy, now)
        updates.append(values)
        days += _day_rows(merchant_id, sales[merchant_id], policy)
    conn.execute(_UPDATE, updates)
    conn.execute(_day_upsert(conn.dialect), days)
    return crossed


def _settled(conn: sa.Connection, merchant: Any, row: Any, sales: Sequence[Sale],
             policy: Policy, now: dt.datetime) -> tuple[dict[str, Any], list[str]]:
    """The figures row's new values after ``sales`` (for ``_UPDATE``) and the crossings."""
    merchant_id = row.merchant_id
    reference, reference_id = reference_for(
        conn, assessment_id=merchant.latest_assessment_id,
        known=(row.reference_try, row.reference_assessment_id), policy=policy)
    sketch = TicketSketch(dict(row.ticket_buckets), row.ticket_min, row.ticket_max)
    windows = dict(row.window_turnover)
    before = judged(windows, sketch, reference, policy)
    if _stale_windows(row.activated_at, merchant.activated_at, windows, policy):
        # The batch is already stored, so the recount includes it.
        windows = recount_windows(conn, merchant_id=merchant_id,
                                  activated_at=merchant.activated_at, policy=policy)
    else:
        windows = add_amounts(windows, window_shares(merchant.activated_at,
                                                     window_days(policy), sales))
    sketch.add(amount for _, amount in sales)
    crossed = sorted(judged(windows, sketch, reference, policy) - before)
    pending = list(dict.fromkeys([*row.pending, *crossed]))
    return {
        "mid": merchant_id, "activated_at": merchant.activated_at,
        "sales_count": row.sales_count + len(sales),
        "sales_try": row.sales_try + sum((a for _, a in sales), Decimal(0)),
        "window_turnover": windows, "ticket_buckets": sketch.to_json(),
        "ticket_min": sketch.smallest, "ticket_max": sketch.largest, "reference_try": reference,
        "reference_assessment_id": reference_id, "pending": pending,
        "last_sale_at": max([s[0] for s in sales] + ([row.last_sale_at] if row.last_sale_at
                                                       else [])),
        "updated_at": now}, crossed


# Statements built once (the audit writer runs them per batch: no per-call cache-key work).
_MERCHANT = sa.select(MERCHANTS.c.activated_at, MERCHANTS.c.latest_assessment_id).where(
    MERCHANTS.c.id == sa.bindparam("mid"))
_MERCHANTS = sa.select(MERCHANTS.c.id, MERCHANTS.c.activated_at,
                       MERCHANTS.c.latest_assessment_id).where(
    MERCHANTS.c.id.in_(sa.bindparam("mids", expanding=True)))
_ROW = sa.select(FIGURES).where(FIGURES.c.merchant_id == sa.bindparam("mid"))
_ROW_LOCKED = _ROW.with_for_update()
_ROWS = sa.select(FIGURES).where(FIGURES.c.merchant_id.in_(sa.bindparam("mids", expanding=True))
                                 ).order_by(FIGURES.c.merchant_id)
_ROWS_LOCKED = _ROWS.with_for_update()
_UPDATE = FIGURES.update().where(FIGURES.c.merchant_id == sa.bindparam("mid"))


def locked_row(conn: sa.Connection, merchant_id: str, now: dt.datetime) -> Any:
    """The merchant's figures row, created empty if missing, locked until the commit."""
    query = _ROW_LOCKED if conn.dialect.name == "postgresql" else _ROW
    row = conn.execute(query, {"mid": merchant_id}).one_or_none()
    if row is not None:
        return row
    module = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(module.insert(FIGURES).values(
        merchant_id=merchant_id, sales_count=0, sales_try=Decimal(0), window_turnover={},
        ticket_buckets={}, pending=[], updated_at=now).on_conflict_do_nothing())
    return conn.execute(query, {"mid": merchant_id}).one()


def locked_rows(conn: sa.Connection, merchant_ids: Sequence[str], now: dt.datetime
                ) -> dict[str, Any]:
    """:func:`locked_row` of each of ``merchant_ids`` (sorted), with one query (two when some
    are missing), locked in merchant order until the commit."""
    query = _ROWS_LOCKED if conn.dialect.name == "postgresql" else _ROWS
    rows = {r.merchant_id: r for r in conn.execute(query, {"mids": list(merchant_ids)})}
    missing = [m for m in merchant_ids if m not in rows]
    if missing:
        module = postgresql if conn.dialect.name == "postgresql" else sqlite
        conn.execute(module.insert(FIGURES).on_conflict_do_nothing(), [
            {"merchant_id": m, "sales_count": 0, "sales_try": Decimal(0),
             "window_turnover": {}, "ticket_buckets": {}, "pending": [], "updated_at": now}
            for m in missing])
        rows.update({r.merchant_id: r for r in conn.execute(query, {"mids": missing})})
    return rows


def window_days(policy: Policy) -> list[int]:
    """The new-merchant windows of the policy, in days."""
    return [w.days for w in policy.check(TURNOVER).params["windows"]]


def judged(windows: dict[str, str], sketch: TicketSketch, reference: Decimal | None,
           policy: Policy) -> set[str]:
    """The thresholds the figures are at or over: each R-A4 window whose cap is reached, and
    R-A5 when the median or p90 ticket reaches its ratio of the reference price."""
    out = {f"{TURNOVER}:{w.days}" for w in policy.check(TURNOVER).params["windows"]
           if Decimal(windows.get(str(w.days), "0")) >= w.cap_try}
    params = policy.check(TICKETS).params
    if reference and sketch.count >= params["min_sales"]:
        median, p90 = sketch.median(), sketch.p90()
        if (median is not None and median >= params["median_ratio"] * reference) or \
                (p90 is not None and p90 >= params["p90_ratio"] * reference):
            out.add(TICKETS)
    return out


def _stale_windows(counted_from: dt.datetime | None, activated_at: dt.datetime | None,
                   windows: dict[str, str], policy: Policy) -> bool:
    if counted_from != activated_at:
        return True
    return activated_at is not None and any(str(d) not in windows for d in window_days(policy))


def reference_for(conn: sa.Connection, *, assessment_id: str | None, known: tuple[Decimal |
                  None, str | None], policy: Policy) -> tuple[Decimal | None, str | None]:
    """The R-A5 reference price of the merchant's latest assessment and that assessment's id
    (read once per assessment; ``known`` is what the row holds)."""
    if assessment_id is None or assessment_id == known[1]:
        return known
    snapshot = conn.execute(sa.select(Assessment.__table__.c.input_snapshot)
                            .where(Assessment.__table__.c.id == assessment_id)).scalar()
    if not snapshot:
        return None, assessment_id
    return reference_price(MerchantFacts.from_dict(snapshot["facts"]), policy), assessment_id


def recount_windows(conn: sa.Connection, *, merchant_id: str,
                    activated_at: dt.datetime | None, policy: Policy) -> dict[str, str]:
    """The window turnovers counted from the stored sales (and, when the policy counts them,
    the allowed verifications of the audit trail)."""
    if activated_at is None:
        return {}
    end = activated_at + dt.timedelta(days=max(window_days(policy)))
    sales = list(stored_sales(conn, merchant_id=merchant_id, policy=policy,
                              start=activated_at, end=end))
    return add_amounts({}, window_shares(activated_at, window_days(policy), sales))


def stored_sales(conn: sa.Connection, *, merchant_id: str, policy: Policy,
                 start: dt.datetime | None = None,
                 end: dt.datetime | None = None) -> Iterable[Sale]:
    """The merchant's stored sales in ``[start, end)`` (TRY amounts), transactions first, then
    the allowed verifications with an amount when ``[figures] count_verifications``."""
    from app.audit.figures import verification_sales
    from app.models import Transaction
    trx = Transaction.__table__
    query = sa.select(trx.c.occurred_at, trx.c.amount_try).where(
        trx.c.merchant_id == merchant_id, trx.c.type == "sale", trx.c.amount_try.is_not(None))
    if start is not None:
        query = query.where(trx.c.occurred_at >= start)
    if end is not None:
        query = query.where(trx.c.occurred_at < end)
    yield from ((at, amount) for at, amount in conn.execute(query))
    if policy.figures.count_verifications:
        yield from verification_sales(conn, merchant_id=merchant_id, policy=policy,
                                      start=start, end=end)


_DAY_UPSERTS: dict[str, Any] = {}


def add_day_sales(conn: sa.Connection, *, merchant_id: str, sales: Iterable[Sale],
                  policy: Policy) -> None:
    """Add ``sales`` to the merchant's per-local-day totals (an atomic increment)."""
    rows = _day_rows(merchant_id, sales, policy)
    if rows:
        conn.execute(_day_upsert(conn.dialect), rows)


def _day_rows(merchant_id: str, sales: Iterable[Sale], policy: Policy) -> list[dict[str, Any]]:
    days: dict[dt.date, list[Decimal]] = defaultdict(list)
    for occurred_at, amount in sales:
        days[local_day(occurred_at, policy)].append(amount)
    return [{"merchant_id": merchant_id, "day": day, "sales_count": len(amounts),
             "sales_try": sum(amounts, Decimal(0))} for day, amounts in sorted(days.items())]


def _day_upsert(dialect: sa.Dialect) -> Any:
    statement = _DAY_UPSERTS.get(dialect.name)
    if statement is None:
        module = postgresql if dialect.name == "postgresql" else sqlite
        insert = module.insert(DAYS)
        statement = _DAY_UPSERTS[dialect.name] = insert.on_conflict_do_update(
            index_elements=[DAYS.c.merchant_id, DAYS.c.day],
            set_={"sales_count": DAYS.c.sales_count + insert.excluded.sales_count,
                  "sales_try": DAYS.c.sales_try + insert.excluded.sales_try})
    return statement


def day_totals(conn: sa.Connection | Session, *, end: dt.datetime, days: int, policy: Policy,
               merchant_id: str | None = None, sector: str | None = None
               ) -> dict[str, Decimal]:
    """Sales per merchant over the ``days`` local days ending with ``end``'s (inclusive): of
    one merchant, or of every merchant of an MCC. Reads only ``merchant_day_sales`` rows."""
    last = local_day(end, policy)
    query = (sa.select(DAYS.c.merchant_id, sa.func.sum(DAYS.c.sales_try))
             .where(DAYS.c.day > last - dt.timedelta(days=days), DAYS.c.day <= last)
             .group_by(DAYS.c.merchant_id))
    if merchant_id is not None:
        query = query.where(DAYS.c.merchant_id == merchant_id)
    if sector is not None:
        query = query.join(MERCHANTS, MERCHANTS.c.id == DAYS.c.merchant_id).where(
            MERCHANTS.c.sector == sector)
    return {m: Decimal(total or 0) for m, total in conn.execute(query).all()}


def sales_of(transactions: Iterable[Any]) -> list[Sale]:
    """The sales among stored ``Transaction`` rows, as figures count them."""
    return [(t.occurred_at, t.amount_try) for t in transactions
            if t.type == "sale" and t.amount_try is not None]


def monitoring_on() -> bool:
    """Whether ingest runs the scenarios and keeps the figures (``KYB_MONITORING``, default
    on); outside an app (scripts, the CLI without one) always on."""
    from flask import has_app_context
    if not has_app_context():
        return True
    from app.extensions import settings
    return settings().monitoring


@hooks.subscribe("transactions_recorded", first=True)
def on_transactions_recorded(*, session: Session, actor: Actor, now: dt.datetime,
                             merchant_id: str, transactions: Sequence[Any] = (),
                             **_: Any) -> list[str]:
    """Add a stored batch to the merchant's figures; re-judge what it crossed (R-D1)."""
    if not monitoring_on():
        return []
    from app.services.assessments import current_policy
    from app.services.figure_crossings import rejudge, sector_crossing
    policy = current_policy()
    crossed = apply_sales(session.connection(), merchant_id=merchant_id,
                          sales=sales_of(transactions), policy=policy, now=now)
    session.info.pop(SECTOR_CACHE, None)  # the per-day rows just moved
    crossed += sector_crossing(session, merchant_id=merchant_id, policy=policy, now=now)
    if crossed:
        rejudge(session, merchant_id=merchant_id, actor=actor, now=now, policy=policy)
    return crossed
