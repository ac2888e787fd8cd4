"""The staff review console under ``/staff``: the queue of applications and alerts, the
merchant page with every check and its evidence, decisions (four eyes for the high tier),
blacklists, sanctions lists and the audit trail. Login is password + TOTP (``app.web``)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("staff", __name__, url_prefix="/staff")


def blueprints() -> list[tuple[Blueprint, bool]]:
    """The console's blueprint (CSRF-protected)."""
    from app.staff import views  # noqa: F401 - registers the routes on ``bp``
    return [(bp, False)]
