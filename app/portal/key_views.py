"""API keys in the portal: create (token shown once), restrict, limit, rotate, revoke, and the
kill switch that freezes every key (R-B1, R-B3, R-E1, R-E5, R-E7). All key logic is
:mod:`app.services.keys`; each change there is audited and announced to the merchant.

Creating, restricting, limiting, rotating, revoking, freezing and unfreezing each ask for a
fresh TOTP code; revoking and (un)freezing also for a confirmation checkbox.
"""

from __future__ import annotations

import datetime as dt

from flask import flash, make_response, redirect, render_template, url_for
from flask_babel import format_timedelta
from flask_babel import gettext as _

from app.db import utcnow
from app.extensions import db_session, settings
from app.models import ApiKey
from app.portal import bp, key_limits
from app.portal.context import fresh_code_ok, key_settings, own_key, own_merchant, refusal_text
from app.portal.forms import ConfirmForm, KeyForm, LimitsForm, RestrictionsForm, RotateForm, lines
from app.services import keys as key_service
from app.web.auth import require_user, web_actor
from app.web.filters import when
from app.web.key_limits import shown_limits
from app.web.merchant_caps import shown_caps

# The services name list entries ``ip_whitelist[2]``; the form has one textarea per list.
INPUTS = {"ip_whitelist": "ip_whitelist", "back_urls": "back_urls", "environment":
          "environment", "name": "name", "grace_seconds": "grace_hours"}


def _show_input_errors(form, exc: key_service.KeyInputInvalid) -> None:
    for err in exc.errors:
        head = err["field"].split("[", 1)[0]
        target = getattr(form, INPUTS.get(head, ""), None)
        line = err["field"][len(head):].strip("[]")
        message = err["message"] if not line.isdigit() else \
            _("Line %(n)s: %(message)s", n=int(line) + 1, message=err["message"])
        if target is not None:
            target.errors = [*list(target.errors or ()), message]
        else:
            flash(message, "error")


@bp.get("/keys", endpoint="keys")
@require_user("merchant")
def keys():
    """The merchant's keys, their state and restrictions, the caps across its live keys with
    today's and this month's use, and the kill switch."""
    merchant = own_merchant()
    rows = key_service.list_keys(db_session(), merchant=merchant)
    now = utcnow()
    return render_template("portal/keys.html", m=merchant, keys=rows, now=now,
                           caps=shown_caps(db_session(), merchant, now),
                           state=lambda k: key_service.key_state(k, merchant, now),
                           pending=key_service.pending_ranges)


@bp.route("/keys/new", methods=["GET", "POST"], endpoint="new_key")
@require_user("merchant")
def new_key():
    """Create a key; its token is in this answer only (never stored, never shown again)."""
    merchant = own_merchant()
    form = KeyForm()
    status = 200
    if form.validate_on_submit() and fresh_code_ok(form.code.data):
        dbs = db_session()
        shown = _issue_and_show(form, merchant, lambda: key_service.issue_key(
            dbs, merchant=merchant, name=form.name.data.strip(),
            environment=form.environment.data, ip_whitelist=lines(form.ip_whitelist.data),
            back_urls=lines(form.back_urls.data), actor=web_actor(), now=utcnow(),
            **key_settings()))
        if shown is not None:
            return shown
    if form.is_submitted():
        status = 422
    form.code.data = ""
    return render_template("portal/key_new.html", form=form, m=merchant), status


def _issue_and_show(form, merchant, issue):
    """Run ``issue`` (create or rotate); on success commit and show the token once, else put
    the errors on ``form`` and return None."""
    dbs = db_session()
    try:
        issued = issue()
    except key_service.KeyInputInvalid as exc:
        dbs.rollback()
        _show_input_errors(form, exc)
    except key_service.KeyRefused as exc:
        dbs.rollback()
        flash(refusal_text(exc), "error")
    else:
        dbs.commit()
        return _token_page(issued, merchant)
    return None


def _token_page(issued: key_service.IssuedKey, merchant):
    resp = make_response(render_template("portal/key_token.html", key=issued.key,
                                         token=issued.token, m=merchant,
                                         pending=key_service.pending_ranges(issued.key)), 201)
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.route("/keys/<key_id>", methods=["GET", "POST"], endpoint="key")
@require_user("merchant")
def key(key_id: str):
    """A key: its IP whitelist and back URLs (editable while the key is not revoked)."""
    merchant, row = own_key(key_id)
    form = RestrictionsForm(data={"ip_whitelist": "\n".join(row.ip_whitelist),
                                  "back_urls": "\n".join(row.back_urls)})
    status = 200
    if form.validate_on_submit() and fresh_code_ok(form.code.data):
        dbs = db_session()
        try:
            key_service.update_key_restrictions(
                dbs, key=row, actor=web_actor(), now=utcnow(),
                ip_whitelist=lines(form.ip_whitelist.data),
                back_urls=lines(form.back_urls.data))
        except key_service.KeyInputInvalid as exc:
            dbs.rollback()
            _show_input_errors(form, exc)
        except key_service.KeyRefused as exc:
            dbs.rollback()
            flash(refusal_text(exc), "error")
        else:
            dbs.commit()
            flash(_("The restrictions of key %(p)s were saved.", p=row.prefix), "success")
            return redirect(url_for("portal.key", key_id=row.id), 303)
    if form.is_submitted():
        status = 422
    form.code.data = ""
    now = utcnow()
    return render_template("portal/key.html", form=form, key=row, m=merchant,
                           state=key_service.key_state(row, merchant, now),
                           limits=shown_limits(row, now),
                           pending=key_service.pending_ranges(row)), status


