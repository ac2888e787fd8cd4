"""Who is logged in to the web consoles, and how they get there.

One Flask-Login session serves two audiences: staff (``staff:<id>``) and merchant users
(``merchant:<id>``). The prefix is part of the session id, so a merchant session never loads a
staff account and vice versa. Logging in takes a password (argon2) and a TOTP code (mandatory;
enrolment on first login); after ``MAX_FAILURES`` failed attempts an account is locked for
``LOCK_MINUTES``; attempts per client IP are rate limited (``LoginRateLimiter``); a session ends
after ``settings().session_minutes`` of inactivity.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, abort, current_app, flash, g, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user
from sqlmodel import Session, select

from app.audit.trail import Actor, record
from app.db import utcnow
from app.extensions import db_session, login_manager, settings
from app.models import MerchantUser, StaffUser
from app.services.personal_data import data_keys
from app.services.portal_users import account_email, login_name, lookup_value
from app.web.passwords import check_password, hash_password, needs_rehash, totp_step
from app.web.ratelimit import FILE_NAME as LOGIN_ATTEMPTS_FILE
from app.web.ratelimit import LoginRateLimiter

MAX_FAILURES = 5
LOCK_MINUTES = 15
PENDING_MFA_SECONDS = 300
USER_MODELS: dict[str, type[StaffUser] | type[MerchantUser]] = {
    "staff": StaffUser, "merchant": MerchantUser}
LOGIN_ENDPOINTS = {"staff": "staff.login", "merchant": "portal.login"}


class WebUser:
    """The Flask-Login view of a staff or merchant user row."""

    is_anonymous = False

    def __init__(self, kind: str, row: StaffUser | MerchantUser) -> None:
        self.kind, self.row = kind, row

    @property
    def is_authenticated(self) -> bool:  # noqa: D102
        return True

    @property
    def is_active(self) -> bool:  # noqa: D102
        return bool(self.row.active)

    def get_id(self) -> str:
        """``staff:<id>`` or ``merchant:<id>``."""
        return f"{self.kind}:{self.row.id}"

    @property
    def email(self) -> str:
        """The account's address (a portal user's opened: its own, R-D7)."""
        return account_email(self.row)

    @property
    def role(self) -> str:
        """The staff role, or ``merchant``."""
        return getattr(self.row, "role", "merchant")

    @property
    def actor_name(self) -> str:
        """The name audit events and decisions carry: ``staff:<email>``, or
        ``merchant:<user id>`` (the trail is never purged: no portal address in it, R-D7)."""
        return f"{self.kind}:{login_name(self.kind, self.row)}"


@login_manager.user_loader
def load_user(user_id: str) -> WebUser | None:
    """Load a session's user; the kind prefix must match the table it is looked up in."""
    kind, _sep, raw_id = user_id.partition(":")
    model = USER_MODELS.get(kind)
    if model is None or not raw_id:
        return None
    row = db_session().get(model, raw_id)
    if row is None or not row.active:
        return None
    return WebUser(kind, row)


def web_actor() -> Actor:
    """The audit actor of this request: the logged-in user (or ``anonymous``)."""
    name = current_user.actor_name if current_user.is_authenticated else "anonymous"
    return Actor(name=name, request_id=g.get("request_id"), source_ip=request.remote_addr)


def require_user(kind: str, *roles: str) -> Callable:
    """Decorator: a logged-in user of ``kind`` (and, if given, one of ``roles``), else the
    login page (not logged in) or 403 (logged in, wrong kind or role)."""
    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any):
            if not current_user.is_authenticated:
                return redirect(url_for(LOGIN_ENDPOINTS[kind], next=request.full_path))
            if current_user.kind != kind or (roles and current_user.role not in roles):
                abort(403)
            return view(*args, **kwargs)
        return wrapped
    return decorator


@dataclass(frozen=True)
class LoginResult:
    """The outcome of a password or code check: ``ok``, or why not (a stable reason code)."""

    ok: bool
    reason: str = "ok"  # ok | bad_credentials | locked | rate_limited | bad_code
    user: StaffUser | MerchantUser | None = None


def limiter() -> LoginRateLimiter:
    """The app's login rate limiter."""
    return current_app.extensions["kyb.login_limiter"]


