"""Jinja filters and globals for the consoles: dates, money, SLA countdowns, masking."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask import Flask, current_app, request, url_for
from flask_babel import format_datetime, format_decimal, get_locale
from flask_babel import gettext as _

from app.db import utcnow


def when(value: dt.datetime | None, fmt: str = "short") -> str:
    """A timestamp in the user's locale and the console's time zone (Europe/Istanbul)."""
    return "—" if value is None else format_datetime(value, fmt)


def money(amount: Decimal | None, currency: str | None = None) -> str:
    """``1,234.50 TRY`` in the user's locale; never through float."""
    if amount is None:
        return "—"
    text = format_decimal(Decimal(amount).quantize(Decimal("0.01")), format="#,##0.00")
    return f"{text} {currency}" if currency else text


def countdown(due: dt.datetime | None, now: dt.datetime | None = None) -> str:
    """``2 h 15 min left`` or ``overdue by 40 min``."""
    if due is None:
        return "—"
    seconds = int((due - (now or utcnow())).total_seconds())
    minutes = abs(seconds) // 60
    text = f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"
    return _("%(t)s left", t=text) if seconds >= 0 else _("overdue by %(t)s", t=text)


def lang_url(code: str) -> str:
    """The current page in another language."""
    args = dict(request.args)
    args["lang"] = code
    return url_for(request.endpoint or "health.healthz", **(request.view_args or {}), **args)


def has_endpoint(endpoint: str) -> bool:
    """True when the app serves ``endpoint`` (navigation shows only pages that exist)."""
    return endpoint in current_app.view_functions


def init_filters(app: Flask) -> None:
    """Register the filters and globals on ``app``'s Jinja environment."""
    app.jinja_env.filters.update(when=when, money=money, countdown=countdown)
    app.jinja_env.globals.update(lang_url=lang_url, utcnow=utcnow, get_locale=get_locale,
                           has_endpoint=has_endpoint)
