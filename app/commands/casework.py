"""``kybgate alerts …`` and ``kybgate cases …``: work monitoring alerts and cases from the command
line (R-C1, R-D5) — list, show, assign, close, snooze, escalate; open, note and close cases.

The operator is the audit actor (``cli:<user>``). The CLI is not a signed-in approver: closing a
case that needs four eyes records the close request, and a staff approver confirms it in the
console. ``alerts escalate`` is what the scheduler runs periodically. The ``cases`` group lives
in :mod:`app.commands.cases`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import click
from flask.cli import with_appcontext
from sqlmodel import select

from app.cli import cli_actor, emit
from app.db import session_scope, utcnow
from app.extensions import engine
from app.models import Alert, Merchant
from app.services import alerts as alert_service
from app.services.assessments import current_policy


@click.group("alerts")
def alerts_group() -> None:
    """Monitoring alerts: each due 3 hours after the first event behind it (R-C1)."""


def alert_dict(alert: Alert) -> dict[str, Any]:
    """An alert as ``--json`` prints it."""
    def iso(value: dt.datetime | None) -> str | None:
        return value.isoformat() if value else None
    return {"id": alert.id, "merchant_id": alert.merchant_id, "scenario": alert.scenario,
            "severity": alert.severity, "status": alert.status, "summary": alert.summary,
            "assignee": alert.assignee, "occurred_at": iso(alert.occurred_at),
            "opened_at": iso(alert.opened_at), "due_at": iso(alert.due_at),
            "escalated_at": iso(alert.escalated_at), "case_id": alert.case_id,
            "disposition": alert.disposition, "resolution": alert.resolution,
            "closed_by": alert.closed_by, "closed_at": iso(alert.closed_at),
            "dedupe_key": alert.dedupe_key, "details": alert.details}


def _due_text(data: dict, now: dt.datetime) -> str:
    if data["status"] == "closed":
        return f"closed {data['closed_at']} ({data['disposition'] or '-'})"
    minutes = int((dt.datetime.fromisoformat(data["due_at"]) - now).total_seconds() // 60)
    mark = " ESCALATED" if data["escalated_at"] else ""
    return (f"due in {minutes} min" if minutes >= 0 else f"OVERDUE by {-minutes} min") + mark


@alerts_group.command("list")
@click.option("--status", type=click.Choice(["open", "in_review", "closed", "active"]),
              default=None, help="Only this status (active: open or in review).")
@click.option("--open", "only_open", is_flag=True, help="Same as --status active.")
@click.option("--merchant", "merchant_id", default=None, help="Only this merchant.")
@click.option("--overdue", is_flag=True, help="Only alerts past their due time.")
@click.option("--limit", default=200, show_default=True, help="At most this many alerts.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@with_appcontext
def alerts_list(status: str | None, only_open: bool, merchant_id: str | None, overdue: bool,
                limit: int, as_json: bool) -> None:
    """List alerts, the most urgent first (being worked before closed, then by due time)."""
    now = utcnow()
    status = "active" if only_open else status
    with session_scope(engine()) as session:
        stmt = select(Alert)
        if status == "active":
            stmt = stmt.where(Alert.status.in_(alert_service.OPEN_STATUSES))
        elif status:
            stmt = stmt.where(Alert.status == status)
        if merchant_id:
            stmt = stmt.where(Alert.merchant_id == merchant_id)
        if overdue:
            stmt = stmt.where(Alert.status != "closed", Alert.due_at < now)
        closed_last = (Alert.status == "closed")
        rows = session.exec(stmt.order_by(closed_last, Alert.due_at, Alert.id)
                            .limit(limit)).all()
        data = [alert_dict(a) for a in rows]
    lines = [f"{d['id']}  {d['status']:<9} {d['severity']:<6} {d['scenario']:<22} "
             f"{d['merchant_id'] or '-':<30} {_due_text(d, now)}\n    {d['summary']}"
             for d in data]
    emit(data, as_json, "\n".join(lines) or "no alerts")


def _alert(session, alert_id: str) -> Alert:
    alert = alert_service.get_alert(session, alert_id)
    if alert is None:
        raise click.ClickException(f"no alert with id {alert_id}")
    return alert


@alerts_group.command("show")
@click.argument("alert_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@with_appcontext
def alerts_show(alert_id: str, as_json: bool) -> None:
    """One alert with its evidence."""
    with session_scope(engine()) as session:
        data = alert_dict(_alert(session, alert_id))
    text = "\n".join(f"{k:>13}: {v}" for k, v in data.items() if k != "details")
    evidence = "\n".join(f"{k:>13}: {v}" for k, v in (data["details"] or {}).items())
    emit(data, as_json, f"{text}\n\nevidence\n{evidence}")


def _run(alert_id: str, change) -> dict[str, Any]:
    """Apply ``change(session, alert, actor, now)`` and commit; errors become one line."""
    with session_scope(engine()) as session:
        alert = _alert(session, alert_id)
        try:
            change(session, alert, cli_actor(), utcnow())
        except alert_service.AlertStateError as exc:
            raise click.ClickException(str(exc)) from exc
        return alert_dict(alert)


@alerts_group.command("assign")
@click.argument("alert_id")
@click.option("--to", "assignee", default=None, help="Assignee (e.g. staff:ayse@bank.example);"
              " omit to unassign.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@with_appcontext
def alerts_assign(alert_id: str, assignee: str | None, as_json: bool) -> None:
    """Give an open or in-review alert to someone (audited)."""
    data = _run(alert_id, lambda s, a, actor, now: alert_service.assign_alert(
        s, alert=a, assignee=assignee, actor=actor, now=now))
    emit(data, as_json, f"{alert_id} assigned to {data['assignee'] or 'nobody'}")


@alerts_group.command("close")
@click.argument("alert_id")
@click.option("--disposition", required=True, type=click.Choice(alert_service.DISPOSITIONS),
              help="How the alert ended.")
@click.option("--reason", required=True, help="Why (at least 3 characters).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@with_appcontext
def alerts_close(alert_id: str, disposition: str, reason: str, as_json: bool) -> None:
    """Close an alert with its disposition and a reason (audited)."""
    data = _run(alert_id, lambda s, a, actor, now: alert_service.close_alert(
        s, alert=a, disposition=disposition, reason=reason, actor=actor, now=now))
    emit(data, as_json, f"{alert_id} closed as {disposition}")


@alerts_group.command("snooze")
@click.option("--merchant", "merchant_id", required=True, help="The merchant.")
@click.option("--scenario", required=True, help="The scenario code, e.g. card_velocity.")
@click.option("--hours", required=True, type=click.FloatRange(min=0, min_open=True),
              help="How long (at most the policy's [alerts] snooze_max_hours).")
@click.option("--reason", required=True, help="Why the hits may wait.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@with_appcontext
def alerts_snooze(merchant_id: str, scenario: str, hours: float, reason: str,
                  as_json: bool) -> None:
    """Open no alert of SCENARIO for one merchant for a while; hits are audited as
    suppressed."""
    now = utcnow()
    with session_scope(engine()) as session:
        if session.get(Merchant, merchant_id) is None:
            raise click.ClickException(f"no merchant with id {merchant_id}")
        try:
            row = alert_service.snooze_scenario(
                session, merchant_id=merchant_id, scenario=scenario, reason=reason,
                until=now + dt.timedelta(hours=hours), actor=cli_actor(), now=now,
                policy=current_policy())
        except alert_service.AlertStateError as exc:
            raise click.ClickException(str(exc)) from exc
        data = {"id": row.id, "merchant_id": merchant_id, "scenario": scenario,
                "until": row.until.isoformat(), "reason": row.reason}
    emit(data, as_json, f"{scenario} snoozed for {merchant_id} until {data['until']} "
                        f"({data['id']})")


@alerts_group.command("unsnooze")
@click.argument("snooze_id")
@with_appcontext
def alerts_unsnooze(snooze_id: str) -> None:
    """End a snooze before its time (audited): new hits open alerts again."""
    from app.models import AlertSnooze
    with session_scope(engine()) as session:
        row = session.get(AlertSnooze, snooze_id)
        if row is None:
            raise click.ClickException(f"no snooze with id {snooze_id}")
        alert_service.lift_snooze(session, snooze=row, actor=cli_actor(), now=utcnow())
    click.echo(f"snooze {snooze_id} lifted")


@alerts_group.command("escalate")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@with_appcontext
def alerts_escalate(as_json: bool) -> None:
    """Escalate every alert past its due time to the approvers (marker, audit, notice).

    Safe to repeat (an escalated alert is not escalated again); run it periodically."""
    now = utcnow()
    with session_scope(engine()) as session:
        escalated = alert_service.escalate_overdue_alerts(session, now=now, actor=cli_actor())
        ids = [a.id for a in escalated]
    for alert_id in ids:
        click.echo(f"escalated {alert_id}", err=True)
    emit({"escalated": len(ids), "alert_ids": ids, "at": now.isoformat()}, as_json,
         f"{len(ids)} overdue alert(s) escalated")


def commands() -> list[click.Command]:
    """Commands this module adds to ``kybgate``."""
    from app.commands.cases import cases_group
    return [alerts_group, cases_group]

