"""API anomaly signals from the verification audit stream (R-B6, R-C10).

Two scenarios, per merchant and calendar day (UTC), thresholds from the policy's ``[monitoring]``:

* ``api_ip_many_customers`` — one source IP serving ``customer_refs_per_ip_per_day`` or more
  distinct customer refs;
* ``api_customer_many_ips`` — one customer ref seen from ``ips_per_customer_ref_per_day`` or
  more distinct source IPs.

A hit opens one :class:`Alert` per subject and day (its ``dedupe_key`` is unique, so two workers
racing open it once) due ``[alerts] sla_hours`` later (R-C1), and is audited. Counting reads the
audit trail, so every worker sees every request. :class:`AnomalyMonitor` runs the checks on a
background thread after each audit batch commits, so monitoring never delays an answer.

The same thread feeds allowed verifications that carry an amount to the POS scenarios
(``app/services/verification_monitoring.py``), at most once per merchant per
``[monitoring] verification_eval_interval_seconds`` (a merchant seen meanwhile waits its turn);
in the host's audit writer it queues them as jobs instead (``app.jobs.monitoring``).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.audit.trail import Actor, EventDraft, record
from app.models import Alert, AuditEvent
from app.services.alerts import active_snoozes, due_time, record_suppressed
from checks.policy import Policy, load_policy
from checks.wording import says

log = logging.getLogger("kybgate.monitoring")
VERIFY_ACTION = "api.verify"
IP_SCENARIO = "api_ip_many_customers"
REF_SCENARIO = "api_customer_many_ips"


@dataclass(frozen=True, slots=True)
class Observation:
    """One verified request's subjects."""

    merchant_id: str
    source_ip: str
    customer_ref: str
    at: dt.datetime


def day_start(at: dt.datetime) -> dt.datetime:
    """The start of ``at``'s UTC day: the day these scenarios count in."""
    return at.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _distinct(session: Session, column: sa.ColumnElement, *, merchant_id: str,
              where: sa.ColumnElement, since: dt.datetime) -> tuple[int, dt.datetime | None]:
    """Distinct values of ``column`` for the subject that day, and its first request's time
    (the earliest API call behind a hit: R-C1's clock runs from it)."""
    count, first = session.exec(select(sa.func.count(sa.distinct(column)),
                                       sa.func.min(AuditEvent.at)).where(
        AuditEvent.action == VERIFY_ACTION, AuditEvent.merchant_id == merchant_id,
        AuditEvent.at >= since, AuditEvent.at < since + dt.timedelta(days=1),
        column.is_not(None), where)).one()
    return count, first  # aware: min() keeps the column's type (UTCDateTime)


def dedupe_key(scenario: str, merchant_id: str, subject: str, at: dt.datetime) -> str:
    """One alert per scenario, merchant, subject and UTC day."""
    return f"{scenario}:{merchant_id}:{subject}:{day_start(at):%Y-%m-%d}"


def _first_call(session: Session, *, scenario: str, observation: Observation,
                subject: str) -> dt.datetime | None:
    """The day's first verification with ``subject``: the 3-hour clock runs from it (R-C1)."""
    column = AuditEvent.source_ip if scenario == IP_SCENARIO else AuditEvent.customer_ref
    since = day_start(observation.at)
    return session.exec(select(sa.func.min(AuditEvent.at)).where(
        AuditEvent.action == VERIFY_ACTION, AuditEvent.merchant_id == observation.merchant_id,
        AuditEvent.at >= since, AuditEvent.at < since + dt.timedelta(days=1),
        column == subject)).one()


