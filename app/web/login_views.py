"""Login, TOTP (with enrolment on first login) and logout routes, added to a blueprint.

The staff console and the merchant portal share them: ``add_login_routes(bp, kind="staff",
home="staff.queue")`` adds ``/login``, ``/login/code`` and ``/logout`` to ``bp`` rendering
``<template_dir>/login.html`` and ``<template_dir>/code.html`` (both build on
``macros/auth.html``).
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from app.db import utcnow
from app.extensions import db_session
from app.services.portal_users import account_email, login_name
from app.web.auth import (
    PENDING_MFA_SECONDS,
    USER_MODELS,
    audit_login,
    check_first_factor,
    check_second_factor,
)
from app.web.forms import CodeForm, EmptyForm, LoginForm
from app.web.passwords import provisioning_uri
from app.web.qr import qr_svg
from app.web.ratelimit import login_client_ip

MESSAGES = {
    "bad_credentials": lambda: _("E-mail or password is wrong."),
    "bad_code": lambda: _("That code is not valid. Use the current code from your app."),
    "locked": lambda: _("Too many failed attempts: this account is locked for 15 minutes."),
    "rate_limited": lambda: _("Too many login attempts from your address. Try again later."),
}


def safe_next(target: str | None, fallback: str) -> str:
    """Only same-site relative paths are followed after login (no open redirect)."""
    if not target:
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return fallback
    return target.rstrip("?") or fallback


def add_login_routes(bp: Blueprint, *, kind: str, home: str, template_dir: str) -> None:
    """Add ``login``, ``login_code`` and ``logout`` endpoints to ``bp`` for users of ``kind``."""

    @bp.route("/login", methods=["GET", "POST"], endpoint="login")
    def login():
        if current_user.is_authenticated and current_user.kind == kind:
            return redirect(url_for(home))
        form = LoginForm()
        status = 200
        if form.validate_on_submit():
            dbs = db_session()
            email = form.email.data.strip().lower()
            result = check_first_factor(dbs, kind=kind, email=email, password=form.password.data,
                                        ip=login_client_ip(), now=utcnow())
            if result.ok:
                session["_pending"] = {"kind": kind, "id": result.user.id,
                                       "at": utcnow().timestamp(),
                                       "next": safe_next(request.args.get("next"), "")}
                dbs.commit()
                return redirect(url_for(f"{bp.name}.login_code"))
            audit_login(dbs, kind, "login_failed", login_name(kind, result.user, email),
                        reason=result.reason, factor="password")
            dbs.commit()
            flash(MESSAGES[result.reason](), "error")
            status = 429 if result.reason == "rate_limited" else 401
        elif request.method == "POST":
            status = 400
        return render_template(f"{template_dir}/login.html", form=form), status

    @bp.route("/login/code", methods=["GET", "POST"], endpoint="login_code")
    def login_code():
        pending = session.get("_pending") or {}
        now = utcnow()
        if pending.get("kind") != kind or now.timestamp() - pending.get("at", 0) > \
                PENDING_MFA_SECONDS:
            session.pop("_pending", None)
            return redirect(url_for(f"{bp.name}.login"))
        dbs = db_session()
        user = dbs.get(USER_MODELS[kind], pending["id"])
        if user is None or not user.active:
            session.pop("_pending", None)
            return redirect(url_for(f"{bp.name}.login"))
        form = CodeForm()
        status = 200
        if form.validate_on_submit():
            result = check_second_factor(dbs, user=user, code=form.code.data,
                                         ip=login_client_ip(), now=now)
            if result.ok:
                return _complete_login(user, pending, now)
            audit_login(dbs, kind, "login_failed", login_name(kind, user), reason=result.reason,
                        factor="totp", merchant_id=getattr(user, "merchant_id", None))
            dbs.commit()
            flash(MESSAGES[result.reason](), "error")
            if result.reason == "locked":
                session.pop("_pending", None)
                return redirect(url_for(f"{bp.name}.login")), 303
            status = 401
        elif request.method == "POST":
            status = 400
        enrol = user.mfa_confirmed_at is None
        uri = provisioning_uri(user.totp_secret, account_email(user)) if enrol else None
        return render_template(f"{template_dir}/code.html", form=form, enrol=enrol, uri=uri,
                               qr=qr_svg(uri) if uri else None,
                               secret=user.totp_secret if enrol else None), status

    def _complete_login(user, pending: dict, now: dt.datetime):
        from app.web.auth import WebUser
        dbs = db_session()
        audit_login(dbs, kind, "login", login_name(kind, user),
                    mfa_enrolled=pending.get("enrolled", False),
                    merchant_id=getattr(user, "merchant_id", None))
        dbs.commit()
        session.clear()  # a fresh session after authentication (no fixation)
        login_user(WebUser(kind, user))
        session["_seen"] = now.timestamp()
        session.permanent = True
        return redirect(safe_next(pending.get("next"), url_for(home)))

    @bp.route("/logout", methods=["POST"], endpoint="logout")
    def logout():
        form = EmptyForm()
        if form.validate_on_submit() and current_user.is_authenticated:
            dbs = db_session()
            audit_login(dbs, current_user.kind, "logout",
                        login_name(current_user.kind, current_user.row))
            dbs.commit()
        logout_user()
        session.clear()
        flash(_("You have logged out."), "info")
        return redirect(url_for(f"{bp.name}.login"))
