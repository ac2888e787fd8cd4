"""Jinja filters and globals for the consoles: dates, money, numbers, percentages, durations,
SLA countdowns and the labels of stored codes, each from Babel's locale data for the request's
language (one formatter per kind: Turkish reads ``%24`` and ``1.234,50 TRY``)."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale, dates, numbers
from babel.lists import format_list
from flask import Flask, current_app, has_app_context, request, url_for
from flask_babel import get_locale, get_timezone
from flask_babel import gettext as _

from app.db import as_utc, utcnow
from checks.wording import written

CONSOLE_ZONE = "Europe/Istanbul"


def _locale() -> Locale:
    """The request's locale; English where no application is running (a script's notice)."""
    return (get_locale() if has_app_context() else None) or Locale("en")


def _zone() -> dt.tzinfo:
    """The console's time zone (``BABEL_DEFAULT_TIMEZONE``), Istanbul outside an application."""
    return get_timezone() if has_app_context() else ZoneInfo(CONSOLE_ZONE)


def when(value: dt.datetime | None, fmt: str = "short") -> str:
    """A timestamp in the user's locale and the console's time zone (Europe/Istanbul)."""
    if value is None:
        return "—"
    return dates.format_datetime(as_utc(value), fmt, tzinfo=_zone(), locale=_locale())


def day(value: dt.date | dt.datetime | None, fmt: str = "long") -> str:
    """A calendar day in the user's locale (a datetime is first moved to the console's zone)."""
    if value is None:
        return "—"
    if isinstance(value, dt.datetime):
        value = as_utc(value).astimezone(_zone()).date()
    return dates.format_date(value, fmt, locale=_locale())


def money(amount: Decimal | None, currency: str | None = None) -> str:
    """``1,234.50 TRY`` in the user's locale; never through float."""
    if amount is None:
        return "—"
    value = Decimal(amount).quantize(Decimal("0.01"))
    if not currency:
        return numbers.format_decimal(value, format="#,##0.00", locale=_locale())
    # ``¤¤`` is the ISO code: "1,234.50 TRY" / "1.234,50 TRY", never a float on the way.
    return numbers.format_currency(value, currency, format="#,##0.00 ¤¤", currency_digits=False,
                                   locale=_locale())


def number(value: int | float | Decimal | None) -> str:
    """A count or measure with the locale's separators: ``12,500`` / ``12.500``."""
    return "—" if value is None else numbers.format_decimal(value, locale=_locale())


def percent(share: float | Decimal | None, digits: int = 0) -> str:
    """A share (``0.24``) as the locale writes a percentage: ``24%`` / ``%24``."""
    if share is None:
        return "—"
    locale = _locale()
    if not digits:
        return numbers.format_percent(share, locale=locale)
    # The locale's own pattern (where the sign goes) with ``digits`` decimals.
    pattern = copy.copy(locale.percent_formats[None])
    pattern.frac_prec = (digits, digits)
    return numbers.format_percent(share, format=pattern, locale=locale)


def duration(span: dt.timedelta) -> str:
    """A duration in the user's locale, in its two largest units, from Babel's locale data:
    ``40 min``, ``2 hr 15 min``, ``18 days 0 hr`` (Turkish ``18 gün 0 sa.``); sign ignored,
    rounded down to the minute."""
    minutes = int(abs(span.total_seconds())) // 60
    days, hours, mins = minutes // 1440, minutes // 60 % 24, minutes % 60
    if days:
        parts = [("day", days), ("hour", hours)]
    elif hours:
        parts = [("hour", hours), ("minute", mins)]
    else:
        parts = [("minute", mins)]
    locale = _locale()
    return format_list([_unit(unit, count, locale) for unit, count in parts],
                       style="unit-narrow", locale=locale)


def _unit(unit: str, count: int, locale) -> str:
    """``count`` of one unit, never rounded into a larger one (the threshold keeps it)."""
    span = dt.timedelta(**{unit + "s": count})
    return dates.format_timedelta(span, granularity=unit, threshold=float("inf"), format="short",
                            locale=locale)


def countdown(due: dt.datetime | None, now: dt.datetime | None = None) -> str:
    """``2 hr 15 min left`` or ``overdue by 18 days 0 hr`` (see :func:`duration`)."""
    if due is None:
        return "—"
    left = due - (now or utcnow())
    text = duration(left)
    return _("%(t)s left", t=text) if left.total_seconds() >= 0 else _("overdue by %(t)s",
                                                                         t=text)


def explanation(check: Mapping[str, Any]) -> str:
    """A stored check result's explanation in the reader's language: written from its template
    and values (``checks.wording``) through the catalogue; the stored English text for English
    readers and for results stored before they kept their wording."""
    return said(check.get("explanation") or "", check.get("wording"))


def said(text: str, wording: Mapping[str, Any] | None) -> str:
    """A stored sentence in the reader's language: ``text`` (English) for English readers and
    when no template was kept, else written from ``wording`` (``checks.wording``)."""
    if not wording or _locale().language == "en":
        return text
    return written(dict(wording), _)


def alert_summary(alert: Any) -> str:
    """An alert's summary in the reader's language (its ``summary_wording``)."""
    return said(alert.summary, getattr(alert, "summary_wording", None))


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
    from app.web.labels import label
    app.jinja_env.filters.update(when=when, money=money, countdown=countdown,
                                 duration=duration, number=number, percent=percent, day=day,
                                 label=label, explanation=explanation,
                                 alert_summary=alert_summary)
    app.jinja_env.globals.update(lang_url=lang_url, utcnow=utcnow, get_locale=get_locale,
                           has_endpoint=has_endpoint)
