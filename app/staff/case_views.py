"""The case list and the case page (R-D5): timeline, notes, attachments, information requests,
actions on the merchant (freeze its keys; approvers also suspend it and lower its limits), and
the close — by one person, or by two different approvers when it needs four eyes."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlmodel import select

from app.db import utcnow
from app.extensions import csrf, db_session
from app.models import Case, CaseAttachment, Merchant
from app.services import case_actions
from app.services import cases as case_service
from app.services.assessments import current_policy
from app.services.personal_data import attachment_content
from app.services.verification import merchant_caps
from app.staff import bp
from app.staff.casework_forms import (
    AttachmentForm,
    CaseNoteForm,
    CloseCaseForm,
    InfoRequestForm,
    LimitsForm,
    ReasonForm,
    StatusForm,
)
from app.staff.casework_page import timeline_entries
from app.web.auth import require_user, web_actor
from app.web.forms import EmptyForm

APPROVER_ROLES = ("approver", "admin")
UPLOAD_SLACK = 64 * 1024  # multipart overhead above the policy's file size


@bp.get("/cases", endpoint="cases")
@require_user("staff")
def cases_list():
    """Cases by due time; filters: status (default: every open one) and mine."""
    status = request.args.get("status", "active")
    status = status if status in ("active", "open", "investigating",
                                  "waiting_for_information", "closed") else "active"
    mine = request.args.get("assignee") == "me"
    session = db_session()
    rows = case_service.list_cases(session, status=status,
                                   assignee=current_user.actor_name if mine else None)
    names = dict(session.exec(select(Merchant.id, Merchant.legal_name).where(
        Merchant.id.in_([c.merchant_id for c in rows]))).all()) if rows else {}
    return render_template("staff/cases.html", rows=rows, names=names, status=status,
                           mine=mine, now=utcnow())


def _case(case_id: str) -> Case:
    case = db_session().get(Case, case_id)
    if case is None:
        abort(404)
    return case


@bp.get("/cases/<case_id>", endpoint="case")
@require_user("staff")
def case_page(case_id: str):
    """Everything about one case and what can be done from it."""
    session, case, policy = db_session(), _case(case_id), current_policy()
    merchant = session.get(Merchant, case.merchant_id)
    return render_template(
        "staff/case.html", case=case, merchant=merchant, now=utcnow(),
        alerts=case_service.case_alerts(session, case),
        notes=case_service.case_notes(session, case),
        attachments=case_actions.attachments(session, case),
        requests=case_actions.requests_of(session, case),
        timeline=timeline_entries(case_service.timeline(session, case)),
        four_eyes=case_service.needs_four_eyes(session, case, policy),
        caps=merchant_caps(merchant, policy), rules=policy.casework,
        can_approve=current_user.role in APPROVER_ROLES, me=current_user.actor_name,
        note_form=CaseNoteForm(), file_form=AttachmentForm(), info_form=InfoRequestForm(),
        reason_form=ReasonForm(), limits_form=LimitsForm(),
        status_form=StatusForm(status=case.status), close_form=CloseCaseForm(),
        form=EmptyForm())


def _back(case: Case, anchor: str = ""):
    return redirect(url_for("staff.case", case_id=case.id) + anchor, 303)


def _apply(case: Case, change, success: str, anchor: str = ""):
    """Run ``change(session, actor, now)``, commit and flash; a refusal is flashed."""
    session = db_session()
    try:
        change(session, web_actor(), utcnow())
    except case_service.CaseRefused as exc:
        session.rollback()
        flash(_("Not done: %(why)s", why=str(exc)), "error")
        return _back(case, anchor)
    session.commit()
    flash(success, "success")
    return _back(case, anchor)


def _invalid(case: Case, message: str, anchor: str):
    flash(message, "error")
    return _back(case, anchor)


@bp.post("/cases/<case_id>/assign", endpoint="case_assign")
@require_user("staff")
def assign_to_me(case_id: str):
    """Take the case."""
    case = _case(case_id)
    if not EmptyForm().validate_on_submit():
        return _invalid(case, _("The form expired. Please try again."), "")
    return _apply(case, lambda s, actor, now: case_service.assign_case(
        s, case=case, assignee=actor.name, actor=actor, now=now), _("Assigned to you."))


@bp.post("/cases/<case_id>/status", endpoint="case_status")
@require_user("staff")
def set_status(case_id: str):
    """Move the case between open, investigating and waiting for information."""
    case, form = _case(case_id), StatusForm()
    if not form.validate_on_submit():
        return _invalid(case, _("Choose a status."), "#status")
    return _apply(case, lambda s, actor, now: case_service.set_status(
        s, case=case, status=form.status.data, actor=actor, now=now), _("Status changed."))


@bp.post("/cases/<case_id>/notes", endpoint="case_note")
@require_user("staff")
def add_note(case_id: str):
    """A note on the case (in its timeline)."""
    case, form = _case(case_id), CaseNoteForm()
    if not form.validate_on_submit():
        return _invalid(case, _("A note cannot be empty."), "#notes")
    return _apply(case, lambda s, actor, now: case_service.add_note(
        s, case=case, text=form.text.data, actor=actor, now=now), _("Note added."), "#notes")


@csrf.exempt  # the form checks its CSRF token itself, after the larger body limit is set
@bp.post("/cases/<case_id>/attachments", endpoint="case_attach")
@require_user("staff")
def attach(case_id: str):
    """Keep a document with the case (size and type per the policy; SHA-256 audited)."""
    case, policy = _case(case_id), current_policy()
    request.max_content_length = policy.casework.attachment_max_bytes + UPLOAD_SLACK
    form = AttachmentForm()
    if not form.validate_on_submit():
        return _invalid(case, _("Choose a file to upload."), "#attachments")
    upload = form.file.data
    content = upload.read(policy.casework.attachment_max_bytes + 1)
    return _apply(case, lambda s, actor, now: case_actions.add_attachment(
        s, case=case, filename=upload.filename or "", content=content, actor=actor, now=now,
        policy=policy), _("Document added."), "#attachments")


@bp.get("/cases/<case_id>/attachments/<attachment_id>", endpoint="case_attachment")
@require_user("staff")
def download(case_id: str, attachment_id: str):
    """Download a document of the case (always as a download, never shown inline)."""
    session = db_session()
    row = session.get(CaseAttachment, attachment_id)
    if row is None or row.case_id != case_id:
        abort(404)
    content = attachment_content(session, row, actor=web_actor())  # a sealed one: audited
    session.commit()
    resp = Response(content, mimetype=row.content_type)
    resp.headers["Content-Disposition"] = f"attachment; filename=\"{row.id}-{row.sha256[:8]}\""
    return resp


@bp.post("/cases/<case_id>/information", endpoint="case_info")
@require_user("staff")
def request_information(case_id: str):
    """Ask the merchant a question; the portal shows it and the case waits."""
    case, form = _case(case_id), InfoRequestForm()
    if not form.validate_on_submit():
        return _invalid(case, _("A question needs at least 5 characters."), "#information")
    return _apply(case, lambda s, actor, now: case_actions.request_information(
        s, case=case, question=form.question.data, actor=actor, now=now,
        policy=current_policy()), _("Request sent to the merchant."), "#information")


@bp.post("/cases/<case_id>/freeze", endpoint="case_freeze")
@require_user("staff")
def freeze(case_id: str):
    """Freeze every API key of the merchant (kill switch)."""
    case, form = _case(case_id), ReasonForm()
    if not form.validate_on_submit():
        return _invalid(case, _("Give a reason (at least 3 characters)."), "#actions")
    return _apply(case, lambda s, actor, now: case_actions.freeze_keys(
        s, case=case, reason=form.reason.data, actor=actor, now=now),
        _("The merchant's API keys are frozen."), "#actions")


@bp.post("/cases/<case_id>/suspend", endpoint="case_suspend")
@require_user("staff", *APPROVER_ROLES)
def suspend(case_id: str):
    """Suspend the merchant (approvers)."""
    case, form = _case(case_id), ReasonForm()
    if not form.validate_on_submit():
        return _invalid(case, _("Give a reason (at least 3 characters)."), "#actions")
    return _apply(case, lambda s, actor, now: case_actions.suspend_merchant(
        s, case=case, reason=form.reason.data, actor=actor, now=now),
        _("The merchant is suspended."), "#actions")


@bp.post("/cases/<case_id>/limits", endpoint="case_limits")
@require_user("staff", *APPROVER_ROLES)
def limits(case_id: str):
    """Lower the merchant's caps (approvers)."""
    case, form = _case(case_id), LimitsForm()
    if not form.validate_on_submit():
        return _invalid(case, _("Give at least one lower limit and a reason."), "#actions")
    wanted = {"per_transaction": form.per_transaction.data, "daily": form.daily.data,
              "monthly": form.monthly.data}
    return _apply(case, lambda s, actor, now: case_actions.tighten_limits(
        s, case=case, limits=wanted, reason=form.reason.data, actor=actor, now=now,
        policy=current_policy()), _("The merchant's limits are lowered."), "#actions")


@bp.post("/cases/<case_id>/close", endpoint="case_close")
@require_user("staff")
def close(case_id: str):
    """Close the case, or request / confirm a four-eyes close."""
    case, form = _case(case_id), CloseCaseForm()
    if not form.validate_on_submit():
        return _invalid(case, _("Closing a case needs an outcome and a reason."), "#close")
    session = db_session()
    try:
        case_service.close_case(session, case=case, outcome=form.outcome.data,
                                reason=form.reason.data, actor=web_actor(),
                                role=current_user.role, now=utcnow(), policy=current_policy())
    except case_service.CaseRefused as exc:
        session.rollback()
        return _invalid(case, _("Not done: %(why)s", why=str(exc)), "#close")
    session.commit()
    if case.status == "closed":
        flash(_("Case closed."), "success")
    else:
        flash(_("Close requested. A second, different approver must confirm it (four eyes)."),
              "warning")
    return _back(case, "#close")
