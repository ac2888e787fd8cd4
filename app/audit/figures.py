"""Verification traffic in the merchants' running figures (R-A4, R-A5, R-A7).

With ``[figures] count_verifications = true`` an allowed verification that carries an amount is
a sale of the merchant for its figures (turnover windows, tickets, per-day totals). Like the
spend totals (``app.audit.spend``) the figures are settled in the audit commit: the in-batch
hook of :func:`figures_in_batch` runs in the transaction that stores the events, after their
charges were settled (a verification a limit turned down does not count), so the figures are
exact and durable with the events — a crash loses both or neither. (Should the update itself
fail, it is rolled back to a savepoint and logged, and the events are still stored: a
verification is never refused for the figures' sake; ``kybgate figures rebuild`` repairs them.)
The hook only updates the figures and marks what crossed a threshold (the row's ``pending``
list); the re-judging runs off the commit path (``app.services.figure_crossings.FiguresObserver``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal

import sqlalchemy as sa

from app.audit.trail import EventDraft
from app.models import AuditEvent
from checks.facts import Money
from checks.policy import Policy

log = logging.getLogger("kybgate.figures")
VERIFY_ACTION = "api.verify"
Sale = tuple[dt.datetime, Decimal]


def verification_sales_of(drafts: Sequence[EventDraft], policy: Policy,
                          now: dt.datetime) -> dict[str, list[Sale]]:
    """The allowed verifications with an amount (in a currency the policy converts), per
    merchant, as sales in TRY; empty when the policy does not count verifications."""
    out: dict[str, list[Sale]] = defaultdict(list)
    if not policy.figures.count_verifications:
        return out
    for d in drafts:
        if (d.action != VERIFY_ACTION or d.decision != "allow" or not d.merchant_id
                or d.amount is None or not d.currency):
            continue
        amount_try = policy.to_try(Money(Decimal(d.amount), d.currency))
        if amount_try is not None:
            out[d.merchant_id].append((d.at or now, amount_try))
    return out


def figures_in_batch(policy: Policy) -> Callable[[sa.Connection, Sequence[EventDraft]], None]:
    """An audit in-batch hook that adds a batch's allowed verifications to the figures."""
    from app.services.figures import apply_sales, apply_sales_many

    def settle(conn: sa.Connection, merchants: Sequence[tuple[str, list[Sale]]],
               now: dt.datetime) -> None:
        for merchant_id, sales in merchants:
            try:
                # A failure here must not cost the verifications their events (the figures of
                # that merchant are then short until `figures rebuild`). PostgreSQL needs a
                # savepoint to go on after a failed statement; SQLite undoes only the statement.
                if conn.dialect.name == "postgresql":
                    with conn.begin_nested():
                        apply_sales(conn, merchant_id=merchant_id, sales=sales, policy=policy,
                                    now=now)
                else:
                    apply_sales(conn, merchant_id=merchant_id, sales=sales, policy=policy,
                                now=now)
            except Exception:
                log.exception("figures of merchant %s not updated; run `kybgate figures "
                              "rebuild --merchant %s`", merchant_id, merchant_id)

    def settle_figures(conn: sa.Connection, drafts: Sequence[EventDraft]) -> None:
        now = dt.datetime.now(dt.UTC)
        merchants = sorted(verification_sales_of(drafts, policy, now).items())
        if len(merchants) > 1:
            # The batch's merchants together: a statement per step instead of four per
            # merchant (and on PostgreSQL one savepoint instead of one each), in the audit
            # writer's commit that runs several times a second. Should anything fail, the
            # savepoint undoes it all and each merchant is settled on its own, as below.
            try:
                with conn.begin_nested():
                    apply_sales_many(conn, sales=dict(merchants), policy=policy, now=now)
                return
            except Exception:  # noqa: BLE001 - retried merchant by merchant, logged there
                log.warning("figures of a batch's merchants not updated together; one by one")
        settle(conn, merchants, now)
    return settle_figures


def both(*hooks: Callable[[sa.Connection, Sequence[EventDraft]], None] | None
         ) -> Callable[[sa.Connection, Sequence[EventDraft]], None]:
    """One in-batch hook running each of ``hooks`` in order (None skipped)."""
    chosen = [h for h in hooks if h is not None]

    def run(conn: sa.Connection, drafts: Sequence[EventDraft]) -> None:
        for hook in chosen:
            hook(conn, drafts)
    return run


def verification_sales(conn: sa.Connection, *, merchant_id: str, policy: Policy,
                       start: dt.datetime | None = None,
                       end: dt.datetime | None = None) -> Iterator[Sale]:
    """The merchant's allowed verifications with an amount in ``[start, end)`` from the audit
    trail, as sales in TRY (``kybgate figures rebuild``, a recount of the windows)."""
    events = AuditEvent.__table__
    query = sa.select(events.c.at, events.c.amount, events.c.currency).where(
        events.c.action == VERIFY_ACTION, events.c.merchant_id == merchant_id,
        events.c.decision == "allow", events.c.amount.is_not(None))
    if start is not None:
        query = query.where(events.c.at >= start)
    if end is not None:
        query = query.where(events.c.at < end)
    for at, amount, currency in conn.execute(query):
        amount_try = policy.to_try(Money(amount, currency or ""))
        if amount_try is not None:
            yield at, amount_try
