"""Route modules of the merchant portal, imported for their side effect of adding routes."""

from __future__ import annotations

from app.portal import bp
from app.web.login_views import add_login_routes

add_login_routes(bp, kind="merchant", home="portal.home", template_dir="portal")

from app.portal import (  # noqa: E402,F401
    account_views,
    activity_views,
    application_views,
    case_request_views,
    key_views,
)
