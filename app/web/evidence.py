"""A check's evidence as a reader sees it (issue #11): the evidence is stored as JSON, so dates
arrive as ISO strings, amounts as decimal strings and countries as ISO codes. These filters turn
them back into dates, amounts and country names in the reader's locale (Babel's locale data) for
``templates/macros/evidence.html``; nothing here decides what a fact means."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Flask
from flask_babel import format_date, format_decimal, get_locale
from flask_babel import gettext as _

from app.db import as_utc
from app.web.filters import money, when

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
_DECIMAL = re.compile(r"^-?\d+\.\d+$")
DIGEST_SHOWN = 12  # hex characters of a list version's digest shown; the whole one on hover


def as_datetime(value: Any) -> dt.datetime | None:
    """``value`` (a datetime or an ISO 8601 string) as an aware datetime (UTC when naive)."""
    if isinstance(value, str) and _DATETIME.match(value):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, dt.datetime):
        return as_utc(value)
    return None


def as_date(value: Any) -> dt.date | None:
    """``value`` (a date or an ``YYYY-MM-DD`` string) as a date."""
    if isinstance(value, str) and _DATE.match(value):
        return dt.date.fromisoformat(value)
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    return None


def fact_date(value: Any) -> str:
    """A date, or the day of a timestamp, in the reader's locale (``27 Nov 2026``,
    ``27 Kas 2026``); anything else as given, ``—`` for nothing."""
    if value is None or value == "":
        return "—"
    day = as_date(value) or as_datetime(value)
    return format_date(day, "medium") if day is not None else str(value)


def fact_when(value: Any) -> str:
    """A timestamp in the reader's locale and the console's time zone."""
    moment = as_datetime(value)
    if moment is None:
        return fact_date(value)
    return when(moment)


def fact_money(value: Any, currency: str | None = "TRY") -> str:
    """A decimal amount (a string in the evidence) as money in the reader's locale."""
    try:
        return money(Decimal(str(value)), currency) if value is not None else "—"
    except InvalidOperation:
        return str(value)


def fact_number(value: Any) -> str:
    """A number in the reader's locale (``1,162``, ``1.162``; ``18.42``, ``18,42``)."""
    try:
        return format_decimal(Decimal(str(value))) if value is not None else "—"
    except InvalidOperation:
        return str(value)


def fact_value(value: Any) -> str:
    """Any scalar of the evidence in words: dates and timestamps in the locale, decimals and
    numbers formatted, yes/no for booleans, ``—`` for nothing."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, int | float | Decimal):
        return fact_number(value)
    if as_date(value) is not None or as_datetime(value) is not None:
        return fact_when(value) if as_datetime(value) else fact_date(value)
    if isinstance(value, str) and _DECIMAL.match(value):
        return fact_number(value)
    return str(value)


def country_name(code: str | None) -> str:
    """``Türkiye (TR)`` in the reader's language from an ISO 3166 alpha-2 code."""
    if not code:
        return "—"
    name = get_locale().territories.get(str(code).upper())
    return f"{name} ({code})" if name else str(code)


def list_version(version: str | None) -> str:
    """A list version short enough to read: a digest cut to its first characters
    (``sha256:a8443a9109a9…``), a date or a timestamp as given."""
    text = str(version or "")
    algorithm, _sep, digest = text.partition(":")
    if digest and re.fullmatch(r"[0-9a-f]{32,}", digest):
        return f"{algorithm}:{digest[:DIGEST_SHOWN]}…"
    return text


def split_list(screened: str) -> tuple[str, str]:
    """``OFAC SDN@sha256:…`` (a screened list as the evidence names it) → name and version."""
    name, _sep, version = str(screened).partition("@")
    return name, version


# The shape each renderer of templates/macros/evidence.html reads: key → the type its value
# must have when present (a list: of mappings). Evidence of another shape (an older policy's,
# a test's, a changed check's) goes to the readable key/value fallback instead of failing.
_LIST, _MAP = "list", "map"
SHAPES: dict[str, dict[str, str]] = {
    "domain_dns": {"problems": "texts", "a": "texts", "aaaa": "texts", "mx": "texts"},
    "iban_change_frequency": {"changes_in_window": "texts"},
    "blacklist": {"hits": _LIST},
    "high_risk_country": {"countries": _LIST, "hits": _LIST, "not_checked": "texts"},
    "price_ticket_mismatch": {"prices": _LIST},
    "new_merchant_turnover": {"windows": _LIST},
    "shared_ownership": {"linked": _LIST, "merchants_per_owner": _LIST,
                         "identity_conflicts": _LIST, "capital": _MAP, "factors": _LIST},
    "sanctions_pep": {"screened_lists": "texts", "strong": _LIST, "possible": _LIST,
                      "dismissed": _LIST, "matcher": _MAP, "pep_owner": _MAP},
}


def fits_renderer(evidence: Any, code: str) -> bool:
    """True when ``evidence`` has the shape the renderer of check ``code`` reads."""
    if not isinstance(evidence, dict):
        return False
    for key, kind in SHAPES.get(code, {}).items():
        value = evidence.get(key)
        if value is None:
            continue
        if kind == _MAP and not isinstance(value, dict):
            return False
        if kind in (_LIST, "texts") and not isinstance(value, list):
            return False
        wanted = dict if kind == _LIST else (str, int, float)
        if kind in (_LIST, "texts") and not all(isinstance(v, wanted) for v in value):
            return False
    return True


def init_evidence(app: Flask) -> None:
    """Register the evidence filters on ``app``'s Jinja environment."""
    app.jinja_env.filters.update(
        fact_date=fact_date, fact_when=fact_when, fact_money=fact_money,
        fact_number=fact_number, fact_value=fact_value, country_name=country_name,
        list_version=list_version, split_list=split_list)
    app.jinja_env.tests["fitting"] = fits_renderer
