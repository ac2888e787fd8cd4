"""The work queue: applications awaiting review and open alerts, by due time."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.db import utcnow
from app.extensions import db_session
from app.staff import bp
from app.staff.queue import QueueFilters, alerts, applications, assign, next_application
from app.web.auth import require_user, web_actor
from app.web.forms import EmptyForm
from app.web.login_views import safe_next

TIERS = ("low", "medium", "high")


def _filters() -> QueueFilters:
    args = request.args
    return QueueFilters(
        show=args.get("show", "") if args.get("show") in ("applications", "alerts") else "",
        tier=args.get("tier", "") if args.get("tier") in TIERS else "",
        status=args.get("status", ""),
        assignee=args.get("assignee", "") if args.get("assignee") in ("me", "unassigned")
        else "",
        q=args.get("q", "").strip()[:100],
        second=args.get("second") == "1")


@bp.get("/", endpoint="queue")
@require_user("staff")
def queue():
    """Applications and alerts, most urgent first, with SLA countdowns."""
    filters = _filters()
    session, me = db_session(), current_user.actor_name
    apps = applications(session, filters, me) if filters.show != "alerts" else []
    open_alerts = (alerts(session, filters, me)
                   if filters.show != "applications" and not filters.second else [])
    return render_template("staff/queue.html", filters=filters, applications=apps,
                           alerts=open_alerts, now=utcnow(), tiers=TIERS, me=me,
                           form=EmptyForm())


@bp.get("/applications/next", endpoint="next_application")
@require_user("staff")
def next_application_view():
    """Open the oldest application waiting for a reviewer (nobody else's), skipping
    ``after``: the keyboard's "next item" after a decision."""
    row = next_application(db_session(), current_user.actor_name,
                           after=request.args.get("after"))
    if row is None:
        flash(_("No applications waiting for a reviewer."), "success")
        return redirect(url_for("staff.queue"), 303)
    return redirect(url_for("staff.merchant", merchant_id=row.id), 303)


@bp.post("/queue/assign/<kind>/<item_id>", endpoint="assign")
@require_user("staff")
def assign_to_me(kind: str, item_id: str):
    """Take an application or alert ("assign to me")."""
    form = EmptyForm()
    if not form.validate_on_submit() or kind not in ("alert", "application"):
        flash(_("The form expired. Please try again."), "error")
        return redirect(url_for("staff.queue")), 303
    session = db_session()
    if assign(session, kind=kind, item_id=item_id, actor=web_actor(), now=utcnow()):
        session.commit()
        flash(_("Assigned to you."), "success")
    else:
        flash(_("That item is no longer open."), "warning")
    return redirect(safe_next(request.form.get("back"), url_for("staff.queue")), 303)
