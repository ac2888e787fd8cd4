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
from app.services.personal_data import Disclosure, data_keys, may_see_personal_data
from app.services.scenario_results import overview as monitoring_overview
from app.services.screening_subjects import shown_subject
from app.staff import bp
from app.staff.forms import DECISION_LABELS, DecisionForm, NoteForm, decision_choices
from app.staff.merchant_page import load_page
from app.staff.presenters import check_bars, key_limits, network
from app.staff.screening_views import merchant_dismissals
from app.web.auth import require_user, web_actor
from app.web.forms import EmptyForm

# Decisions an analyst may take; the rest need an approver or admin.
ANALYST_DECISIONS = {"request_info"}
APPROVER_ROLES = {"approver", "admin"}


def allowed_decisions(role: str) -> set[str]:
    """The decisions a staff member of ``role`` may take (R-A1: only approvers decide)."""
    return set(DECISION_LABELS) if role in APPROVER_ROLES else set(ANALYST_DECISIONS)


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
    return _render_merchant(_merchant(merchant_id), DecisionForm())


def _render_merchant(row: Merchant, decision_form: DecisionForm, status: int = 200):
    """The merchant page with ``decision_form`` (fresh, or as submitted when refused); the
    form offers only the decisions the signed-in role may take."""
    now = utcnow()
    policy = active_policy(settings().policy_path)
    session = db_session()
    disclosure = None
    if may_see_personal_data(current_user.role):  # R-D7: who saw which person, and why
        disclosure = Disclosure(actor=web_actor(), purpose="staff merchant review",
                                keys=data_keys(session),
                                action="personal_data.viewed", shown=("email", "phone"))
    page = load_page(session, row, policy=policy, now=now, disclosure=disclosure)
    dismissals = merchant_dismissals(session, row.id)
    subjects = {d.id: shown_subject(d, disclosure) for d in dismissals}  # owners' names
    if disclosure is not None:
        disclosure.record(session, merchant_id=row.id)
        session.commit()
    decision_form.decision.choices = decision_choices(allowed_decisions(current_user.role))
    return render_template("staff/merchant.html", page=page, m=row, now=now,
                           monitoring=monitoring_overview(db_session(), merchant_id=row.id,
                                                          policy=policy),
                           bars=check_bars(page.assessment), network=network(page),
                           key_limits=key_limits(page, now),
                           decision_form=decision_form, note_form=NoteForm(),
                           empty_form=EmptyForm(), can_approve=current_user.role in
                           APPROVER_ROLES,
                           screening_dismissals=dismissals,
                           dismissal_subjects=subjects), status


def _refuse(row: Merchant, form: DecisionForm, message: str, status: int):
    """Show the merchant page again with the typed reason kept and why it was refused."""
    flash(message, "error")
    return _render_merchant(row, form, status)


@bp.post("/merchants/<merchant_id>/decisions", endpoint="decide")
@require_user("staff")
def take_decision(merchant_id: str):
    """Approve, approve with limits, request information, reject or suspend (reason required;
    a high-tier approval needs two different approvers). A refused decision shows the page
    again with the typed reason kept, never a bare error page."""
    row = _merchant(merchant_id)
    form = DecisionForm()
    if not form.validate_on_submit():
        return _refuse(row, form, _("Choose a decision and give a reason (at least 3 "
                                    "characters)."), 422)
    if form.decision.data not in allowed_decisions(current_user.role):
        return _refuse(row, form, _("Your role may not take the decision “%(d)s”: it needs an "
                                    "approver. Your reason is kept below.",
                                    d=DECISION_LABELS[form.decision.data]), 403)
    session = db_session()
    try:
        result = decide(session, merchant=row, decision=form.decision.data,
                        reason=form.reason.data, actor=web_actor(), now=utcnow(),
                        limits=form.limits() if form.decision.data == "approve_with_limits"
                        else None)
    except DecisionRefused as exc:
        session.rollback()
        return _refuse(row, form, _("Decision refused: %(why)s", why=str(exc)), 409)
    session.commit()
    if result.status == "pending_second":
        flash(_("Approval recorded. This merchant is high risk: a second, different approver "
                "must confirm it (four eyes)."), "warning")
    else:
        flash(_("Decision recorded: %(d)s. Merchant status is now %(s)s.",
                d=result.decision.replace("_", " "), s=row.status.replace("_", " ")), "success")
    return _back(row)


def _back(row: Merchant):
    return redirect(url_for("staff.merchant", merchant_id=row.id) + "#decide", 303)


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