@bp.route("/keys/<key_id>/limits", methods=["GET", "POST"], endpoint="key_limits")
@require_user("merchant")
def limits(key_id: str):
    """A key's limits (R-E5): lower limits apply at once, an increase of a live key after
    ``KYB_LIMIT_INCREASE_DELAY``. Bad values are named next to their input."""
    merchant, row = own_key(key_id)
    form = LimitsForm(data=key_limits.form_data(row))
    status = 200
    if form.validate_on_submit():
        requested = key_limits.requested_limits(form)
        if requested is not None and fresh_code_ok(form.code.data):
            status = _save_limits(form, row, requested)
            if status is None:
                return redirect(url_for("portal.key", key_id=row.id), 303)
    if form.is_submitted() and status == 200:
        status = 422
    form.code.data = ""
    delay = format_timedelta(dt.timedelta(seconds=settings().limit_increase_delay))
    return render_template("portal/key_limits.html", form=form, key=row, m=merchant,
                           limits=shown_limits(row, utcnow()), delay=delay), status


def _save_limits(form: LimitsForm, row: ApiKey, requested: key_service.KeyLimits) -> int | None:
    """Change the key's limits as ``PATCH /api/v1/keys/{id}`` does, commit and say when they
    apply; None on success, else the status of the page that shows why not."""
    dbs = db_session()
    try:
        key_service.update_key_restrictions(
            dbs, key=row, actor=web_actor(), now=utcnow(), limits=requested,
            limit_increase_delay=settings().limit_increase_delay)
    except key_service.KeyInputInvalid as exc:
        dbs.rollback()
        for message in key_limits.place_errors(form, exc.errors):
            flash(message, "error")
        return 422
    except key_service.KeyRefused as exc:
        dbs.rollback()
        flash(refusal_text(exc), "error")
        return 409
    dbs.commit()
    if row.raised_limits_at is not None:
        flash(_("Key %(p)s: the limit increase takes effect at %(t)s. Until then the stricter "
                "of the old and the new limits applies.", p=row.prefix,
                t=when(row.raised_limits_at)), "warning")
    else:
        flash(_("Key %(p)s: the new limits apply now.", p=row.prefix), "success")
    return None


@bp.route("/keys/<key_id>/rotate", methods=["GET", "POST"], endpoint="rotate_key")
@require_user("merchant")
def rotate_key(key_id: str):
    """Replace a key; the old token keeps working for the grace period (at most 24 h)."""
    merchant, row = own_key(key_id)
    form = RotateForm()
    status = 200
    if form.validate_on_submit() and fresh_code_ok(form.code.data):
        dbs = db_session()
        shown = _issue_and_show(form, merchant, lambda: key_service.rotate_key(
            dbs, key=row, grace_seconds=form.grace_hours.data * 3600, actor=web_actor(),
            now=utcnow(), **key_settings()))
        if shown is not None:
            return shown
    if form.is_submitted():
        status = 422
    form.code.data = ""
    return render_template("portal/key_rotate.html", form=form, key=row, m=merchant), status


@bp.route("/keys/<key_id>/revoke", methods=["GET", "POST"], endpoint="revoke_key")
@require_user("merchant")
def revoke_key(key_id: str):
    """Revoke a key at once (confirmation and a fresh code)."""
    merchant, row = own_key(key_id)
    form = ConfirmForm()
    if form.validate_on_submit() and fresh_code_ok(form.code.data):
        dbs = db_session()
        key_service.revoke_key(dbs, key=row, actor=web_actor(), now=utcnow(),
                               reason="revoked by the merchant in the portal")
        dbs.commit()
        flash(_("Key %(p)s was revoked: it no longer works.", p=row.prefix), "success")
        return redirect(url_for("portal.keys"), 303)
    status = 422 if form.is_submitted() else 200
    form.code.data = ""
    return render_template("portal/confirm.html", form=form, m=merchant, action="revoke",
                           key=row), status


def _kill_switch(action: str):
    merchant = own_merchant()
    form = ConfirmForm()
    if form.validate_on_submit() and fresh_code_ok(form.code.data):
        dbs = db_session()
        change = (key_service.freeze_merchant_keys if action == "freeze"
                  else key_service.unfreeze_merchant_keys)
        changed = change(dbs, merchant=merchant, actor=web_actor(), now=utcnow(),
                         reason=f"{action} by the merchant in the portal")
        dbs.commit()
        if action == "freeze":
            flash(_("All your API keys are frozen: every call is refused until you unfreeze.")
                  if changed else _("Your keys were already frozen."), "success")
        else:
            flash(_("Your API keys work again.") if changed
                  else _("Your keys were not frozen."), "success")
        return redirect(url_for("portal.keys"), 303)
    status = 422 if form.is_submitted() else 200
    form.code.data = ""
    return render_template("portal/confirm.html", form=form, m=merchant, action=action,
                           key=None), status


@bp.route("/freeze", methods=["GET", "POST"], endpoint="freeze")
@require_user("merchant")
def freeze():
    """The kill switch (R-E1): every key of the merchant stops working at once."""
    return _kill_switch("freeze")


@bp.route("/unfreeze", methods=["GET", "POST"], endpoint="unfreeze")
@require_user("merchant")
def unfreeze():
    """Lift the kill switch (revoked and expired keys stay dead)."""
    return _kill_switch("unfreeze")
