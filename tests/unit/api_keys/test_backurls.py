"""Back-URL registration and request-site matching."""

from __future__ import annotations

import pytest

from api_keys.backurls import (
    MAX_URL_LENGTH,
    InvalidBackUrl,
    InvalidBackUrls,
    SiteSet,
    parse_back_url,
    parse_back_urls,
    parse_site,
    site_allowed,
    site_from_headers,
)
from api_keys.results import Failure

CYRILLIC_O = "\u043e"


@pytest.mark.parametrize(
    ("url", "environment", "origin"),
    [
        ("https://shop.com", "live", "https://shop.com"),
        ("https://shop.com/", "live", "https://shop.com"),
        (" HTTPS://Shop.COM ", "live", "https://shop.com"),
        ("https://shop.com.", "live", "https://shop.com"),
        ("https://shop.com:443", "live", "https://shop.com"),
        ("https://shop.com:8443", "live", "https://shop.com:8443"),
        ("https://b\u00fccher.de", "live", "https://xn--bcher-kva.de"),
        ("https://xn--bcher-kva.de", "live", "https://xn--bcher-kva.de"),
        ("https://\uff33\uff28\uff2f\uff30.com", "live", "https://shop.com"),  # full-width
        ("https://myshop.github.io", "live", "https://myshop.github.io"),
        ("https://shop.co.uk", "live", "https://shop.co.uk"),
        ("http://shop.com", "test", "http://shop.com"),
        ("http://localhost:3000", "test", "http://localhost:3000"),
        ("http://127.0.0.1:8000", "test", "http://127.0.0.1:8000"),
        ("https://[::1]:8443", "test", "https://[::1]:8443"),
    ],
)
def test_back_url_is_stored_as_a_normalised_origin(url, environment, origin):
    assert parse_back_url(url, environment).origin == origin


@pytest.mark.parametrize(
    ("url", "environment", "message"),
    [
        ("http://shop.com", "live", "live keys need https"),
        ("javascript:alert(1)", "test", "scheme"),
        ("ftp://shop.com", "test", "scheme"),
        ("shop.com", "live", "scheme"),
        ("//shop.com", "live", "scheme"),
        ("https://user:pw@shop.com", "live", "userinfo"),
        ("https://shop.com@evil.com", "live", "userinfo"),
        ("https://shop.com/checkout", "live", "origin only"),
        ("https://shop.com/?a=1", "live", "origin only"),
        ("https://shop.com/#x", "live", "origin only"),
        ("https://com", "live", "public suffix"),
        ("https://co.uk", "test", "public suffix"),
        ("https://github.io", "live", "public suffix"),
        ("https://localhost", "live", "not under a known public suffix"),
        ("https://shop.internal", "live", "not under a known public suffix"),
        ("https://8.8.8.8", "live", "IP literals"),
        ("https://[2a00:1450::1]", "live", "IP literals"),
        (f"https://sh{CYRILLIC_O}p.com", "live", "homograph"),
        (f"https://sh{CYRILLIC_O}p.com", "test", "homograph"),
        ("https://shop.com..", "live", "host"),
        ("https://sh op.com", "live", "bad_characters"),
        ("https://shop_1.com", "live", "host"),
        ("https://-shop.com", "live", "host"),
        ("https://shop.com:0", "live", "host"),
        ("https://shop.com:99999", "live", "malformed"),
        ("https://evil.com\\@shop.com", "live", "bad_characters"),
        ("https://" + "a" * 64 + ".com", "live", "host"),
        ("https://shop.com/" + "a" * MAX_URL_LENGTH, "live", "too_long"),
    ],
)
def test_bad_back_url_is_refused_with_an_error_naming_it(url, environment, message):
    with pytest.raises(InvalidBackUrl) as caught:
        parse_back_url(url, environment)
    assert message in str(caught.value)
    assert caught.value.url == url.strip()[:100]


def test_back_urls_collects_every_error_and_deduplicates():
    with pytest.raises(InvalidBackUrls) as caught:
        parse_back_urls(["https://shop.com", "javascript:alert(1)", "https://com"], "live")
    assert [error.url for error in caught.value.errors] == ["javascript:alert(1)", "https://com"]
    sites = parse_back_urls(["https://shop.com", "https://SHOP.com/", "https://a.shop.com"], "live")
    assert [site.origin for site in sites] == ["https://shop.com", "https://a.shop.com"]


