"""The merchant portal under ``/portal``: sign-up with mandatory TOTP, the application (the
same data as ``POST /api/v1/merchants``), its status and information requests, and — once
approved — API keys with their IP whitelists and back URLs, the kill switch, the merchant's
own API-call log and notifications. Login is password + TOTP (``app.web``)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("portal", __name__, url_prefix="/portal")


def blueprints() -> list[tuple[Blueprint, bool]]:
    """The portal's blueprint (CSRF-protected)."""
    from app.portal import views  # noqa: F401 - registers the routes on ``bp``
    return [(bp, False)]
