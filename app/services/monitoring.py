"""Real-time transaction monitoring: run the scenarios of ``checks.monitoring`` when a merchant's
transactions are recorded, and open one alert per new hit (R-C1..R-C10, R-A7).

``on_transactions_recorded`` subscribes to the ``transactions_recorded`` hook, so it runs inside
the request that stored the rows: the alert is there as soon as the batch commits, due
``[alerts] sla_hours`` (3 h) after the earliest transaction behind it (``app.services.alerts``;
working, snoozing and escalating alerts live there too). The merchant's history comes from one
query on the ``(merchant_id, occurred_at)`` index; the sector average (R-A7) from the per-day
figures (``merchant_day_sales``, kept by ``app.services.figures``). An alert's ``dedupe_key`` is
``<merchant id>:<hit dedupe key>`` and is unique in the table, so evaluating the same history
again never opens a second alert — even when two workers race (the loser's insert is rolled
back to a savepoint and skipped).
Services flush, never commit; each state change is audited.

A batch may land late: its transactions are judged at the end of each local day they fall on
(within the lookback) as well as at ``now``, so a day posted after local midnight is judged for
that day. Every evaluation stores each scenario's verdict (hit, clear or insufficient_data with
why) in ``scenario_result`` (``app/services/scenario_results.py``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.audit.trail import Actor, record
from app.models import Alert, Merchant, Transaction
from app.services.alerts import active_snoozes, due_time, occurred_time, record_suppressed
from app.services.assessments import current_policy
from app.services.figures import SECTOR_CACHE, day_totals, monitoring_on
from app.services.hooks import subscribe
from app.services.scenario_results import store_judgements, verdicts
from checks.monitoring import (
    Activity,
    IdentityUse,
    MonitoredTransaction,
    ScenarioHit,
    SectorAverage,
    judge,
    lookback_days,
)
from checks.monitoring.windows import zone
from checks.policy import Policy

log = logging.getLogger("kybgate.monitoring")
TYPES = ("sale", "refund", "chargeback", "transfer")
ACCOUNT_COLUMNS = ("account_ref", "account_opened_at", "account_type",
                   "account_holder_birth_year", "counterparty_ref", "account_email_hash",
                   "account_phone_hash", "phone_country", "ip_country")
MAX_KEY = 200  # Alert.dedupe_key column length


@subscribe("transactions_recorded")
def on_transactions_recorded(*, session: Session, actor: Actor, now: dt.datetime,
                             merchant_id: str, transactions: Sequence[Any] = (),
                             **_: Any) -> list[Alert]:
    """Evaluate ``merchant_id``'s scenarios after a batch was stored: at ``now`` and at the end
    of each earlier local day the batch's transactions fall on (a late batch). Nothing with
    ``KYB_MONITORING=off``."""
    if not monitoring_on():
        return []
    policy = current_policy()
    instants = late_day_instants([t.occurred_at for t in transactions], now=now, policy=policy)
    return evaluate_merchant(session, merchant_id=merchant_id, actor=actor, now=now,
                             policy=policy, instants=[*instants, now])


def late_day_instants(times: Iterable[dt.datetime], *, now: dt.datetime,
                      policy: Policy) -> list[dt.datetime]:
    """The last instant of each local day before today that ``times`` fall on, within the
    scenarios' lookback (older days are outside what one evaluation reads)."""
    tz = zone(policy)
    today = now.astimezone(tz).date()
    oldest = today - dt.timedelta(days=lookback_days(policy))
    days = {t.astimezone(tz).date() for t in times if t is not None}
    return sorted(
        dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tz).astimezone(dt.UTC)
        - dt.timedelta(microseconds=1)
        for day in days if oldest <= day < today)


