"""Console pages for the regulator's figures and the webhook dead letters.

* ``/staff/reports`` (approvers and admins): the R-D8 figures per month with server-rendered
  SVG charts, the current backlog, and ``/staff/reports.csv`` for auditors (the export is
  audited);
* ``/staff/webhooks`` (admins): the registered endpoints and the dead deliveries, each with a
  "retry" action that queues it again under the same webhook-id.
"""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from markupsafe import Markup

from app.audit.trail import record
from app.db import utcnow
from app.extensions import db_session, settings
from app.services.report_months import MonthFigures, figures_csv, monthly_figures
from app.services.reports import current_figures
from app.services.webhooks import (
    WebhookNotFound,
    dead_deliveries,
    list_endpoints,
    retry_delivery,
)
from app.staff import bp
from app.web.auth import require_user, web_actor
from app.web.charts import Bar, bar_chart

MONTHS = 12


def _bars(rows: list[MonthFigures], pick, css: str = "pass", scale: float = 1.0) -> list[Bar]:
    return [Bar(row.month, round(float(pick(row) or 0) * scale, 2), css) for row in rows]


def report_charts(rows: list[MonthFigures]) -> list[tuple[str, Markup]]:
    """The Reports page's charts: one bar per month each."""
    specs = [
        (_("Verifications"), lambda r: r.verifications, "pass", 1.0, None),
        (_("Time to verify, p95 (ms)"), lambda r: r.verify_p95_ms, "flag", 1.0, None),
        (_("Alert precision (%)"), lambda r: r.alert_precision, "pass", 100.0, 100.0),
        (_("Alerts closed after their due time"), lambda r: r.alerts_closed_late, "fail",
         1.0, None),
        (_("Case time to close (hours, average)"), lambda r: r.case_close_hours_avg, "flag",
         1.0, None),
        (_("High-tier (EDD) share of assessments (%)"), lambda r: r.edd_share, "flag", 100.0,
         100.0),
        (_("Webhook deliveries given up"), lambda r: r.webhooks_dead, "fail", 1.0, None),
    ]
    return [(title, bar_chart(_bars(rows, pick, css, scale), title=title, maximum=top))
            for title, pick, css, scale, top in specs]


@bp.get("/reports", endpoint="reports")
@require_user("staff", "approver", "admin")
def reports():
    """The R-D8 figures of the last twelve months, with charts."""
    session = db_session()
    now = utcnow()
    rows = monthly_figures(session, now=now, months=MONTHS)
    current = current_figures(session, settings(), now)
    figures = {name: samples[0][1] for name, (_h, labels, samples) in current.items()
               if not labels and samples}
    return render_template("staff/reports.html", rows=rows, charts=report_charts(rows),
                           current=figures, precision=current["kyb_alert_precision"][2],
                           now=now)


@bp.get("/reports.csv", endpoint="reports_csv")
@require_user("staff", "approver", "admin")
def reports_csv():
    """The monthly figures as CSV for auditors (the download is audited)."""
    session = db_session()
    now = utcnow()
    body = figures_csv(monthly_figures(session, now=now, months=MONTHS))
    record(session, web_actor().event("report.exported", at=now,
                                      details={"report": "r-d8-monthly", "months": MONTHS}))
    session.commit()
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": f"attachment; filename=kybgate-figures-{now:%Y-%m-%d}.csv"})


@bp.get("/webhooks", endpoint="webhooks")
@require_user("staff", "admin")
def webhooks():
    """Registered webhook endpoints and the dead letters."""
    session = db_session()
    return render_template("staff/webhooks.html", endpoints=list_endpoints(session),
                           dead=dead_deliveries(session))


@bp.post("/webhooks/deliveries/<delivery_id>/retry", endpoint="webhook_retry")
@require_user("staff", "admin")
def webhook_retry(delivery_id: str):
    """Queue a dead delivery again (same webhook-id); audited."""
    session = db_session()
    try:
        retry_delivery(session, delivery_id=delivery_id, actor=web_actor(), now=utcnow())
    except WebhookNotFound:
        abort(404)
    session.commit()
    flash(_("Delivery %(id)s is queued again.", id=delivery_id), "success")
    return redirect(url_for("staff.webhooks"), 303)
