"""Price extraction from structured data and visible text."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from checks.sources.prices import Price, extract_prices, text_prices


def jsonld(data: object) -> str:
    return f'<html><head><script type="application/ld+json">{json.dumps(data)}</script></head>' \
           "<body><p>Fiyat 999 TL</p></body></html>"


def test_jsonld_graph_aggregate_offer_and_untyped_offer():
    html = jsonld({"@context": "https://schema.org", "@graph": [
        {"@type": "Product", "offers": {"@type": "AggregateOffer", "lowPrice": "12.50",
                                        "highPrice": 20, "priceCurrency": "try"}},
        {"@type": "Product", "offers": [{"price": 7.5, "priceCurrency": "EUR"}]},
    ]})

    prices, errors = extract_prices(html, "https://shop.test/")

    assert errors == ()
    assert prices == (
        Price(Decimal("12.50"), "TRY", "json-ld"),
        Price(Decimal("20"), "TRY", "json-ld"),
        Price(Decimal("7.5"), "EUR", "json-ld"),
    )


def test_structured_prices_win_over_text():
    prices, _ = extract_prices(jsonld({"@type": "Offer", "price": "5", "priceCurrency": "TRY"}),
                               "https://shop.test/")

    assert [p.source for p in prices] == ["json-ld"]


def test_comma_decimal_in_structured_price_and_zero_price_dropped():
    html = jsonld([{"@type": "Offer", "price": "1.299,90", "priceCurrency": "TRY"},
                   {"@type": "Offer", "price": "0", "priceCurrency": "TRY"}])

    prices, _ = extract_prices(html, "https://shop.test/")

    assert prices == (Price(Decimal("1299.90"), "TRY", "json-ld"),)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Kalem 12,50 TL", [(Decimal("12.50"), "TRY")]),
        ("Defter 1.299,90 ₺", [(Decimal("1299.90"), "TRY")]),
        ("Mug €19.99 or $5", [(Decimal("19.99"), "EUR"), (Decimal("5"), "USD")]),
        ("Tel: 0212 555 12 34, 3 adet", []),
    ],
)
def test_text_prices(text, expected):
    html = f"<html><body><p>{text}</p><script>var x = '77 TL';</script></body></html>"

    assert [(p.amount, p.currency) for p in text_prices(html)] == expected


def test_price_to_dict_keeps_decimal_as_string():
    assert Price(Decimal("10.10"), "TRY", "text").to_dict() == {
        "amount": "10.10", "currency": "TRY", "source": "text"}


def test_empty_page_gives_no_prices_and_no_error():
    assert extract_prices("", "https://shop.test/") == ((), ())