def evaluate_merchant(session: Session, *, merchant_id: str, actor: Actor, now: dt.datetime,
                      policy: Policy | None = None,
                      instants: Iterable[dt.datetime] | None = None) -> list[Alert]:
    """Run every scenario on the merchant's stored transactions and open the new alerts.

    ``instants`` are the evaluation instants (default just ``now``); a re-run passes one per
    past day so that hits of those days are found too. Alerts are opened at ``now`` whatever
    the instant; each scenario's verdict is stored. Returns the alerts opened (already known
    hits are skipped)."""
    policy = policy or current_policy()
    points = sorted(set(instants or ())) or [now]
    lookback = dt.timedelta(days=lookback_days(policy))
    activity = load_activity(session, merchant_id=merchant_id, start=points[0] - lookback,
                             end=points[-1], policy=policy, instants=points)
    hits: dict[str, tuple[ScenarioHit, dt.datetime]] = {}
    judged = []
    for instant in points:
        judged.append(judge(activity, policy, instant))
        for verdict in judged[-1]:
            for hit in verdict.hits:
                hits.setdefault(alert_key(merchant_id, hit), (hit, instant))
    store_judgements(session, merchant_id=merchant_id, stream="transactions",
                     judgements=verdicts(judged), now=now, evaluated_at=points[-1],
                     policy=policy)
    return open_alerts(session, merchant_id=merchant_id, hits=hits, actor=actor, now=now,
                       policy=policy)


def load_activity(session: Session, *, merchant_id: str, start: dt.datetime, end: dt.datetime,
                  policy: Policy, instants: Sequence[dt.datetime] = ()) -> Activity:
    """The merchant's transactions in ``(start, end]`` (one indexed query), its sector, its MCC
    and the accounts behind the e-mails/phones of the days judged at ``instants``."""
    account = [getattr(Transaction, c) for c in ACCOUNT_COLUMNS]
    rows = session.exec(
        select(Transaction.id, Transaction.occurred_at, Transaction.amount_try, Transaction.type,
               Transaction.card_fingerprint, Transaction.customer_ref, Transaction.client_ip,
               Transaction.description, *account)
        .where(Transaction.merchant_id == merchant_id, Transaction.occurred_at > start,
               Transaction.occurred_at <= end)
        .order_by(Transaction.occurred_at)).all()
    transactions = tuple(
        MonitoredTransaction(occurred_at=r.occurred_at, amount_try=r.amount_try, type=r.type,
                             card_fingerprint=r.card_fingerprint, customer_ref=r.customer_ref,
                             client_ip=r.client_ip, description=r.description,
                             transaction_id=r.id, **{c: getattr(r, c) for c in ACCOUNT_COLUMNS})
        # A currency without a policy rate has no TRY amount: it cannot enter TRY sums.
        for r in rows if r.amount_try is not None and r.type in TYPES)
    mcc = session.exec(select(Merchant.sector).where(Merchant.id == merchant_id)).first()
    return Activity(transactions=transactions,
                    sector=sector_average(session, merchant_id=merchant_id, end=end,
                                          policy=policy),
                    mcc=mcc or None,
                    identities=identity_uses(session, transactions=transactions,
                                             instants=instants or [end], policy=policy))


def identity_uses(session: Session, *, transactions: Sequence[MonitoredTransaction],
                  instants: Sequence[dt.datetime], policy: Policy) -> tuple[IdentityUse, ...]:
    """For each e-mail/phone digest of the transactions from the day before the first instant
    on, the accounts (institution-wide) it was used with in the reuse window and when each was
    first seen (one grouped query per kind and 500 digests)."""
    first_day = min(instants) - dt.timedelta(days=2)
    days = [t for t in transactions if t.account_ref and t.occurred_at > first_day]
    window = dt.timedelta(days=policy.monitoring.params.get("identity_reuse_window_days", 365))
    since = min(instants) - window
    uses = []
    for kind, column in (("email", Transaction.account_email_hash),
                         ("phone", Transaction.account_phone_hash)):
        digests = sorted({getattr(t, f"account_{kind}_hash") for t in days} - {None})
        found: dict[str, list[tuple[str, dt.datetime]]] = {}
        for start in range(0, len(digests), 500):
            rows = session.exec(
                select(column, Transaction.account_ref, sa.func.min(Transaction.occurred_at))
                .where(column.in_(digests[start:start + 500]),
                       Transaction.account_ref.is_not(None), Transaction.occurred_at > since,
                       Transaction.occurred_at <= max(instants))
                .group_by(column, Transaction.account_ref)).all()
            for digest, account, first in rows:
                found.setdefault(digest, []).append((account, first))
        uses.extend(IdentityUse(kind, d, tuple(sorted(a))) for d, a in sorted(found.items()))
    return tuple(uses)