LIVE = SiteSet(
    parse_back_urls(["https://shop.com", "https://pay.example.org:8443"], "live"), "live"
)


@pytest.mark.parametrize(
    ("site", "allowed"),
    [
        ("https://shop.com", True),
        ("https://shop.com/", True),
        ("https://shop.com/checkout?x=1#y", True),
        ("HTTPS://SHOP.COM", True),
        ("https://shop.com.", True),
        ("https://shop.com:443", True),
        ("https://www.shop.com", True),
        ("https://a.b.shop.com", True),
        ("https://pay.example.org:8443", True),
        ("https://x.pay.example.org:8443/p", True),
        ("https://evilshop.com", False),
        ("https://shop.com.evil.com", False),
        ("https://shop.com@evil.com", False),
        ("https://evil.com\\@shop.com", False),
        ("https://evil.com\\.shop.com", False),
        ("javascript:alert(1)", False),
        ("data:text/html,https://shop.com", False),
        (f"https://sh{CYRILLIC_O}p.com", False),
        ("https://xn--shp-ted.com", False),  # the same homograph in A-label form
        ("http://shop.com", False),  # live keys: https only
        ("https://shop.com:8443", False),
        ("https://pay.example.org", False),
        ("https://example.org:8443", False),  # the parent of a registered host
        ("https://com", False),
        ("https://shop.com..", False),
        ("https://shop%2ecom", False),
        ("https:shop.com", False),
        ("//shop.com", False),
        ("https://shop.com\t", False),
        ("https://8.8.8.8", False),
        ("https://" + "a." * 5000 + "shop.com", False),  # 10 KB
        ("", False),
    ],
)
def test_request_site_matches_registered_hosts_on_label_boundaries(site, allowed):
    assert site_allowed(site, LIVE) is allowed


TEST = SiteSet(parse_back_urls(["http://localhost:3000", "https://127.0.0.1:8443"], "test"), "test")


@pytest.mark.parametrize(
    ("site", "allowed"),
    [
        ("http://localhost:3000", True),
        ("https://localhost:3000", True),
        ("http://localhost:3001", False),
        ("https://127.0.0.1:8443", True),
        ("https://10.127.0.0.1:8443", False),  # not a subdomain of an IP literal
        ("https://0.0.1:8443", False),
    ],
)
def test_test_key_site_matching_allows_http_and_ip_literals(site, allowed):
    assert site_allowed(site, TEST) is allowed


def test_site_set_rebuilt_from_stored_origins_matches_the_same():
    rebuilt = SiteSet.parse([site.origin for site in LIVE.sites], "live")
    assert site_allowed("https://www.shop.com", rebuilt)
    assert not site_allowed("https://evilshop.com", rebuilt)


def test_empty_site_set_matches_nothing():
    assert not site_allowed("https://shop.com", SiteSet([], "live"))


@pytest.mark.parametrize(
    ("origin", "referer", "back_url", "expected"),
    [
        ("https://shop.com", "https://evil.com/x", "https://evil.com", "https://shop.com"),
        (None, "https://shop.com/cart", "https://evil.com", "https://shop.com/cart"),
        (None, None, "https://shop.com", "https://shop.com"),
        ("", " ", "https://shop.com", "https://shop.com"),
        ("null", "https://shop.com/", None, Failure("null_origin")),
        (" NULL ", None, None, Failure("null_origin")),
        (None, "null", None, "null"),  # only Origin has the opaque "null"; parsing refuses it
        (None, None, None, Failure("missing")),
        ("https://shop.com/" + "a" * 10_240, None, None, Failure("too_long")),
        (None, "x" * 10_240, None, Failure("too_long")),
    ],
)
def test_site_is_taken_from_origin_then_referer_then_back_url(origin, referer, back_url, expected):
    assert site_from_headers(origin, referer, back_url) == expected


@pytest.mark.parametrize(
    "url",
    ["null", "javascript:alert(1)", "https://shop.com@evil.com", "https://", "https://:443", 42],
)
def test_parse_site_returns_a_failure_for_unusable_input(url):
    assert isinstance(parse_site(url), Failure)
