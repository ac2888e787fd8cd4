"""Route modules of the staff console, imported for their side effect of adding routes."""

from __future__ import annotations

from app.staff import bp
from app.web.login_views import add_login_routes

add_login_routes(bp, kind="staff", home="staff.queue", template_dir="staff")

from app.staff import (  # noqa: E402,F401
    admin_views,
    alert_views,
    case_views,
    merchant_views,
    queue_views,
    report_views,
    screening_views,
    str_views,
)