def sector_average(session: Session, *, merchant_id: str, end: dt.datetime,
                   policy: Policy) -> SectorAverage | None:
    """Average sales turnover over the sector window's local days of the other merchants of
    the merchant's MCC that had sales in it, and the merchant's own, read from the per-day
    figures (``app.services.figures.day_totals``: a few small rows per merchant, not the
    transactions); ``None`` when the merchant has no sector."""
    days = policy.monitoring.params.get("sector_outlier_window_days")
    mcc = session.exec(select(Merchant.sector).where(Merchant.id == merchant_id)).first()
    if not mcc or not days:
        return None
    # Read once for the figures' crossing check and the scenario of the same batch; the
    # figures drop this cache whenever they add sales (app.services.figures).
    cache = session.info.setdefault(SECTOR_CACHE, {})
    key = (mcc, end, days, policy.version)
    if key not in cache:
        cache[key] = day_totals(session.connection(), end=end, days=days, policy=policy,
                                sector=mcc)
    per_merchant = dict(cache[key])
    own = per_merchant.pop(merchant_id, Decimal(0))
    totals = [t for t in per_merchant.values() if t > 0]
    if not totals:
        return SectorAverage(mcc=mcc, average_monthly_try=Decimal(0), peers=0, own_try=own)
    average = (sum(totals, Decimal(0)) / len(totals)).quantize(Decimal("0.01"))
    return SectorAverage(mcc=mcc, average_monthly_try=average, peers=len(totals), own_try=own)


def alert_key(merchant_id: str, hit: ScenarioHit, stream: str = "transactions") -> str:
    """The alert's unique key; hashed when it would not fit the column. A verification-stream
    hit is keyed apart (``<merchant>:verify:<hit key>``)."""
    prefix = merchant_id if stream == "transactions" else f"{merchant_id}:verify"
    key = f"{prefix}:{hit.dedupe_key}"
    if len(key) <= MAX_KEY:
        return key
    return f"{merchant_id}:{hit.code}:sha256:{hashlib.sha256(key.encode()).hexdigest()}"


def open_alerts(session: Session, *, merchant_id: str,
                hits: dict[str, tuple[ScenarioHit, dt.datetime]], actor: Actor,
                now: dt.datetime, policy: Policy) -> list[Alert]:
    """Open an alert for each hit whose key is not yet in the table; audit each one. A hit of
    a scenario snoozed for the merchant opens nothing and is audited as suppressed."""
    if not hits:
        return []
    known = set(session.exec(select(Alert.dedupe_key)
                             .where(Alert.dedupe_key.in_(list(hits)))).all())
    snoozed = active_snoozes(session, merchant_id=merchant_id, now=now)
    opened = []
    for key, (hit, instant) in hits.items():
        if key in known:
            continue
        if hit.code in snoozed:
            record_suppressed(session, snooze=snoozed[hit.code], dedupe_key=key,
                              summary=hit.summary, occurred_at=occurred_time(hit, now),
                              actor=actor, now=now)
            continue
        alert = _insert(session, key=key, merchant_id=merchant_id, hit=hit, instant=instant,
                        now=now, policy=policy)
        if alert is None:
            continue
        record(session, actor.event(
            "alert.opened", target_type="alert", target_id=alert.id, merchant_id=merchant_id,
            reason=hit.code, at=now,
            details={"scenario": hit.code, "severity": hit.severity, "subject": hit.subject,
                     "dedupe_key": key, "summary": hit.summary,
                     "due_at": alert.due_at.isoformat(), "policy_version": policy.version}))
        opened.append(alert)
    return opened


def _insert(session: Session, *, key: str, merchant_id: str, hit: ScenarioHit,
            instant: dt.datetime, now: dt.datetime, policy: Policy) -> Alert | None:
    details = {**hit.evidence, "subject": hit.subject, "evaluated_at": instant.isoformat(),
               "policy_version": policy.version,
               "occurred_at": hit.occurred_at.isoformat() if hit.occurred_at else None}
    occurred = occurred_time(hit, now)  # R-C1: the clock runs from the first event behind it
    alert = Alert(merchant_id=merchant_id, scenario=hit.code, severity=hit.severity,
                  summary=hit.summary[:500], summary_wording=hit.wording, details=details,
                  dedupe_key=key, status="open",
                  occurred_at=occurred, opened_at=now, due_at=due_time(occurred, policy))
    try:
        with session.begin_nested():
            session.add(alert)
    except IntegrityError:
        # Another worker opened the same alert between our lookup and this insert.
        log.info("alert %s already opened by another worker", key)
        return None
    return alert


def init_app(app: object) -> None:
    """Nothing to set up: importing this module (``app.plugins.FEATURES``) subscribes it."""