def _open(session: Session, *, scenario: str, observation: Observation, subject: str,
          count: int, threshold: int, now: dt.datetime, policy: Policy,
          first: dt.datetime | None = None) -> Alert | None:
    key = dedupe_key(scenario, observation.merchant_id, subject, observation.at)
    if session.exec(select(Alert.id).where(Alert.dedupe_key == key)).first():
        return None
    if scenario == IP_SCENARIO:
        said = says("%(count)s distinct customer refs from IP %(subject)s today (threshold "
                    "%(threshold)s)", count=count, subject=subject, threshold=threshold)
    else:
        said = says("%(count)s distinct IPs for customer ref %(subject)s today (threshold "
                    "%(threshold)s)", count=count, subject=subject, threshold=threshold)
    occurred = first or _first_call(session, scenario=scenario, observation=observation,
                                    subject=subject) or observation.at
    snooze = active_snoozes(session, merchant_id=observation.merchant_id, now=now).get(scenario)
    if snooze is not None:
        record_suppressed(session, snooze=snooze, dedupe_key=key, occurred_at=occurred,
                          summary=said.text(), now=now,
                          actor=Actor(name="system:monitoring"))
        return None
    alert = Alert(merchant_id=observation.merchant_id, scenario=scenario, severity="high",
                  summary=said.text(), summary_wording=said.to_dict(),
                  details={"subject": subject, "count": count, "threshold": threshold,
                           "day": f"{day_start(observation.at):%Y-%m-%d}"},
                  dedupe_key=key, opened_at=now, occurred_at=occurred,
                  due_at=due_time(occurred, policy))
    session.add(alert)
    session.flush()
    record(session, EventDraft(action="alert.opened", actor="system:monitoring",
                               target_type="alert", target_id=alert.id,
                               merchant_id=alert.merchant_id, reason=scenario, at=now,
                               details={"dedupe_key": key, "count": count,
                                        "threshold": threshold}))
    return alert


def detect_api_anomalies(session: Session, *, observation: Observation, now: dt.datetime,
                         policy: Policy | None = None,
                         known: set[str] | None = None) -> list[Alert]:
    """Open the alerts this observation's subjects have reached today (flushes only).

    ``known`` holds dedupe keys of alerts already open: their subjects are not counted again
    (the set is updated), which keeps a busy subject from costing a query per request.
    """
    policy = policy or load_policy()
    known = set() if known is None else known
    opened = []
    for obs, scenario, subject, count, limit, first in _reached(
            session, observation=observation, policy=policy, known=known):
        opened.append(_open(session, scenario=scenario, observation=obs, subject=subject,
                            count=count, threshold=limit, now=now, policy=policy, first=first))
    return [alert for alert in opened if alert is not None]


def _reached(session: Session, *, observation: Observation, policy: Policy,
             known: set[str]) -> list[tuple[Observation, str, str, int, int,
                                             dt.datetime | None]]:
    """(observation, scenario, subject, count, threshold, first request) of each threshold
    reached today whose alert is not in ``known`` (which is updated)."""
    since = day_start(observation.at)
    checks = (
        (IP_SCENARIO, observation.source_ip, AuditEvent.customer_ref,
         AuditEvent.source_ip == observation.source_ip,
         policy.monitoring.customer_refs_per_ip_per_day),
        (REF_SCENARIO, observation.customer_ref, AuditEvent.source_ip,
         AuditEvent.customer_ref == observation.customer_ref,
         policy.monitoring.ips_per_customer_ref_per_day),
    )
    reached = []
    for scenario, subject, column, where, limit in checks:
        key = dedupe_key(scenario, observation.merchant_id, subject, observation.at)
        if key in known:
            continue
        count, first = _distinct(session, column, merchant_id=observation.merchant_id,
                                 where=where, since=since)
        if count >= limit:
            known.add(key)
            reached.append((observation, scenario, subject, count, limit, first))
    return reached


_SUBJECTS_PER_QUERY = 500
_SCENARIOS = ((IP_SCENARIO, "source_ip", "customer_ref"),
              (REF_SCENARIO, "customer_ref", "source_ip"))  # scenario, subject, counted


@dataclass(slots=True)
class _Counted:
    """One subject's day as counted so far: its distinct counted values and first call."""

    values: set[str]
    first: dt.datetime | None


