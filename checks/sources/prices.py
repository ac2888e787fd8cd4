"""Prices a merchant's page shows, for the price-vs-ticket check (R-A5).

Structured data first: schema.org ``Offer``/``AggregateOffer``/``PriceSpecification`` prices in
JSON-LD, microdata and RDFa, read with ``extruct``. Only when a page has none, visible text such
as ``1.299,90 TL`` or ``€19.99`` is read with ``price_parser``. Amounts are ``Decimal``; the
currency is an ISO 4217 code when one can be told, else None.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import extruct
import lxml.html
from price_parser import Price as ParsedPrice

SYNTAXES = ("json-ld", "microdata", "rdfa")
PRICE_KEYS = ("price", "lowPrice", "highPrice")
MAX_PRICES = 500
SCHEMA_PREFIXES = ("https://schema.org/", "http://schema.org/")
CURRENCY_SIGNS = {
    "₺": "TRY", "TL": "TRY", "YTL": "TRY", "€": "EUR", "$": "USD", "US$": "USD", "£": "GBP",
    "¥": "JPY", "₽": "RUB", "﷼": "SAR", "SR": "SAR", "ر.س": "SAR", "AED": "AED",
}
_CURRENCY = r"(?:US\$|[₺€$£¥₽]|\b(?:TRY|TL|YTL|USD|EUR|GBP|SAR|AED)\b)"
_NUMBER = r"\d{1,3}(?:[.,\u00a0\u202f]\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?"
TEXT_PRICE = re.compile(
    rf"(?:{_CURRENCY}\s?(?:{_NUMBER}))|(?:(?:{_NUMBER})\s?{_CURRENCY})", re.UNICODE
)


@dataclass(frozen=True)
class Price:
    """One price seen on a page."""

    amount: Decimal
    currency: str | None  # ISO 4217, None when the page does not say
    source: str  # "json-ld" | "microdata" | "rdfa" | "text"

    def to_dict(self) -> dict:
        """JSON-friendly form: the amount as a string, never a float."""
        return {"amount": str(self.amount), "currency": self.currency, "source": self.source}


def extract_prices(html: str, base_url: str) -> tuple[tuple[Price, ...], tuple[str, ...]]:
    """Prices on the page and the errors met; structured data wins over visible text."""
    errors: list[str] = []
    try:
        data = extruct.extract(html, base_url=base_url, syntaxes=list(SYNTAXES), uniform=True,
                               errors="log")
    except Exception as exc:  # noqa: BLE001 - extruct raises anything its parsers raise
        data = {}
        errors.append(f"structured data: {type(exc).__name__}: {exc}")
    prices: list[Price] = []
    for syntax in SYNTAXES:
        for node in data.get(syntax) or []:
            prices.extend(_walk(_plain(node), syntax))
    if not prices:
        try:
            prices = list(text_prices(html))
        except (ValueError, lxml.etree.LxmlError) as exc:
            errors.append(f"text: {type(exc).__name__}: {exc}")
    return tuple(dict.fromkeys(prices))[:MAX_PRICES], tuple(errors)


def _plain(value: object) -> object:
    """Strip schema.org IRIs and unwrap expanded JSON-LD (RDFa) ``[{"@value": x}]`` values."""
    if isinstance(value, dict):
        if set(value) <= {"@value", "@type", "@language"} and "@value" in value:
            return value["@value"]
        return {_short(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        items = [_plain(v) for v in value]
        return items[0] if len(items) == 1 and not isinstance(items[0], dict) else items
    if isinstance(value, str):
        return _short(value)
    return value


def _short(name: str) -> str:
    for prefix in SCHEMA_PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


def _walk(node: object, source: str, currency: str | None = None) -> list[Price]:
    """Every price held by ``node`` or its children (an inner currency overrides an outer)."""
    found: list[Price] = []
    if isinstance(node, list):
        for item in node:
            found.extend(_walk(item, source, currency))
        return found
    if not isinstance(node, dict):
        return found
    own_currency = _iso(node.get("priceCurrency")) or currency
    for key in PRICE_KEYS:
        amount = _amount(node.get(key))
        if amount is not None:
            found.append(Price(amount, own_currency, source))
    for value in node.values():
        if isinstance(value, dict | list):
            found.extend(_walk(value, source, own_currency))
    return found


def _amount(value: object) -> Decimal | None:
    """A positive Decimal from a schema.org price (number or string, ``.`` or ``,`` decimals)."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        amount: Decimal | None = Decimal(str(value))
    else:
        text = str(value).strip()
        try:
            amount = Decimal(text)
        except InvalidOperation:
            amount = ParsedPrice.fromstring(text).amount
    if amount is None or not amount.is_finite() or amount <= 0:
        return None
    return amount


def _iso(value: object) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if not isinstance(value, str):
        return None
    code = value.strip()
    if code in CURRENCY_SIGNS:
        return CURRENCY_SIGNS[code]
    code = code.upper()
    return code if re.fullmatch(r"[A-Z]{3}", code) else None


def visible_text(html: str) -> str:
    """The text a visitor sees: scripts, styles and templates removed."""
    if not html.strip():
        return ""
    root = lxml.html.document_fromstring(html)
    for element in root.xpath("//script|//style|//noscript|//template|//head"):
        element.drop_tree()
    return " ".join(" ".join(t.split()) for t in root.itertext() if t.strip())


def text_prices(html: str) -> tuple[Price, ...]:
    """Prices written in the page's visible text next to a currency sign or code."""
    prices = []
    for match in TEXT_PRICE.finditer(visible_text(html)):
        parsed = ParsedPrice.fromstring(match.group(0))
        if parsed.amount is None or parsed.amount <= 0:
            continue
        currency = _iso(parsed.currency) if parsed.currency else None
        prices.append(Price(parsed.amount, currency, "text"))
        if len(prices) >= MAX_PRICES:
            break
    return tuple(prices)
