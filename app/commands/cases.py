"""``kybgate cases list|open|show|note|close`` (R-D5), registered by
:mod:`app.commands.casework`. Closing a case that needs four eyes from the CLI records the close
request only: a signed-in staff approver confirms it in the console."""

from __future__ import annotations

from typing import Any

import click
from flask.cli import with_appcontext

from app.cli import cli_actor, emit
from app.db import session_scope, utcnow
from app.extensions import engine
from app.models import Case, Merchant
from app.models.casework import CASE_OUTCOMES, CASE_PRIORITIES, CASE_STATUSES
from app.services import cases as case_service
from app.services.assessments import current_policy


@click.group("cases")
def cases_group() -> None:
    """Cases: investigations of a merchant that group its alerts."""


def case_dict(case: Case) -> dict[str, Any]:
    """A case as ``--json`` prints it."""
    return case.model_dump(mode="json")


def _case(session, case_id: str) -> Case:
    case = case_service.get_case(session, case_id)
    if case is None:
        raise click.ClickException(f"no case with id {case_id}")
    return case


@cases_group.command("list")
@click.option("--status", type=click.Choice([*CASE_STATUSES, "active"]), default=None,
              help="Only this status (active: every status but closed).")
@click.option("--merchant", "merchant_id", default=None, help="Only this merchant.")
@click.option("--limit", default=200, show_default=True, help="At most this many cases.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@with_appcontext
def cases_list(status: str | None, merchant_id: str | None, limit: int, as_json: bool) -> None:
    """List cases by due time (closed ones last)."""
    with session_scope(engine()) as session:
        data = [case_dict(c) for c in case_service.list_cases(
            session, status=status, merchant_id=merchant_id, limit=limit)]
    lines = [f"{d['id']}  {d['status']:<24} {d['priority']:<8} due {d['due_at'][:16]}  "
             f"{d['merchant_id']}  {d['title']}" for d in data]
    emit(data, as_json, "\n".join(lines) or "no cases")


@cases_group.command("open")
@click.option("--merchant", "merchant_id", required=True, help="The merchant.")
@click.option("--title", required=True, help="What the case is about.")
@click.option("--alert", "alert_ids", multiple=True, help="An alert to include (repeatable).")
@click.option("--priority", type=click.Choice(CASE_PRIORITIES), default=None,
              help="Default: the most severe alert's, else medium.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@with_appcontext
def cases_open(merchant_id: str, title: str, alert_ids: tuple[str, ...],
               priority: str | None, as_json: bool) -> None:
    """Open a case for a merchant, from its alerts or on its own (audited)."""
    with session_scope(engine()) as session:
        merchant = session.get(Merchant, merchant_id)
        if merchant is None:
            raise click.ClickException(f"no merchant with id {merchant_id}")
        try:
            case = case_service.open_case(session, merchant=merchant, title=title,
                                          alert_ids=alert_ids, priority=priority,
                                          actor=cli_actor(), now=utcnow(),
                                          policy=current_policy())
        except case_service.CaseRefused as exc:
            raise click.ClickException(str(exc)) from exc
        data = case_dict(case)
    emit(data, as_json, f"opened {data['id']} ({data['priority']}, due {data['due_at']})")


@cases_group.command("show")
@click.argument("case_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@with_appcontext
def cases_show(case_id: str, as_json: bool) -> None:
    """A case, its alerts, notes and timeline."""
    with session_scope(engine()) as session:
        case = _case(session, case_id)
        data = case_dict(case)
        data["alert_ids"] = [a.id for a in case_service.case_alerts(session, case)]
        data["notes"] = [{"author": n.author, "text": n.text, "at": n.created_at.isoformat()}
                         for n in case_service.case_notes(session, case)]
        data["timeline"] = [{"seq": e.seq, "at": e.at.isoformat(), "actor": e.actor,
                             "action": e.action, "hash": e.hash}
                            for e in case_service.timeline(session, case)]
    head = "\n".join(f"{k:>18}: {v}" for k, v in data.items()
                     if k not in ("notes", "timeline"))
    events = "\n".join(f"  {e['at'][:19]}  {e['action']:<22} {e['actor']}"
                       for e in data["timeline"])
    emit(data, as_json, f"{head}\n\ntimeline\n{events}")


@cases_group.command("note")
@click.argument("case_id")
@click.option("--text", required=True, help="The note.")
@with_appcontext
def cases_note(case_id: str, text: str) -> None:
    """Add a note to a case (audited)."""
    with session_scope(engine()) as session:
        try:
            note = case_service.add_note(session, case=_case(session, case_id), text=text,
                                         actor=cli_actor(), now=utcnow())
        except case_service.CaseRefused as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"note {note.id} added to {case_id}")


@cases_group.command("close")
@click.argument("case_id")
@click.option("--outcome", required=True, type=click.Choice(CASE_OUTCOMES), help="The result.")
@click.option("--reason", required=True, help="Why (3 to 1000 characters).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@with_appcontext
def cases_close(case_id: str, outcome: str, reason: str, as_json: bool) -> None:
    """Close a case. One needing four eyes gets a close request; an approver confirms it in
    the console."""
    with session_scope(engine()) as session:
        case = _case(session, case_id)
        try:
            case_service.close_case(session, case=case, outcome=outcome, reason=reason,
                                    actor=cli_actor(), role="cli", now=utcnow(),
                                    policy=current_policy())
        except case_service.CaseRefused as exc:
            raise click.ClickException(str(exc)) from exc
        data = case_dict(case)
    text = (f"{case_id} closed ({outcome})" if data["status"] == "closed" else
            f"{case_id}: close requested; a second approver must confirm it in the console")
    emit(data, as_json, text)