class SubjectTally:
    """The distinct values each subject has reached today, kept between the monitor's rounds
    so a round reads only the verifications committed since the last one.

    Counting a subject's whole day on every round cost a scan of all its requests that day,
    once a second: at tens of thousands of requests a day it was the largest share of the
    audit writer's CPU after the chain itself, and it grows with the day. The tally reads a
    subject's day once (when a round first needs it), then only the audit events past the
    sequence number it has read through (``upto``): the chain's ``seq`` is given under the
    chain lock and committed in order, so every event up to the newest one seen is committed,
    on every host, and none is counted twice or missed. A subject whose alert is open leaves
    the tally (``known`` keeps it from being counted again); past :attr:`limit` subjects the
    tally starts afresh (each is then read whole once more)."""

    limit = 50_000  # subjects kept (a few hundred bytes each)

    def __init__(self) -> None:
        self.upto: int | None = None  # every verification up to this seq is counted
        self._newest: dt.datetime | None = None  # the latest day counted
        self._subjects: dict[tuple[str, str, dt.datetime, str], _Counted] = {}

    def kept(self) -> set[tuple[str, dt.date, str]]:
        """The (scenario, day, subject) counts kept for the next round."""
        return {(scenario, since.date(), subject)
                for scenario, _, since, subject in self._subjects}

    def counts(self, session: Session | sa.Connection,
               wanted: dict[tuple[str, dt.datetime], tuple[set[str], set[str]]]
               ) -> dict[tuple[str, str, dt.datetime, str], tuple[int, dt.datetime | None]]:
        """(count, first call) of every wanted subject, keyed (scenario, merchant, day,
        subject); ``wanted`` maps (merchant, day) to the (IPs, customer refs) to count."""
        head = session.execute(sa.select(sa.func.max(AuditEvent.seq))).scalar() or 0
        self._prune(max((since for _, since in wanted), default=None))
        try:
            if self._subjects and self.upto is not None and head > self.upto:
                self._follow(session, self.upto, head)
            for (merchant_id, since), (ips, refs) in wanted.items():
                for (scenario, subject, counted), values in zip(_SCENARIOS, (ips, refs),
                                                                strict=True):
                    missing = [v for v in values
                               if (scenario, merchant_id, since, v) not in self._subjects]
                    if missing:
                        self._read_day(session, scenario, subject, counted, merchant_id,
                                       since, missing, head)
        except BaseException:  # half a read would undercount: start afresh next round
            self._subjects.clear()
            self.upto = None
            raise
        self.upto = head
        counts = {}
        for (merchant_id, since), (ips, refs) in wanted.items():
            for scenario, values in ((IP_SCENARIO, ips), (REF_SCENARIO, refs)):
                for value in values:
                    key = (scenario, merchant_id, since, value)
                    counts[key] = (len(self._subjects[key].values), self._subjects[key].first)
        return counts

    def _prune(self, day: dt.datetime | None) -> None:
        """Drop the subjects of days before yesterday (a late request of yesterday can still
        come), and all of them past :attr:`limit`."""
        if len(self._subjects) > self.limit:
            self._subjects.clear()
        if day is not None and (self._newest is None or day > self._newest):
            self._newest = day
            oldest = day - dt.timedelta(days=1)
            for key in [k for k in self._subjects if k[2] < oldest]:
                del self._subjects[key]

    def forget(self, scenario: str, merchant_id: str, at: dt.datetime, subject: str) -> None:
        """Stop counting a subject whose alert is open."""
        self._subjects.pop((scenario, merchant_id, day_start(at), subject), None)

    def _read_day(self, session: Session | sa.Connection, scenario: str, subject: str,
                  counted: str, merchant_id: str, since: dt.datetime,
                  values: Sequence[str], head: int) -> None:
        """Count ``values`` (subjects of ``scenario``) over their whole day, up to ``head``."""
        subject_col, counted_col = AuditEvent.__table__.c[subject], AuditEvent.__table__.c[counted]
        ordered = sorted(values)
        for value in ordered:
            self._subjects[(scenario, merchant_id, since, value)] = _Counted(set(), None)
        for start in range(0, len(ordered), _SUBJECTS_PER_QUERY):
            rows = session.execute(sa.select(subject_col, counted_col,
                                             sa.func.min(AuditEvent.at)).where(
                AuditEvent.action == VERIFY_ACTION, AuditEvent.merchant_id == merchant_id,
                AuditEvent.at >= since, AuditEvent.at < since + dt.timedelta(days=1),
                AuditEvent.seq <= head, counted_col.is_not(None),
                subject_col.in_(ordered[start:start + _SUBJECTS_PER_QUERY]))
                .group_by(subject_col, counted_col))
            for value, other, first in rows:  # times come back aware (UTCDateTime)
                self._add(self._subjects[(scenario, merchant_id, since, value)], other, first)

    def _follow(self, session: Session | sa.Connection, after: int, head: int) -> None:
        """Add the verifications committed in ``(after, head]`` to the subjects counted."""
        table = AuditEvent.__table__
        rows = session.execute(sa.select(table.c.merchant_id, table.c.source_ip,
                                         table.c.customer_ref, table.c.at).where(
            table.c.seq > after, table.c.seq <= head, table.c.action == VERIFY_ACTION,
            table.c.merchant_id.is_not(None), table.c.source_ip.is_not(None),
            table.c.customer_ref.is_not(None)))
        subjects = self._subjects
        for merchant_id, ip, ref, at in rows:
            since = day_start(at)
            found = subjects.get((IP_SCENARIO, merchant_id, since, ip))
            if found is not None:
                self._add(found, ref, at)
            found = subjects.get((REF_SCENARIO, merchant_id, since, ref))
            if found is not None:
                self._add(found, ip, at)

    @staticmethod
    def _add(found: _Counted, value: str, at: dt.datetime) -> None:
        found.values.add(value)
        if found.first is None or at < found.first:
            found.first = at


