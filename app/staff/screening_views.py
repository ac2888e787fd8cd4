"""Staff actions on a merchant's screening hits (issue #12 item 3): "not this person" with a
reason, the second approver's confirmation for a strong hit (four eyes), and an approver's
revocation of such a decision (the hit is raised again)."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlmodel import Session, select

from app.db import utcnow
from app.extensions import db_session, settings
from app.models import Merchant, ScreeningDismissal
from app.services.assessments import active_policy
from app.services.screening import screening_index
from app.services.screening_decisions import (
    DismissalRefused,
    confirm_dismissal,
    dismiss_hit,
    revoke_dismissal,
)
from app.staff import bp
from app.web.auth import require_user, web_actor
from app.web.forms import EmptyForm

REFUSALS = {
    "reason_required": lambda: _("A reason of 3 to 1000 characters is required."),
    "person_required": lambda: _("Only a person signed in to the console can do this."),
    "approver_required": lambda: _("A strong hit needs two approvers; an analyst cannot "
                                   "dismiss it or confirm its dismissal."),
    "no_such_hit": lambda: _("This hit is no longer found for this merchant."),
    "already_dismissed": lambda: _("This hit already has a decision."),
    "four_eyes": lambda: _("Four eyes: a second, different approver must confirm."),
    "not_pending": lambda: _("This decision is not awaiting confirmation."),
    "already_revoked": lambda: _("This decision is already revoked."),
}
REVOKE_REFUSALS = {
    "approver_required": lambda: _("Only an approver can revoke a dismissal."),
}


def merchant_dismissals(session: Session, merchant_id: str) -> list[ScreeningDismissal]:
    """The merchant's "not this person" decisions, newest first (for the sanctions row)."""
    return list(session.exec(select(ScreeningDismissal)
                             .where(ScreeningDismissal.merchant_id == merchant_id)
                             .order_by(ScreeningDismissal.dismissed_at.desc())).all())


def _posted_dismissal(session: Session, merchant_id: str,
                      dismissal_id: str) -> ScreeningDismissal:
    """The merchant's dismissal a form posted about (404 for another merchant's, 400 without
    a valid CSRF token)."""
    row = session.get(ScreeningDismissal, dismissal_id)
    if row is None or row.merchant_id != merchant_id:
        abort(404)
    if not EmptyForm().validate_on_submit():
        abort(400)
    return row


def _back(merchant_id: str):
    return redirect(url_for("staff.merchant", merchant_id=merchant_id) + "#screening", 303)


def _refused(exc: DismissalRefused, messages: dict | None = None) -> None:
    db_session().rollback()
    message = (messages or {}).get(exc.code) or REFUSALS.get(exc.code, lambda: str(exc))
    flash(message(), "error")


@bp.post("/merchants/<merchant_id>/screening/dismiss", endpoint="dismiss_hit")
@require_user("staff")
def dismiss(merchant_id: str):
    """Mark one hit "not this person" (reason required; a strong hit waits for a second,
    different approver). Audited as ``screening.hit_dismissed``."""
    session = db_session()
    merchant = session.get(Merchant, merchant_id)
    if merchant is None:
        abort(404)
    if not EmptyForm().validate_on_submit():
        abort(400)
    field = {k: (request.form.get(k) or "").strip() for k in
             ("subject_role", "subject", "list_name", "entry_id", "reason")}
    try:
        row = dismiss_hit(session, merchant=merchant, index=screening_index(session),
                          subject_role=field["subject_role"], subject=field["subject"],
                          list_name=field["list_name"], entry_id=field["entry_id"],
                          reason=field["reason"], actor=web_actor(), role=current_user.role,
                          now=utcnow(), policy=active_policy(settings().policy_path))
    except DismissalRefused as exc:
        _refused(exc)
        return _back(merchant_id)
    session.commit()
    if row.status == "pending":
        flash(_("Recorded. This is a strong hit: a second, different approver must confirm "
                "it (four eyes)."), "warning")
    else:
        flash(_("Hit dismissed as not this person. Re-run the assessment to apply it."),
              "success")
    return _back(merchant_id)


@bp.post("/merchants/<merchant_id>/screening/dismissals/<dismissal_id>/confirm",
         endpoint="confirm_dismissal")
@require_user("staff")
def confirm(merchant_id: str, dismissal_id: str):
    """The second approver confirms a strong hit's dismissal (``screening.
    hit_dismissal_confirmed``)."""
    session = db_session()
    row = _posted_dismissal(session, merchant_id, dismissal_id)
    try:
        confirm_dismissal(session, dismissal=row, actor=web_actor(), role=current_user.role,
                          now=utcnow())
    except DismissalRefused as exc:
        _refused(exc)
        return _back(merchant_id)
    session.commit()
    flash(_("Dismissal confirmed. Re-run the assessment to apply it."), "success")
    return _back(merchant_id)


@bp.post("/merchants/<merchant_id>/screening/dismissals/<dismissal_id>/revoke",
         endpoint="revoke_dismissal")
@require_user("staff")
def revoke(merchant_id: str, dismissal_id: str):
    """An approver revokes a "not this person" decision with a reason (``screening.
    hit_dismissal_revoked``); the merchant is re-screened and the hit raised again."""
    session = db_session()
    row = _posted_dismissal(session, merchant_id, dismissal_id)
    try:
        revoke_dismissal(session, dismissal=row, reason=request.form.get("reason") or "",
                         actor=web_actor(), role=current_user.role, now=utcnow())
    except DismissalRefused as exc:
        _refused(exc, REVOKE_REFUSALS)
        return _back(merchant_id)
    session.commit()
    flash(_("Dismissal revoked: the hit counts again. The merchant is being re-screened."),
          "success")
    return _back(merchant_id)
