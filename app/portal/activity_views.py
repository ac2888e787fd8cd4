"""The merchant's own API-call log (its token verifications from the audit trail, card data
masked as stored) and its notifications."""

from __future__ import annotations

from flask import render_template, request
from sqlmodel import select

from app.extensions import db_session
from app.models import AuditEvent, Notification
from app.portal import bp
from app.portal.context import own_merchant
from app.services.verification import VERIFY_ACTION
from app.web.auth import require_user
from app.web.notices import shown

PAGE = 100


def _before() -> int | None:
    raw = request.args.get("before", "")
    return int(raw) if raw.isdigit() and len(raw) < 19 else None


@bp.get("/activity", endpoint="activity")
@require_user("merchant")
def activity():
    """API calls made with the merchant's keys, newest first, ``PAGE`` at a time (``before``
    is the ``seq`` to continue below). Only events of this merchant are ever read."""
    merchant = own_merchant()
    stmt = select(AuditEvent).where(AuditEvent.merchant_id == merchant.id,
                                    AuditEvent.action == VERIFY_ACTION)
    before = _before()
    if before is not None:
        stmt = stmt.where(AuditEvent.seq < before)
    rows = db_session().exec(stmt.order_by(AuditEvent.seq.desc()).limit(PAGE + 1)).all()
    more = rows[PAGE - 1].seq if len(rows) > PAGE else None
    return render_template("portal/activity.html", m=merchant, events=rows[:PAGE], more=more)


@bp.get("/notifications", endpoint="notifications")
@require_user("merchant")
def notifications():
    """Every message sent to the merchant (key changes, data changes, decisions), newest
    first."""
    merchant = own_merchant()
    rows = db_session().exec(select(Notification).where(Notification.merchant_id == merchant.id)
                             .order_by(Notification.created_at.desc()).limit(300)).all()
    return render_template("portal/notifications.html", m=merchant,
                           notices=[(row, shown(row)) for row in rows])