def reached_many(session: Session, batch: Sequence[Observation], *, policy: Policy,
                 known: set[str], tally: SubjectTally | None = None
                 ) -> list[tuple[Observation, str, str, int, int, dt.datetime | None]]:
    """What :func:`_reached` returns for each observation of ``batch`` in turn, counted by
    ``tally`` (a fresh one reads each subject's whole day: one grouped query per merchant,
    day and scenario instead of two queries per observation). ``known`` is updated the same
    way."""
    tally = SubjectTally() if tally is None else tally
    wanted: dict[tuple[str, dt.datetime], tuple[set[str], set[str]]] = {}
    for obs in batch:
        ips, refs = wanted.setdefault((obs.merchant_id, day_start(obs.at)), (set(), set()))
        if dedupe_key(IP_SCENARIO, obs.merchant_id, obs.source_ip, obs.at) not in known:
            ips.add(obs.source_ip)
        if dedupe_key(REF_SCENARIO, obs.merchant_id, obs.customer_ref, obs.at) not in known:
            refs.add(obs.customer_ref)
    counts = tally.counts(session, wanted)
    reached = []
    for obs in batch:
        for scenario, subject, limit in (
                (IP_SCENARIO, obs.source_ip, policy.monitoring.customer_refs_per_ip_per_day),
                (REF_SCENARIO, obs.customer_ref,
                 policy.monitoring.ips_per_customer_ref_per_day)):
            key = dedupe_key(scenario, obs.merchant_id, subject, obs.at)
            if key in known:
                continue
            count, first = counts[(scenario, obs.merchant_id, day_start(obs.at), subject)]
            if count >= limit:
                known.add(key)
                tally.forget(scenario, obs.merchant_id, obs.at, subject)
                reached.append((obs, scenario, subject, count, limit, first))
    return reached


def observations(drafts: Iterable[EventDraft]) -> list[Observation]:
    """The distinct subjects of verification events that name a merchant, IP and customer."""
    seen = {}
    for d in drafts:
        if d.action == VERIFY_ACTION and d.merchant_id and d.source_ip and d.customer_ref:
            obs = Observation(d.merchant_id, d.source_ip, d.customer_ref,
                              d.at or dt.datetime.now(dt.UTC))
            seen.setdefault((obs.merchant_id, obs.source_ip, obs.customer_ref), obs)
    return list(seen.values())


def scenario_merchants(drafts: Iterable[EventDraft]) -> list[str]:
    """Merchants with an allowed verification that carries an amount in ``drafts``."""
    return list(dict.fromkeys(
        d.merchant_id for d in drafts
        if d.action == VERIFY_ACTION and d.decision == "allow" and d.amount is not None
        and d.merchant_id))


