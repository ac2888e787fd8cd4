"""The shared web foundation of the staff console and the merchant portal: authentication
(argon2 passwords, mandatory TOTP, lockout, rate limit, idle timeout), Turkish/English
translations, Jinja filters and inline-SVG charts. Registered as a feature in ``app.plugins``."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Initialise authentication, translations and template helpers on ``app``."""
    from app.web.auth import init_auth
    from app.web.evidence import init_evidence
    from app.web.filters import init_filters
    from app.web.i18n import init_i18n
    init_auth(app)
    init_i18n(app)
    init_filters(app)
    init_evidence(app)


def blueprints() -> list:
    """The foundation has no routes of its own."""
    return []
