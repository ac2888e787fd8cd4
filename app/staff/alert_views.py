"""The alerts queue and the alert page: filter and sort by due time, skim with the keyboard
(``j``/``k`` move, ``o`` open, ``n`` next unworked item, ``a`` assign to me), read the evidence,
review, close with a disposition and a reason, snooze the scenario, open a case (R-C1, R-D5)."""

from __future__ import annotations

import datetime as dt

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlmodel import select

from app.db import utcnow
from app.extensions import db_session
from app.models import Alert, AlertSnooze, Case, Merchant
from app.services import alerts as alert_service
from app.services import cases as case_service
from app.services.assessments import current_policy
from app.staff import bp
from app.staff.casework_forms import AddToCaseForm, CloseAlertForm, OpenCaseForm, SnoozeForm
from app.staff.casework_page import (
    AlertFilters,
    alert_evidence,
    alert_rows,
    next_unworked,
    scenarios,
)
from app.web.auth import require_user, web_actor
from app.web.forms import EmptyForm

SEVERITIES = ("low", "medium", "high", "critical")


def _filters() -> AlertFilters:
    args = request.args
    pick = lambda name, allowed, default="": (  # noqa: E731
        args.get(name) if args.get(name) in allowed else default)
    return AlertFilters(
        status=pick("status", ("active", "open", "in_review", "closed", "all"), "active"),
        severity=pick("severity", SEVERITIES), scenario=args.get("scenario", "")[:60],
        assignee=pick("assignee", ("me", "unassigned")),
        marker=pick("marker", ("overdue", "escalated")), sort=pick("sort", ("due", "-due"),
                                                                   "due"))


@bp.get("/alerts", endpoint="alerts")
@require_user("staff")
def alerts_queue():
    """Alerts by due time, with overdue and escalated markers and keyboard skimming."""
    session, now, filters = db_session(), utcnow(), _filters()
    rows = alert_rows(session, filters, current_user.actor_name, now)
    return render_template("staff/alerts.html", rows=rows, filters=filters, now=now,
                           severities=SEVERITIES, scenarios=scenarios(session),
                           me=current_user.actor_name, form=EmptyForm())


@bp.get("/alerts/next", endpoint="next_alert")
@require_user("staff")
def next_alert():
    """Open the most urgent unworked alert (nobody else's), skipping ``after``."""
    alert = next_unworked(db_session(), current_user.actor_name,
                          after=request.args.get("after"))
    if alert is None:
        flash(_("No unworked alerts left."), "success")
        return redirect(url_for("staff.alerts"), 303)
    return redirect(url_for("staff.alert", alert_id=alert.id), 303)


def _alert(alert_id: str) -> Alert:
    alert = db_session().get(Alert, alert_id)
    if alert is None:
        abort(404)
    return alert


@bp.get("/alerts/<alert_id>", endpoint="alert")
@require_user("staff")
def alert_page(alert_id: str):
    """One alert: its facts, the evidence as tables, and what can be done with it."""
    session, alert, now = db_session(), _alert(alert_id), utcnow()
    merchant = session.get(Merchant, alert.merchant_id) if alert.merchant_id else None
    add_form = AddToCaseForm()
    add_form.case_id.choices = [
        (c.id, f"{c.title} ({c.id})") for c in session.exec(select(Case).where(
            Case.merchant_id == alert.merchant_id, Case.status != "closed")
            .order_by(Case.opened_at.desc())).all()]
    snooze = SnoozeForm(hours=24)
    return render_template(
        "staff/alert.html", alert=alert, merchant=merchant, now=now,
        evidence=alert_evidence(session, alert), close_form=CloseAlertForm(),
        snooze_form=snooze, case_form=OpenCaseForm(title=f"{alert.scenario}: "
                                                   f"{merchant.legal_name if merchant else ''}"
                                                   [:200]),
        add_form=add_form, form=EmptyForm(), me=current_user.actor_name,
        snoozes=(list(alert_service.active_snoozes(session, merchant_id=merchant.id,
                                                   now=now).values()) if merchant else []),
        snooze_max=(current_policy().casework.snooze_max_hours
                    if current_policy().casework else 0))


def _back(alert: Alert, anchor: str = ""):
    return redirect(url_for("staff.alert", alert_id=alert.id) + anchor, 303)


def _apply(alert: Alert, change, success: str):
    """Run ``change(session, actor, now)``, commit and flash; a refusal is flashed."""
    session = db_session()
    try:
        result = change(session, web_actor(), utcnow())
    except (alert_service.AlertStateError, case_service.CaseRefused) as exc:
        session.rollback()
        flash(_("Not done: %(why)s", why=str(exc)), "error")
        return None
    session.commit()
    flash(success, "success")
    return result or True


