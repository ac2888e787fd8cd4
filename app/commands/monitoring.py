"""``kybgate alerts list`` and ``kybgate monitoring run``: the monitoring alerts from the command
line, and a re-evaluation of stored transactions (after a policy change, an outage of the hook,
or transactions loaded in bulk)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from zoneinfo import ZoneInfo

import click
from flask.cli import with_appcontext
from sqlmodel import select

from app.cli import cli_actor, emit
from app.db import session_scope, utcnow
from app.extensions import engine
from app.models import Alert, Merchant, Transaction
from app.services.monitoring import current_policy, evaluate_merchant
from checks.policy import Policy


@click.group("alerts")
def alerts_group() -> None:
    """Monitoring alerts (each due within the policy's SLA, 3 hours)."""


@alerts_group.command("list")
@click.option("--open", "only_open", is_flag=True, help="Only alerts still open.")
@click.option("--limit", default=200, show_default=True, help="At most this many alerts.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@with_appcontext
def alerts_list(only_open: bool, limit: int, as_json: bool) -> None:
    """List alerts, the most urgent first (open before closed, then by due time)."""
    with session_scope(engine()) as session:
        stmt = select(Alert)
        if only_open:
            stmt = stmt.where(Alert.status == "open")
        rows = session.exec(stmt.order_by(Alert.status.desc(), Alert.due_at, Alert.id)
                            .limit(limit)).all()
        data = [_alert_dict(a) for a in rows]
    now = utcnow()
    lines = [f"{d['id']}  {d['status']:<6} {d['severity']:<6} {d['scenario']:<22} "
             f"{d['merchant_id'] or '-':<30} {_due_text(d, now)}\n    {d['summary']}"
             for d in data]
    emit(data, as_json, "\n".join(lines) or "no alerts")


def _alert_dict(alert: Alert) -> dict:
    return {"id": alert.id, "merchant_id": alert.merchant_id, "scenario": alert.scenario,
            "severity": alert.severity, "status": alert.status, "summary": alert.summary,
            "assignee": alert.assignee, "opened_at": alert.opened_at.isoformat(),
            "due_at": alert.due_at.isoformat(),
            "closed_at": alert.closed_at.isoformat() if alert.closed_at else None,
            "resolution": alert.resolution, "dedupe_key": alert.dedupe_key,
            "details": alert.details}


def _due_text(data: dict, now: dt.datetime) -> str:
    if data["status"] != "open":
        return f"closed {data['closed_at']}"
    left = dt.datetime.fromisoformat(data["due_at"]) - now
    minutes = int(left.total_seconds() // 60)
    return f"due in {minutes} min" if minutes >= 0 else f"OVERDUE by {-minutes} min"


@click.group("monitoring")
def monitoring_group() -> None:
    """Transaction-monitoring scenarios (R-C2..R-C10)."""


@monitoring_group.command("run")
@click.option("--merchant", "merchant_id", default=None, help="Only this merchant.")
@click.option("--since", "days", default=1, show_default=True, type=click.IntRange(1, 400),
              help="Re-evaluate the end of each of the last DAYS local days, and now.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@with_appcontext
def monitoring_run(merchant_id: str | None, days: int, as_json: bool) -> None:
    """Evaluate every scenario on stored transactions and open the alerts not yet open.

    Safe to repeat: a hit already alerted is skipped. Each merchant commits on its own."""
    now, policy = utcnow(), current_policy()
    ids = _merchants(merchant_id, since=now - dt.timedelta(days=days))
    instants = evaluation_instants(now, days, policy)
    opened: Counter[str] = Counter()
    actor = cli_actor()
    for position, mid in enumerate(ids, start=1):
        with session_scope(engine()) as session:
            alerts = evaluate_merchant(session, merchant_id=mid, actor=actor, now=now,
                                       policy=policy, instants=instants)
        opened.update(a.scenario for a in alerts)
        click.echo(f"[{position}/{len(ids)}] {mid}: {len(alerts)} new alert(s)", err=True)
    total = sum(opened.values())
    summary = {"merchants": len(ids), "days": days, "alerts_opened": total,
               "by_scenario": dict(sorted(opened.items())), "policy_version": policy.version}
    by = ", ".join(f"{code} {n}" for code, n in sorted(opened.items()))
    emit(summary, as_json, f"evaluated {len(ids)} merchant(s) over {days} day(s): "
                           f"{total} alert(s) opened" + (f" ({by})" if by else ""))


def _merchants(merchant_id: str | None, *, since: dt.datetime) -> list[str]:
    with session_scope(engine()) as session:
        if merchant_id is not None:
            if session.get(Merchant, merchant_id) is None:
                raise click.ClickException(f"no merchant with id {merchant_id}")
            return [merchant_id]
        return list(session.exec(select(Transaction.merchant_id).distinct()
                                 .where(Transaction.occurred_at > since)
                                 .order_by(Transaction.merchant_id)).all())


def evaluation_instants(now: dt.datetime, days: int, policy: Policy) -> list[dt.datetime]:
    """The last instant of each of the ``days`` local days before today, and ``now``."""
    tz = ZoneInfo(policy.monitoring.param("timezone"))
    today = now.astimezone(tz).date()
    ends = [dt.datetime.combine(today - dt.timedelta(days=d - 1), dt.time.min, tz)
            - dt.timedelta(microseconds=1) for d in range(days, 0, -1)]
    return [*(end.astimezone(dt.UTC) for end in ends), now]


def commands() -> list[click.Command]:
    """Commands this module adds to ``kybgate``."""
    return [alerts_group, monitoring_group]
