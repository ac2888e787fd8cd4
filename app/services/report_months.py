"""The R-D8 figures per calendar month (UTC), for the staff Reports page and the auditors' CSV.

Verifications are counted in SQL per month and their p50/p95 read with one ordered
``LIMIT 1 OFFSET n`` each (the same on SQLite and PostgreSQL), so a month of millions of
verification events is never loaded. The other figures come from small tables (alerts, cases,
assessments, webhook deliveries) and are bucketed here.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from dataclasses import dataclass, field, fields

from sqlalchemy import case
from sqlmodel import Session, func, select

from app.models import Alert, Assessment, AuditEvent, Case, WebhookDelivery

VERIFY_ACTION = "api.verify"


@dataclass
class MonthFigures:
    """One month's row of the Reports page."""

    month: str  # YYYY-MM
    verifications: int = 0
    verifications_denied: int = 0
    verify_p50_ms: float | None = None
    verify_p95_ms: float | None = None
    assessments: int = 0
    assessments_high: int = 0
    alerts_opened: int = 0
    alerts_closed: int = 0
    alerts_true_positive: int = 0
    alerts_closed_late: int = 0
    cases_opened: int = 0
    cases_closed: int = 0
    case_close_hours_avg: float | None = None
    webhooks_delivered: int = 0
    webhooks_dead: int = 0
    webhook_lag_seconds_avg: float | None = None
    precision_by_scenario: dict[str, float] = field(default_factory=dict)

    @property
    def alert_precision(self) -> float | None:
        """True positives over the month's closed alerts."""
        return self.alerts_true_positive / self.alerts_closed if self.alerts_closed else None

    @property
    def edd_share(self) -> float | None:
        """High-tier share of the month's assessments (EDD)."""
        return self.assessments_high / self.assessments if self.assessments else None


def month_starts(now: dt.datetime, months: int) -> list[dt.datetime]:
    """The first instants (UTC) of the last ``months`` months, oldest first, ``now``'s last."""
    year, month = now.year, now.month
    starts = []
    for _ in range(months):
        starts.append(dt.datetime(year, month, 1, tzinfo=dt.UTC))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return list(reversed(starts))


def _next_month(start: dt.datetime) -> dt.datetime:
    return (start + dt.timedelta(days=32)).replace(day=1)


def _key(at: dt.datetime | None) -> str | None:
    return None if at is None else f"{at.astimezone(dt.UTC):%Y-%m}"


def _percentile(session: Session, start: dt.datetime, end: dt.datetime, count: int,
                share: float) -> float | None:
    if not count:
        return None
    offset = min(int(share * count), count - 1)
    value = session.exec(select(AuditEvent.latency_ms).where(
        AuditEvent.action == VERIFY_ACTION, AuditEvent.at >= start, AuditEvent.at < end,
        AuditEvent.latency_ms.is_not(None)).order_by(AuditEvent.latency_ms)
        .offset(offset).limit(1)).first()
    return None if value is None else round(float(value), 3)


def _verifications(session: Session, rows: dict[str, MonthFigures],
                   starts: list[dt.datetime]) -> None:
    """Counts of every month in one query (a sum of CASEs: portable, one pass over the
    index), then p50/p95 for each month that had verifications."""
    bounds = [(start, _next_month(start)) for start in starts]
    columns = []
    for start, end in bounds:
        in_month = (AuditEvent.at >= start) & (AuditEvent.at < end)
        columns += [func.sum(case((in_month, 1), else_=0)),
                    func.sum(case((in_month & (AuditEvent.decision == "deny"), 1), else_=0)),
                    func.sum(case((in_month & AuditEvent.latency_ms.is_not(None), 1),
                                  else_=0))]
    totals = session.exec(select(*columns).where(AuditEvent.action == VERIFY_ACTION,
                                                 AuditEvent.at >= bounds[0][0])).one()
    for index, (start, end) in enumerate(bounds):
        row = rows[f"{start:%Y-%m}"]
        count, denied, timed = (int(v or 0) for v in totals[index * 3:index * 3 + 3])
        row.verifications, row.verifications_denied = count, denied
        row.verify_p50_ms = _percentile(session, start, end, timed, 0.50)
        row.verify_p95_ms = _percentile(session, start, end, timed, 0.95)


