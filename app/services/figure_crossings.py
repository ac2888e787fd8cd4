"""Re-judging a merchant when a running figure crosses a threshold (R-A4, R-A5, R-A7; R-D1).

A crossing found by ``app.services.figures.apply_sales`` (or by :func:`sector_crossing`) sits in
the figures row's ``pending`` list until :func:`rejudge` handles it:

* one alert per crossing through ``app.services.monitoring.open_alerts`` (its unique
  ``dedupe_key`` stops a second one): ``figures:new_merchant_turnover:<days>d`` once per window,
  ``figures:price_ticket_mismatch:<local month>``, and R-A7 with the same key as the
  ``sector_outlier`` scenario (``sector_outlier:merchant:<local month>``), so the two never
  both alert;
* for R-A4/R-A5, a new assessment (trigger ``figures:<codes>``) made without any outside lookup:
  the latest assessment's snapshot gives the lookup facts, the fresh figures the turnover and
  tickets (``checks.facts.SalesFigures``). A move to the high tier blocks the merchant's keys
  through ``hooks.tier_changed``, as for any assessment. A merchant never assessed gets the
  alert only (its first assessment reads everything afresh).

Transactions re-judge in the request that stored them. Verifications are counted in the audit
commit; :class:`FiguresObserver` re-judges off that path, on a thread, after each committed batch.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.audit.trail import Actor
from app.models import Alert, Assessment, Merchant
from app.services.assessments import (
    SnapshotErased,
    latest_assessment,
    snapshot_facts,
    store_assessment,
)
from app.services.background import BackgroundQueue
from app.services.figures import FIGURES, SECTOR, TICKETS, TURNOVER, judged, locked_row
from app.services.monitoring import alert_key, open_alerts, sector_average
from app.services.sealed_assessments import open_assessment
from checks.facts import SalesFigures, TransactionsSummary, WindowTurnover
from checks.figures import ALPHA, TicketSketch
from checks.monitoring.model import ScenarioHit
from checks.monitoring.turnover import SectorJudgement, judge_sector, sector_hit
from checks.monitoring.windows import month_label
from checks.policy import Policy
from checks.wording import says

log = logging.getLogger("kybgate.figures")
SYSTEM = Actor(name="system:figures")


@dataclass(frozen=True)
class Rejudged:
    """What a re-judgement did: the alerts it opened and the assessment it recorded."""

    crossings: tuple[str, ...]
    alerts: tuple[Alert, ...] = ()
    assessment: Assessment | None = None


def sales_figures(row: Any, *, policy: Policy, now: dt.datetime) -> SalesFigures:
    """The figures row as the fact the KYB checks read."""
    sketch = TicketSketch(dict(row.ticket_buckets), row.ticket_min, row.ticket_max)
    windows = tuple(WindowTurnover(int(days), Decimal(amount))
                    for days, amount in sorted(row.window_turnover.items(), key=lambda i:
                                               int(i[0])))
    return SalesFigures(as_of=now, windows=windows, sales_count=sketch.count,
                        ticket_median_try=sketch.median(), ticket_p90_try=sketch.p90(),
                        ticket_accuracy=Decimal(str(ALPHA)),
                        includes_verifications=policy.figures.count_verifications)


def sector_judgement(session: Session, *, merchant_id: str, policy: Policy,
                     now: dt.datetime) -> SectorJudgement:
    """R-A7 for the merchant now, from the per-day figures only."""
    sector = sector_average(session, merchant_id=merchant_id, end=now, policy=policy)
    own = sector.own_try if sector is not None and sector.own_try is not None else Decimal(0)
    return judge_sector(own, sector, policy)


def sector_crossing(session: Session, *, merchant_id: str, policy: Policy,
                    now: dt.datetime) -> list[str]:
    """``["sector_outlier"]`` (and marked pending) when R-A7 flags and this month's alert is
    not yet open; else ``[]``. Reads a few per-day rows and one alert key."""
    if SECTOR not in policy.figures.rejudge:
        return []
    judgement = sector_judgement(session, merchant_id=merchant_id, policy=policy, now=now)
    if judgement.status != "flag":
        return []
    key = alert_key(merchant_id, sector_hit(judgement, policy, now))
    if session.exec(select(Alert.id).where(Alert.dedupe_key == key)).first():
        return []
    conn = session.connection()
    row = locked_row(conn, merchant_id, now)
    if SECTOR not in row.pending:
        conn.execute(FIGURES.update().where(FIGURES.c.merchant_id == merchant_id)
                     .values(pending=[*row.pending, SECTOR]))
    return [SECTOR]


def rejudge(session: Session, *, merchant_id: str, actor: Actor, now: dt.datetime,
            policy: Policy) -> Rejudged:
    """Handle the merchant's pending crossings: alerts, and an assessment for R-A4/R-A5.
    Flushes only; the pending list is emptied in the same transaction."""
    conn = session.connection()
    row = locked_row(conn, merchant_id, now)
    if not row.pending:
        return Rejudged(())
    # A crossing that no longer holds (the figures were rebuilt meanwhile) is dropped.
    still = judged(dict(row.window_turnover), TicketSketch(dict(row.ticket_buckets),
                   row.ticket_min, row.ticket_max), row.reference_try, policy)
    pending = tuple(p for p in row.pending if p.split(":")[0] in policy.figures.rejudge
                    and (p == SECTOR or p in still))
    merchant = session.get(Merchant, merchant_id)
    assert merchant is not None  # noqa: S101 - the figures row references it
    figures = sales_figures(row, policy=policy, now=now)
    codes = tuple(sorted({p.split(":")[0] for p in pending} & {TURNOVER, TICKETS}))
    assessment = _reassess(session, merchant=merchant, figures=figures, codes=codes,
                           actor=actor, now=now, policy=policy) if codes else None
    hits: dict[str, tuple[ScenarioHit, dt.datetime]] = {}
    for crossing in pending:
        hit = _hit(session, crossing, merchant=merchant, figures=figures, row=row,
                   assessment=assessment, policy=policy, now=now)
        if hit is not None:
            hits[alert_key(merchant_id, hit)] = (hit, now)
    alerts = open_alerts(session, merchant_id=merchant_id, hits=hits, actor=actor, now=now,
                         policy=policy)
    conn.execute(FIGURES.update().where(FIGURES.c.merchant_id == merchant_id).values(pending=[]))
    return Rejudged(pending, tuple(alerts), assessment)


def _reassess(session: Session, *, merchant: Merchant, figures: SalesFigures,
              codes: tuple[str, ...], actor: Actor, now: dt.datetime,
              policy: Policy) -> Assessment | None:
    previous = latest_assessment(session, merchant)
    if previous is None:
        return None
    try:
        previous_facts = snapshot_facts(previous, purpose="figures re-judging")[0]
    except SnapshotErased:  # retention erased it: nothing left to re-judge
        return None
    facts = dataclasses.replace(previous_facts, transactions=TransactionsSummary(
        activated_at=merchant.activated_at, figures=figures))
    return store_assessment(session, merchant=merchant, facts=facts, actor=actor, now=now,
                            trigger="figures:" + ",".join(codes), policy=policy,
                            refresh_checks=codes)


def _hit(session: Session, crossing: str, *, merchant: Merchant, figures: SalesFigures,
         row: Any, assessment: Assessment | None, policy: Policy,
         now: dt.datetime) -> ScenarioHit | None:
    code, _, detail = crossing.partition(":")
    if code == SECTOR:
        judgement = sector_judgement(session, merchant_id=merchant.id, policy=policy, now=now)
        return sector_hit(judgement, policy, now) if judgement.status == "flag" else None
    checks = open_assessment(assessment, purpose="figures re-judging").checks \
        if assessment else []  # the check's explanation names no one here, but is sealed
    result = next((c for c in checks if c["code"] == code), None)
    evidence: dict[str, Any] = {"crossing": crossing, "figures": figures.to_dict(),
                                "assessment_id": assessment.id if assessment else None,
                                "check_status": result["status"] if result else None,
                                "reference_try": str(row.reference_try)
                                if row.reference_try is not None else None}
    if code == TURNOVER:
        cap = next(w.cap_try for w in policy.check(TURNOVER).params["windows"]
                   if str(w.days) == detail)
        turnover = next(w.turnover_try for w in figures.windows if str(w.days) == detail)
        summary = says("Turnover since activation reached %(turnover)s TRY within %(days)s days "
                       "(cap %(cap)s TRY, R-A4): detailed review and a document request.",
                       turnover=format(turnover, ",.2f"), days=detail, cap=format(cap, ",.2f"))
        period = f"{detail}d"
    else:
        summary = says("Tickets far above the shown prices (R-A5): median %(median)s TRY, p90 "
                       "%(p90)s TRY against a reference price of %(reference)s TRY.",
                       median=str(figures.ticket_median_try), p90=str(figures.ticket_p90_try),
                       reference=str(row.reference_try))
        period = month_label(now, policy)
    text, wording = summary.text(), summary.to_dict()
    if result is not None:  # the check's own sentence, in any language it was kept in
        text, wording = result["explanation"], result.get("wording")
    return ScenarioHit(code=code, subject="merchant", summary=text, wording=wording,
                       evidence=evidence,
                       severity=policy.figures.severity.get(code, "high"),
                       dedupe_key=f"figures:{code}:{period}")


class FiguresObserver:
    """Re-judges, on a background thread, the merchants whose verification traffic a committed
    audit batch added to the figures (the batcher's after-commit hook): the commit itself only
    marks crossings, so a verification never waits for an assessment."""

    def __init__(self, engine: Engine, policy: Policy, app: Any = None,
                 interval: float = 1.0) -> None:
        self.engine, self.policy, self.app = engine, policy, app
        # At most one round a second: each merchant's check reads its sector's per-day
        # figures and locks its row, and the audit writer commits many batches a second.
        # The crossings themselves are marked in the commit, so none is lost meanwhile.
        self._queue = BackgroundQueue("kyb-figures", self._check_all, interval=interval)

    def observe(self, drafts: Sequence[Any], stored: Sequence[Any] | None = None) -> None:
        """Queue the merchants of committed allowed verifications with an amount."""
        from app.audit.figures import verification_sales_of
        found = verification_sales_of(list(drafts), self.policy, dt.datetime.now(dt.UTC))
        self._queue.submit(dict.fromkeys(found))

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until everything observed so far is re-judged (tests, shutdown)."""
        return self._queue.drain(timeout)

    def _check_all(self, batch: dict[str, None]) -> None:
        for merchant_id in sorted(batch):
            self.check(merchant_id)

    def check(self, merchant_id: str) -> Rejudged | None:
        """Look for an R-A7 crossing, then re-judge what is pending (own transaction)."""
        try:
            if self.app is not None:
                with self.app.app_context():
                    return self._check(merchant_id)
            return self._check(merchant_id)
        except Exception:  # monitoring must never take the audit path down
            log.exception("re-judging merchant %s failed", merchant_id)
            return None

    def _check(self, merchant_id: str) -> Rejudged:
        now = dt.datetime.now(dt.UTC)
        with Session(self.engine) as session:
            sector_crossing(session, merchant_id=merchant_id, policy=self.policy, now=now)
            done = rejudge(session, merchant_id=merchant_id, actor=SYSTEM, now=now,
                           policy=self.policy)
            session.commit()
            return done


def rejudge_pending(session: Session, *, actor: Actor, now: dt.datetime,
                    policy: Policy) -> list[Rejudged]:
    """Re-judge every merchant with pending crossings (after a crash, or after a rebuild)."""
    rows = session.connection().execute(
        FIGURES.select().with_only_columns(FIGURES.c.merchant_id, FIGURES.c.pending)).all()
    return [rejudge(session, merchant_id=m, actor=actor, now=now, policy=policy)
            for m, pending in rows if pending]
