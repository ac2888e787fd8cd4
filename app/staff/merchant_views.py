"""The merchant page and what staff do on it: decide, note, re-assess."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlmodel import select

from app.db import utcnow
from app.extensions import db_session, settings
from app.models import Merchant, MerchantNote
from app.services.assessments import active_policy
from app.services.decisions import DecisionRefused, decide
from app.staff import bp
from app.staff.forms import DecisionForm, NoteForm
from app.staff.merchant_page import load_page
from app.staff.presenters import check_bars, key_limits, network
from app.web.auth import require_user, web_actor
from app.web.forms import EmptyForm

# Decisions an analyst may take; the rest need an approver or admin.
ANALYST_DECISIONS = {"request_info"}
APPROVER_ROLES = {"approver", "admin"}


def _merchant(merchant_id: str) -> Merchant:
    merchant = db_session().get(Merchant, merchant_id)
    if merchant is None:
        abort(404)
    return merchant


@bp.get("/merchants", endpoint="merchants")
@require_user("staff")
def merchants():
    """Every merchant, newest first, filterable by status, tier and name."""
    stmt = select(Merchant)
    status, tier, q = (request.args.get(k, "").strip() for k in ("status", "tier", "q"))
    if status:
        stmt = stmt.where(Merchant.status == status)
    if tier:
        stmt = stmt.where(Merchant.tier == tier)
    if q:
        stmt = stmt.where(Merchant.legal_name.ilike(f"%{q[:100]}%"))
    rows = db_session().exec(stmt.order_by(Merchant.created_at.desc()).limit(300)).all()
    return render_template("staff/merchants.html", merchants=rows, status=status, tier=tier,
                           q=q)


@bp.get("/merchants/<merchant_id>", endpoint="merchant")
@require_user("staff")
def merchant(merchant_id: str):
    """The merchant page: data and history, checks, links, turnover, keys, notes, audit."""
    row = _merchant(merchant_id)
    now = utcnow()
    page = load_page(db_session(), row, policy=active_policy(settings().policy_path), now=now)
    return render_template("staff/merchant.html", page=page, m=row, now=now,
                           bars=check_bars(page.assessment), network=network(page),
                           key_limits=key_limits(page, now),
                           decision_form=DecisionForm(), note_form=NoteForm(),
                           empty_form=EmptyForm(), can_approve=current_user.role in
                           APPROVER_ROLES)


@bp.post("/merchants/<merchant_id>/decisions", endpoint="decide")
@require_user("staff")
def take_decision(merchant_id: str):
    """Approve, approve with limits, request information, reject or suspend (reason required;
    a high-tier approval needs two different approvers)."""
    row = _merchant(merchant_id)
    form = DecisionForm()
    back = redirect(url_for("staff.merchant", merchant_id=row.id) + "#decide", 303)
    if not form.validate_on_submit():
        flash(_("A decision needs a reason (at least 3 characters)."), "error")
        return back
    if form.decision.data not in ANALYST_DECISIONS and current_user.role not in APPROVER_ROLES:
        abort(403)
    session = db_session()
    try:
        result = decide(session, merchant=row, decision=form.decision.data,
                        reason=form.reason.data, actor=web_actor(), now=utcnow(),
                        limits=form.limits() if form.decision.data == "approve_with_limits"
                        else None)
    except DecisionRefused as exc:
        session.rollback()
        flash(_("Decision refused: %(why)s", why=str(exc)), "error")
        return back
    session.commit()
    if result.status == "pending_second":
        flash(_("Approval recorded. This merchant is high risk: a second, different approver "
                "must confirm it (four eyes)."), "warning")
    else:
        flash(_("Decision recorded: %(d)s. Merchant status is now %(s)s.",
                d=result.decision.replace("_", " "), s=row.status.replace("_", " ")), "success")
    return back


@bp.post("/merchants/<merchant_id>/notes", endpoint="add_note")
@require_user("staff")
def add_note(merchant_id: str):
    """Add a reviewer's note (audited)."""
    row = _merchant(merchant_id)
    form = NoteForm()
    if form.validate_on_submit():
        from app.audit.trail import record
        session, actor = db_session(), web_actor()
        note = MerchantNote(merchant_id=row.id, author=actor.name, body=form.body.data.strip(),
                            created_at=utcnow())
        session.add(note)
        session.flush()
        record(session, actor.event("merchant.note_added", target_type="merchant_note",
                                    target_id=note.id, merchant_id=row.id,
                                    details={"length": len(note.body)}))
        session.commit()
        flash(_("Note added."), "success")
    else:
        flash(_("A note cannot be empty."), "error")
    return redirect(url_for("staff.merchant", merchant_id=row.id) + "#notes", 303)


@bp.post("/merchants/<merchant_id>/assess", endpoint="reassess")
@require_user("staff")
def reassess(merchant_id: str):
    """Run the assessment again now (network lookups included; audited by the service)."""
    from app.services.assessments import assess_merchant
    from app.services.facts import lookup_sources
    from app.services.screening import screening_index
    row = _merchant(merchant_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    session = db_session()
    result = assess_merchant(session, merchant=row, actor=web_actor(), now=utcnow(),
                             trigger="staff", sources=lookup_sources(),
                             index=screening_index(session),
                             policy=active_policy(settings().policy_path))
    session.commit()
    flash(_("Assessment done: score %(s)d, tier %(t)s.", s=result.score, t=result.tier),
          "success")
    return redirect(url_for("staff.merchant", merchant_id=row.id) + "#assessment", 303)
