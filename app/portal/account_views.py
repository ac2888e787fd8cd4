"""Sign-up (e-mail, password, then mandatory TOTP enrolment) and the portal's home page: the
application's status and its timeline."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlmodel import select

from app.db import utcnow
from app.extensions import db_session
from app.models import Decision, Merchant, MerchantChange, Notification
from app.portal import bp
from app.portal.context import own_merchant
from app.portal.forms import SignupForm
from app.services.personal_data import data_keys, own_contacts
from app.services.portal_users import login_name, new_merchant_user
from app.web.auth import audit_login, find_user, limiter, require_user
from app.web.labels import label
from app.web.login_views import MESSAGES
from app.web.notices import shown
from app.web.passwords import hash_password, new_totp_secret
from app.web.ratelimit import login_client_ip


@bp.route("/signup", methods=["GET", "POST"], endpoint="signup")
def signup():
    """Create a merchant user; the TOTP enrolment (QR code) follows before the first login
    completes, so no account ever works without a second factor (R-B2)."""
    if current_user.is_authenticated and current_user.kind == "merchant":
        return redirect(url_for("portal.home"))
    form = SignupForm()
    status = 200
    if form.validate_on_submit():
        dbs = db_session()
        email = form.email.data.strip().lower()
        if not limiter().hit(login_client_ip()):
            flash(MESSAGES["rate_limited"](), "error")
            return render_template("portal/signup.html", form=form), 429
        if find_user(dbs, "merchant", email) is not None:
            form.email.errors = [_("An account with this e-mail exists. Log in instead.")]
            return render_template("portal/signup.html", form=form), 409
        user = new_merchant_user(email=email, keys=data_keys(dbs),  # sealed, indexed (R-D7)
                                 password_hash=hash_password(form.password.data),
                                 totp_secret=new_totp_secret(), created_at=utcnow())
        dbs.add(user)
        dbs.flush()
        audit_login(dbs, "merchant", "signup", login_name("merchant", user))
        dbs.commit()
        session["_pending"] = {"kind": "merchant", "id": user.id, "at": utcnow().timestamp(),
                               "next": url_for("portal.home"), "enrolled": True}
        return redirect(url_for("portal.login_code"))
    if request.method == "POST":
        status = 400
    return render_template("portal/signup.html", form=form), status


@dataclass(frozen=True)
class TimelineEntry:
    """One step in the life of the application, as the merchant sees it."""

    at: dt.datetime
    kind: str  # applied | decision | change
    title: str
    detail: str | None = None
    badge: str | None = None


def timeline(merchant: Merchant) -> list[TimelineEntry]:
    """The application's history, oldest first: applied, final decisions, data changes."""
    dbs = db_session()
    entries = [TimelineEntry(merchant.created_at, "applied", _("Application received"),
                             badge="applied")]
    for row in dbs.exec(select(Decision).where(Decision.merchant_id == merchant.id,
                                               Decision.status == "final")).all():
        entries.append(TimelineEntry(row.created_at, "decision", decision_label(row.decision),
                                     row.reason, row.decision))
    changes = dbs.exec(select(MerchantChange).where(MerchantChange.merchant_id == merchant.id)
                       .order_by(MerchantChange.at)).all()
    for change in changes:
        field = label(change.field, "field")
        entries.append(TimelineEntry(change.at, "change",
                                     _("Data changed: %(field)s", field=field), change.reason))
    return sorted(entries, key=lambda e: e.at)


def decision_label(decision: str) -> str:
    """A decision in the user's language."""
    return {"approve": _("Approved"), "approve_with_limits": _("Approved with limits"),
            "request_info": _("Information requested"), "reject": _("Not approved"),
            "suspend": _("Suspended")}.get(decision, decision)


@bp.get("/", endpoint="home")
@require_user("merchant")
def home():
    """The merchant's home: apply first, then the status, its timeline and latest notices."""
    merchant = own_merchant(required=False)
    if merchant is None:
        return render_template("portal/welcome.html")
    notices = db_session().exec(select(Notification).where(
        Notification.merchant_id == merchant.id).order_by(Notification.created_at.desc())
        .limit(5)).all()
    request_reason = None
    if merchant.status == "info_requested":
        latest = db_session().exec(select(Decision).where(
            Decision.merchant_id == merchant.id, Decision.decision == "request_info",
            Decision.status == "final").order_by(Decision.created_at.desc())).first()
        request_reason = latest.reason if latest else None
    return render_template("portal/home.html", m=merchant, contacts=own_contacts(merchant),
                           entries=timeline(merchant),
                           notices=[(row, shown(row)) for row in notices],
                           request_reason=request_reason)