def find_user(dbs: Session, kind: str, email: str) -> StaffUser | MerchantUser | None:
    """The active user of ``kind`` with ``email`` (case-insensitive)."""
    model = USER_MODELS[kind]
    key = lookup_value(kind, email, data_keys(dbs))  # a portal address's blind index (R-D7)
    return dbs.exec(select(model).where(model.email == key)).first()


def check_first_factor(dbs: Session, *, kind: str, email: str, password: str,
                       ip: str | None, now: dt.datetime) -> LoginResult:
    """Password step. Counts failures; refuses locked accounts and rate-limited IPs. Unknown
    e-mails and wrong passwords give the same answer."""
    if not limiter().hit(ip or "unknown"):
        return LoginResult(False, "rate_limited")
    user = find_user(dbs, kind, email)
    if user is None or not user.active:
        check_password(_dummy_hash(), password)  # same work as a real check: no e-mail oracle
        return LoginResult(False, "bad_credentials")
    if user.locked_until and user.locked_until > now:
        return LoginResult(False, "locked", user)
    if not check_password(user.password_hash, password):
        return _fail(dbs, user, now, "bad_credentials")
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        dbs.add(user)
    return LoginResult(True, user=user)


def check_second_factor(dbs: Session, *, user: StaffUser | MerchantUser, code: str,
                        ip: str | None, now: dt.datetime) -> LoginResult:
    """TOTP step (also used to confirm enrolment). A code is accepted once; failures count
    towards the lock like wrong passwords."""
    if not limiter().hit(ip or "unknown"):
        return LoginResult(False, "rate_limited")
    if user.locked_until and user.locked_until > now:
        return LoginResult(False, "locked", user)
    step = totp_step(code, user.totp_secret, now, user.last_totp_step)
    if step is None:
        return _fail(dbs, user, now, "bad_code")
    user.last_totp_step = step
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    if user.mfa_confirmed_at is None:
        user.mfa_confirmed_at = now
    dbs.add(user)
    return LoginResult(True, user=user)


def _fail(dbs: Session, user: StaffUser | MerchantUser, now: dt.datetime,
          reason: str) -> LoginResult:
    user.failed_logins = (user.failed_logins or 0) + 1
    if user.failed_logins >= MAX_FAILURES:
        user.locked_until = now + dt.timedelta(minutes=LOCK_MINUTES)
        user.failed_logins = 0
        reason = "locked"
    dbs.add(user)
    return LoginResult(False, reason, user)


def audit_login(dbs: Session, kind: str, action: str, name: str, **details: Any) -> None:
    """Record a login event (``staff.login``, ``staff.login_failed``, …) in the audit trail;
    ``name`` is :func:`~app.services.portal_users.login_name`'s."""
    actor = Actor(name=f"{kind}:{name}", request_id=g.get("request_id"),
                  source_ip=request.remote_addr)
    merchant_id = details.pop("merchant_id", None)
    record(dbs, actor.event(f"{kind}.{action}", target_type=f"{kind}_user",
                            merchant_id=merchant_id, details=details))


def _enforce_idle_timeout() -> Any:
    """End a console session idle for longer than ``session_minutes``."""
    if not request.path.startswith(("/staff", "/portal")) or request.endpoint == "static":
        return None
    now = utcnow()
    last = session.get("_seen")
    if current_user.is_authenticated and last is not None:
        idle = now.timestamp() - float(last)
        if idle > settings().session_minutes * 60:
            kind = current_user.kind
            logout_user()
            session.clear()
            flash(_("Your session ended after a period of inactivity. Please log in again."),
                  "info")
            return redirect(url_for(LOGIN_ENDPOINTS[kind]))
    if current_user.is_authenticated:
        session["_seen"] = now.timestamp()
        session.permanent = True
    return None


def init_auth(app: Flask) -> None:
    """Wire the login manager, the rate limiter and the idle timeout into ``app``."""
    cfg = app.extensions["kyb.settings"]
    app.extensions["kyb.login_limiter"] = LoginRateLimiter(
        redis_url=cfg.redis_url, shared_file=Path(cfg.instance_path) / LOGIN_ATTEMPTS_FILE)
    login_manager.session_protection = "strong"
    login_manager.login_view = None
    app.before_request(_enforce_idle_timeout)


@functools.cache
def _dummy_hash() -> str:
    return hash_password("not-a-real-password-used-for-timing")