@bp.post("/alerts/<alert_id>/assign", endpoint="alert_assign")
@require_user("staff")
def assign_to_me(alert_id: str):
    """Take the alert."""
    alert = _alert(alert_id)
    if EmptyForm().validate_on_submit():
        _apply(alert, lambda s, actor, now: alert_service.assign_alert(
            s, alert=alert, assignee=actor.name, actor=actor, now=now), _("Assigned to you."))
    return _back(alert)


@bp.post("/alerts/<alert_id>/review", endpoint="alert_review")
@require_user("staff")
def start_review(alert_id: str):
    """Start reviewing the alert (open → in review)."""
    alert = _alert(alert_id)
    if EmptyForm().validate_on_submit():
        _apply(alert, lambda s, actor, now: alert_service.start_review(
            s, alert=alert, actor=actor, now=now), _("Review started."))
    return _back(alert)


@bp.post("/alerts/<alert_id>/close", endpoint="alert_close")
@require_user("staff")
def close(alert_id: str):
    """Close with a disposition and a reason, then go on to the next unworked alert."""
    alert, form = _alert(alert_id), CloseAlertForm()
    if not form.validate_on_submit():
        flash(_("Closing an alert needs a disposition and a reason (at least 3 characters)."),
              "error")
        return _back(alert, "#close")
    done = _apply(alert, lambda s, actor, now: alert_service.close_alert(
        s, alert=alert, disposition=form.disposition.data, reason=form.reason.data,
        actor=actor, now=now), _("Alert closed."))
    if done:
        return redirect(url_for("staff.next_alert", after=alert.id), 303)
    return _back(alert, "#close")


@bp.post("/alerts/<alert_id>/snooze", endpoint="alert_snooze")
@require_user("staff")
def snooze(alert_id: str):
    """Snooze the alert's scenario for its merchant (bounded, with a reason)."""
    alert, form = _alert(alert_id), SnoozeForm()
    if not form.validate_on_submit() or alert.merchant_id is None:
        flash(_("A snooze needs a number of hours and a reason."), "error")
        return _back(alert, "#snooze")
    _apply(alert, lambda s, actor, now: alert_service.snooze_scenario(
        s, merchant_id=alert.merchant_id, scenario=alert.scenario, reason=form.reason.data,
        until=now + dt.timedelta(hours=form.hours.data), actor=actor, now=now,
        policy=current_policy()), _("Scenario snoozed for this merchant."))
    return _back(alert, "#snooze")


@bp.post("/alerts/<alert_id>/case", endpoint="alert_open_case")
@require_user("staff")
def open_case(alert_id: str):
    """Open a case from this alert and go to it."""
    alert, form = _alert(alert_id), OpenCaseForm()
    merchant = db_session().get(Merchant, alert.merchant_id) if alert.merchant_id else None
    if not form.validate_on_submit() or merchant is None:
        flash(_("A case needs a title of at least 3 characters."), "error")
        return _back(alert, "#case")
    case = _apply(alert, lambda s, actor, now: case_service.open_case(
        s, merchant=merchant, title=form.title.data, alert_ids=[alert.id],
        priority=form.priority.data or None, actor=actor, now=now, policy=current_policy()),
        _("Case opened."))
    if case:
        return redirect(url_for("staff.case", case_id=case.id), 303)
    return _back(alert, "#case")


@bp.post("/alerts/<alert_id>/add-to-case", endpoint="alert_add_to_case")
@require_user("staff")
def add_to_case(alert_id: str):
    """Put the alert in an open case of its merchant."""
    alert = _alert(alert_id)
    case = db_session().get(Case, request.form.get("case_id", ""))
    if case is None or not EmptyForm().validate_on_submit():
        flash(_("Choose one of the merchant's open cases."), "error")
        return _back(alert, "#case")
    if _apply(alert, lambda s, actor, now: case_service.add_alerts(
            s, case=case, alert_ids=[alert.id], actor=actor, now=now),
            _("Alert added to the case.")):
        return redirect(url_for("staff.case", case_id=case.id), 303)
    return _back(alert, "#case")


@bp.post("/snoozes/<snooze_id>/lift", endpoint="lift_snooze")
@require_user("staff")
def lift_snooze(snooze_id: str):
    """End a snooze early (audited); back to the alert it was lifted from."""
    session = db_session()
    row = session.get(AlertSnooze, snooze_id)
    if row is None or not EmptyForm().validate_on_submit():
        abort(404)
    alert_service.lift_snooze(session, snooze=row, actor=web_actor(), now=utcnow())
    session.commit()
    flash(_("Snooze lifted: new hits open alerts again."), "success")
    back = request.form.get("alert_id", "")
    if back and session.get(Alert, back) is not None:
        return redirect(url_for("staff.alert", alert_id=back) + "#snooze", 303)
    return redirect(url_for("staff.alerts"), 303)
