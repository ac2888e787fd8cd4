"""What portal views need from the request: the logged-in merchant user, its merchant (and
only its merchant), a fresh TOTP code for sensitive actions, and the key settings.

Ownership is enforced here, once: :func:`own_key` answers 404 — not 403 — for a key of
another merchant, so a merchant cannot even learn that a key id exists.
"""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash
from flask_babel import gettext as _
from flask_login import current_user

from app.db import utcnow
from app.extensions import db_session, settings
from app.models import ApiKey, Merchant, MerchantUser
from app.web.auth import check_second_factor
from app.web.login_views import MESSAGES
from app.web.ratelimit import login_client_ip


def portal_user() -> MerchantUser:
    """The logged-in merchant user's row (views are wrapped in ``require_user("merchant")``)."""
    return current_user.row


def own_merchant(required: bool = True) -> Merchant | None:
    """The merchant of the logged-in user; without one, 404 (or None if not ``required``)."""
    merchant_id = portal_user().merchant_id
    merchant = db_session().get(Merchant, merchant_id) if merchant_id else None
    if merchant is None and required:
        abort(404)
    return merchant


def own_key(key_id: str) -> tuple[Merchant, ApiKey]:
    """The user's merchant and its key ``key_id``; 404 for anyone else's key or none."""
    merchant = own_merchant()
    key = db_session().get(ApiKey, key_id) if len(key_id) <= 40 else None
    if key is None or key.merchant_id != merchant.id:
        abort(404)
    return merchant, key


def fresh_code_ok(code: str) -> bool:
    """Check a TOTP code re-asked for a sensitive action (R-B2, R-E7 spirit).

    Uses the login's second-factor check, so a code works once, failures count towards the
    account lock and the per-IP rate limit applies. Commits the code's use or the failure count
    at once: an action refused after a good code rolls back only its own changes, so the code
    cannot be replayed. Flashes why a code was refused.
    """
    dbs = db_session()
    result = check_second_factor(dbs, user=portal_user(), code=code, ip=login_client_ip(),
                                 now=utcnow())
    dbs.commit()
    if result.ok:
        return True
    flash(MESSAGES[result.reason](), "error")
    return False


def key_settings() -> dict[str, Any]:
    """Token peppers and the live-key activation delay, as ``issue_key`` wants them."""
    from app.dataplane.runtime import runtime
    return {"peppers": runtime(current_app._get_current_object()).verifier.peppers,
            "activation_delay": settings().key_activation_delay}


def refusal_text(exc: Exception) -> str:
    """A user-facing sentence for a refused key change."""
    code = getattr(exc, "code", "")
    known = {"merchant_not_approved": _("Only approved merchants can hold API keys."),
             "too_many_live_keys": _("You hold the maximum number of live keys; revoke one "
                                     "first."),
             "key_not_rotatable": _("Only a working key that was not rotated already can be "
                                    "rotated."),
             "key_revoked": _("A revoked key cannot be changed.")}
    return known.get(code, str(exc))