def _alerts(session: Session, rows: dict[str, MonthFigures], since: dt.datetime) -> None:
    closed_by: dict[str, defaultdict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for opened_at, closed_at, due_at, disposition, scenario in session.exec(select(
            Alert.opened_at, Alert.closed_at, Alert.due_at, Alert.disposition, Alert.scenario)
            .where((Alert.opened_at >= since) | (Alert.closed_at >= since))).all():
        if (row := rows.get(_key(opened_at) or "")) is not None:
            row.alerts_opened += 1
        if (row := rows.get(_key(closed_at) or "")) is not None:
            true = disposition == "true_positive"
            row.alerts_closed += 1
            row.alerts_true_positive += true
            row.alerts_closed_late += closed_at > due_at
            closed_by[row.month][scenario].append(int(true))
    for month, scenarios in closed_by.items():
        rows[month].precision_by_scenario = {s: sum(v) / len(v)
                                             for s, v in sorted(scenarios.items())}


def _cases(session: Session, rows: dict[str, MonthFigures], since: dt.datetime) -> None:
    hours: defaultdict[str, list[float]] = defaultdict(list)
    for opened_at, closed_at in session.exec(select(Case.opened_at, Case.closed_at).where(
            (Case.opened_at >= since) | (Case.closed_at >= since))).all():
        if (row := rows.get(_key(opened_at) or "")) is not None:
            row.cases_opened += 1
        if (row := rows.get(_key(closed_at) or "")) is not None:
            row.cases_closed += 1
            hours[row.month].append((closed_at - opened_at).total_seconds() / 3600)
    for month, values in hours.items():
        rows[month].case_close_hours_avg = round(sum(values) / len(values), 2)


def _assessments(session: Session, rows: dict[str, MonthFigures], since: dt.datetime) -> None:
    for created_at, tier in session.exec(select(Assessment.created_at, Assessment.tier)
                                         .where(Assessment.created_at >= since)).all():
        if (row := rows.get(_key(created_at) or "")) is not None:
            row.assessments += 1
            row.assessments_high += tier == "high"


def _webhooks(session: Session, rows: dict[str, MonthFigures], since: dt.datetime) -> None:
    lags: defaultdict[str, list[float]] = defaultdict(list)
    for status, created_at, updated_at, delivered_at in session.exec(select(
            WebhookDelivery.status, WebhookDelivery.created_at, WebhookDelivery.updated_at,
            WebhookDelivery.delivered_at).where(WebhookDelivery.status != "pending",
                                                WebhookDelivery.updated_at >= since)).all():
        row = rows.get(_key(delivered_at or updated_at) or "")
        if row is None:
            continue
        if status == "delivered":
            row.webhooks_delivered += 1
            lags[row.month].append((delivered_at - created_at).total_seconds())
        else:
            row.webhooks_dead += 1
    for month, values in lags.items():
        rows[month].webhook_lag_seconds_avg = round(sum(values) / len(values), 1)


def monthly_figures(session: Session, *, now: dt.datetime, months: int = 12
                    ) -> list[MonthFigures]:
    """The last ``months`` months' figures, oldest first (the current month so far last)."""
    starts = month_starts(now, months)
    rows = {f"{start:%Y-%m}": MonthFigures(f"{start:%Y-%m}") for start in starts}
    _verifications(session, rows, starts)
    for gather in (_alerts, _cases, _assessments, _webhooks):
        gather(session, rows, starts[0])
    return list(rows.values())


CSV_COLUMNS = tuple(f.name for f in fields(MonthFigures) if f.name != "precision_by_scenario")


def figures_csv(rows: list[MonthFigures]) -> str:
    """The figures as CSV (one row per month; precision per scenario as ``scenario=ratio``
    pairs), for auditors."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*CSV_COLUMNS, "alert_precision", "edd_share", "precision_by_scenario"])
    for row in rows:
        def text(value: object) -> str:
            return "" if value is None else (f"{value:.4f}" if isinstance(value, float)
                                             else str(value))
        writer.writerow([*(text(getattr(row, name)) for name in CSV_COLUMNS),
                         text(row.alert_precision), text(row.edd_share),
                         " ".join(f"{s}={v:.4f}" for s, v in row.precision_by_scenario.items())])
    return out.getvalue()