class AnomalyMonitor:
    """Runs :func:`detect_api_anomalies` on a background thread for committed batches."""

    def __init__(self, engine: Engine, policy: Policy | None = None,
                 interval: float = 1.0, writer: Engine | None = None,
                 run_scenarios: Callable[[list[str]], None] | None = None) -> None:
        self.engine = engine  # counts (reads)
        # The merchants whose verification scenarios are due: judged here on the monitor's
        # thread, or handed to ``run_scenarios`` (the audit writer queues jobs, see
        # ``app.jobs.monitoring``)
        self.run_scenarios = run_scenarios
        self.writer = writer or engine  # opening alerts
        self.policy = policy or load_policy()
        self.interval = interval  # at most one round of queries per interval
        self._cond = threading.Condition()
        self._pending: dict[tuple[str, str, str], Observation] = {}
        self._busy = False
        self._draining = 0
        self._known: set[str] = set()
        self._tally = SubjectTally()  # read by this monitor's thread only
        self._thread: threading.Thread | None = None
        self._scenario_due: dict[str, float] = {}  # merchant -> monotonic time it may run
        self._scenario_last: dict[str, float] = {}
        self.scenario_interval = float(self.policy.monitoring.params.get(
            "verification_eval_interval_seconds", 30))

    def observe(self, drafts: Sequence[EventDraft], _stored: object = None) -> None:
        """Queue the subjects of committed ``drafts`` (the batcher's after-commit hook)."""
        found = observations(drafts)
        merchants = scenario_merchants(drafts)
        if not found and not merchants:
            return
        with self._cond:
            for obs in found:
                self._pending[(obs.merchant_id, obs.source_ip, obs.customer_ref)] = obs
            now = time.monotonic()
            for merchant_id in merchants:
                last = self._scenario_last.get(merchant_id, float("-inf"))
                self._scenario_due.setdefault(merchant_id, max(now, last + self.scenario_interval))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="kyb-api-anomalies",
                                                daemon=True)
                self._thread.start()
            self._cond.notify()

    def drain(self, timeout: float = 5.0) -> bool:
        """Check everything observed so far now and wait for it (tests)."""
        with self._cond:
            self._draining += 1
            self._cond.notify_all()
            try:
                return self._cond.wait_for(
                    lambda: not self._pending and not self._scenario_due and not self._busy,
                    timeout)
            finally:
                self._draining -= 1

    def _due(self) -> list[str]:
        """Merchants whose verification scenarios may run now (all of them when draining)."""
        now = time.monotonic()
        return [m for m, at in self._scenario_due.items() if self._draining or at <= now]

    def _wait(self) -> float:
        if not self._scenario_due:
            return 5.0
        return max(0.05, min(5.0, min(self._scenario_due.values()) - time.monotonic()))

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._cond.wait_for(lambda: self._pending or self._due(),
                                           timeout=self._wait()):
                    if not self._scenario_due:
                        self._thread = None
                        return
                    continue
                batch, self._pending, self._busy = list(self._pending.values()), {}, True
                merchants = self._due()
                for merchant_id in merchants:
                    del self._scenario_due[merchant_id]
                    self._scenario_last[merchant_id] = time.monotonic()
            try:
                if batch:
                    self._check(batch)
                if merchants:
                    self._check_scenarios(merchants)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
                    # Coalesce: requests arriving meanwhile are checked together next round.
                    self._cond.wait_for(lambda: self._draining, timeout=self.interval)

    def _check_scenarios(self, merchants: list[str]) -> None:
        from app.services.verification_monitoring import evaluate_verifications

        if self.run_scenarios is not None:
            self.run_scenarios(merchants)
            return

        now = dt.datetime.now(dt.UTC)
        for merchant_id in merchants:
            try:
                with Session(self.writer) as session:
                    evaluate_verifications(session, merchant_id=merchant_id, now=now,
                                           policy=self.policy)
                    session.commit()
            except Exception:
                log.exception("verification scenarios failed for %s", merchant_id)
        if len(self._scenario_last) > 100_000:
            self._scenario_last.clear()

    def _check(self, batch: list[Observation]) -> None:
        now = dt.datetime.now(dt.UTC)
        try:
            known = set(self._known)
            with Session(self.engine) as session:  # counting only reads
                hits = reached_many(session, batch, policy=self.policy, known=known,
                                    tally=self._tally)
            if hits:
                with Session(self.writer) as session:
                    for obs, scenario, subject, count, limit, first in hits:
                        _open(session, scenario=scenario, observation=obs, subject=subject,
                              count=count, threshold=limit, now=now, policy=self.policy,
                              first=first)
                    session.commit()
            self._known = known if len(known) < 100_000 else set()
        except IntegrityError:  # another worker opened the same alert first
            log.info("API anomaly alert already opened by another worker")
        except Exception:
            log.exception("API anomaly check failed")
