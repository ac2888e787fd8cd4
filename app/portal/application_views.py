"""The application (same data and validation as ``POST /api/v1/merchants``) and the answer to
an information request (a change with its reason, as ``PATCH /api/v1/merchants/{id}``)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from app.api.context import keyring
from app.audit.trail import record
from app.db import utcnow
from app.extensions import db_session
from app.portal import bp
from app.portal.application import FormErrors, change_request, validate_application
from app.portal.context import fresh_code_ok, own_merchant, portal_user
from app.portal.forms import MAX_OWNER_ROWS, ApplicationForm, InfoResponseForm
from app.services import hooks
from app.services.merchant_changes import change_merchant
from app.services.merchants import submit_application
from app.services.personal_data import own_contacts
from app.validation import FieldError
from app.web.auth import require_user, web_actor


@bp.route("/apply", methods=["GET", "POST"], endpoint="apply")
@require_user("merchant")
def apply():
    """The application form. Works without JavaScript: blank owner rows are ignored and
    "Add owner" re-renders the form with one more row."""
    if own_merchant(required=False) is not None:
        return redirect(url_for("portal.home"))
    form = ApplicationForm()
    errors = FormErrors()
    if request.method == "POST" and form.add_owner.data:
        if form.validate() and len(form.owners.entries) < MAX_OWNER_ROWS:
            form.owners.append_entry()
        return render_template("portal/apply.html", form=form, errors=errors)
    if form.validate_on_submit():
        application, errors = validate_application(form, request.remote_addr)
        if application is not None:
            return _submit(application)
    elif request.method == "POST":
        errors.general.append(_("The form expired or was tampered with. Please submit it "
                                "again."))
    status = 422 if request.method == "POST" else 200
    return render_template("portal/apply.html", form=form, errors=errors), status


def _submit(application):
    dbs = db_session()
    merchant = submit_application(dbs, application=application, actor=web_actor(),
                                  keyring=keyring(), now=utcnow())
    user = portal_user()
    user.merchant_id = merchant.id
    dbs.add(user)
    dbs.commit()
    flash(_("Thank you: your application was received. We will tell you about every step."),
          "success")
    return redirect(url_for("portal.home"), 303)


@bp.route("/respond", methods=["GET", "POST"], endpoint="respond")
@require_user("merchant")
def respond():
    """Answer an information request (or correct contact data; a fresh TOTP code, since an
    IBAN change redirects payouts): the answer is audited and
    any corrected field is changed with the answer as its reason (old and new value kept, the
    merchant notified, the affected checks re-run)."""
    merchant = own_merchant()
    if merchant.status == "rejected":
        abort(404)
    form = InfoResponseForm()
    errors = FormErrors()
    if form.validate_on_submit() and fresh_code_ok(form.code.data):
        change, errors = change_request(form, merchant.country)
        if change is not None and _apply_response(merchant, change, form):
            flash(_("Thank you: your answer was sent to our onboarding team."), "success")
            return redirect(url_for("portal.home"), 303)
    status = 422 if request.method == "POST" else 200
    form.code.data = ""
    return render_template("portal/respond.html", form=form, errors=errors, m=merchant,
                           contacts=own_contacts(merchant)), status


def _apply_response(merchant, change, form: InfoResponseForm) -> bool:
    dbs, actor, now = db_session(), web_actor(), utcnow()
    try:
        changes = change_merchant(dbs, merchant=merchant, change=change, actor=actor,
                                  keyring=keyring(), now=now)
    except FieldError as exc:
        dbs.rollback()
        target = getattr(form, exc.field, None)
        if target is not None:
            target.errors = [str(exc)]
        return False
    record(dbs, actor.event("merchant.info_provided", target_type="merchant",
                            target_id=merchant.id, merchant_id=merchant.id, at=now,
                            details={"message": change.reason,
                                     "changed_fields": [c.field for c in changes],
                                     "status": merchant.status}))
    hooks.merchant_changed(dbs, merchant=merchant, changes=changes, actor=actor, now=now)
    dbs.commit()
    return True
