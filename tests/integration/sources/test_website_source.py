"""WebsiteFetcher (SSRF policy, limits, redirects) and price extraction on a real local site."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from app.demo.sandbox import Redirect, WebsiteServer
from app.demo.sandbox.tls import make_certificate
from checks.sources.dns import DnsClient
from checks.sources.website import WebsiteFetcher


def fetcher(**kwargs) -> WebsiteFetcher:
    kwargs.setdefault("allow_private", True)
    kwargs.setdefault("timeout", 1.0)
    kwargs.setdefault("total_timeout", 3.0)
    return WebsiteFetcher(**kwargs)


def amounts(result) -> list[tuple[Decimal, str | None, str]]:
    return [(p.amount, p.currency, p.source) for p in result.prices]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/jsonld", [(Decimal("14.90"), "TRY", "json-ld")]),
        ("/microdata", [(Decimal("19.50"), "TRY", "microdata")]),
        ("/rdfa", [(Decimal("7.25"), "EUR", "rdfa")]),
        ("/text", [(Decimal("12.50"), "TRY", "text"), (Decimal("1299.90"), "TRY", "text")]),
    ],
)
def test_prices_are_read_from_each_kind_of_page(website_server, path, expected):
    result = fetcher().prices(website_server.url(path))

    assert result.errors == ()
    assert amounts(result) == expected
    assert result.to_dict()["prices"][0]["amount"] == str(expected[0][0])


def test_redirect_chain_is_followed_and_recorded(website_server):
    result = fetcher().prices(website_server.url("/hop1"))

    assert amounts(result) == [(Decimal("14.90"), "TRY", "json-ld")]
    assert [u.rsplit("/", 1)[1] for u in result.page.redirects] == ["hop2", "hop3", "jsonld"]
    assert result.page.final_url == website_server.url("/jsonld")


def test_redirect_loop_stops_at_the_cap(website_server):
    page = fetcher(max_redirects=3).fetch(website_server.url("/loop"))

    assert page.error_kind == "redirects"
    assert len(page.redirects) == 4


def test_url_resolving_to_loopback_is_refused_by_default(website_server, dns_server):
    default = WebsiteFetcher(allowed_ports=[website_server.port],
                             resolver=DnsClient(dns_server.address, timeout=1, lifetime=2))

    page = default.fetch(website_server.url("/jsonld", host="evil.test"))

    assert page.error_kind == "refused"
    assert "127.0.0.1" in page.error and "loopback" in page.error
    assert website_server.requests == []  # never connected


def test_localhost_is_refused_by_default_through_the_system_resolver(website_server):
    page = WebsiteFetcher(allowed_ports=[website_server.port]).fetch(
        website_server.url("/jsonld", host="localhost"))

    assert page.error_kind == "refused" and "loopback" in page.error


def test_every_redirect_hop_is_vetted_again(serve):
    server = serve(WebsiteServer({"/start": Redirect("http://127.0.0.1:9/admin")}))
    only_this_port = fetcher(allowed_ports=[server.port])

    page = only_this_port.fetch(server.url("/start"))

    assert page.error_kind == "refused" and "port 9" in page.error
    assert page.redirects == ("http://127.0.0.1:9/admin",)


def test_redirect_to_metadata_address_is_refused_even_when_private_allowed(website_server):
    page = fetcher().fetch(website_server.url("/to-metadata"))

    assert page.error_kind == "refused"
    assert "169.254.169.254" in page.error and "metadata" in page.error
    assert page.redirects == ("http://169.254.169.254/latest/meta-data/",)


def test_redirect_to_file_scheme_is_refused(website_server):
    page = fetcher().fetch(website_server.url("/to-file"))

    assert page.error_kind == "refused" and "file" in page.error


def test_non_standard_port_is_refused_by_default(website_server):
    page = WebsiteFetcher().fetch("http://203.0.113.7:8081/")

    assert page.error_kind == "refused" and "port 8081" in page.error


@pytest.mark.parametrize("path", ["/huge", "/huge-declared"])
def test_oversized_page_is_cut_off(website_server, path):
    page = fetcher(max_bytes=1024 * 1024).fetch(website_server.url(path))

    assert page.error_kind == "too_large"
    assert page.body == b""


def test_slow_page_times_out(website_server):
    started = time.monotonic()

    page = fetcher(timeout=0.5).fetch(website_server.url("/slow"))

    assert page.error_kind == "timeout"
    assert time.monotonic() - started < 2


def test_drip_fed_page_hits_the_total_deadline(website_server):
    started = time.monotonic()

    page = fetcher(timeout=1.0, total_timeout=1.0).fetch(website_server.url("/drip"))

    assert page.error_kind == "timeout"
    assert time.monotonic() - started < 2.5


def test_non_html_and_error_pages_give_no_prices(website_server):
    image = fetcher().prices(website_server.url("/image"))
    missing = fetcher().prices(website_server.url("/missing"))

    assert image.prices == () and image.page.error_kind == "not_html"
    assert missing.prices == () and missing.page.status_code == 404


def test_connection_goes_to_vetted_ip_with_original_host_header(website_server, dns_server):
    shop = fetcher(resolver=DnsClient(dns_server.address, timeout=1, lifetime=2))

    page = shop.fetch(website_server.url("/jsonld", host="evil.test"))

    assert page.error is None and page.address == "127.0.0.1"
    assert website_server.requests == [("/jsonld", f"evil.test:{website_server.port}")]


def test_https_fetch_pins_ip_and_keeps_sni_and_certificate_check(serve, tmp_path, dns_server):
    cert = make_certificate(tmp_path, ["evil.test"])
    server = serve(WebsiteServer(ssl_context=cert.server_context()))
    resolver = DnsClient(dns_server.address, timeout=1, lifetime=2)

    good = fetcher(resolver=resolver, verify=cert.client_context()).prices(
        server.url("/jsonld", host="evil.test"))
    wrong_name = fetcher(verify=cert.client_context()).fetch(server.url("/jsonld"))

    assert good.errors == () and good.prices[0].amount == Decimal("14.90")
    assert good.page.address == "127.0.0.1"
    assert wrong_name.error_kind == "connect"  # certificate is for evil.test, not 127.0.0.1


def test_unresolvable_host_is_a_dns_error(website_server, dns_server):
    page = fetcher(resolver=DnsClient(dns_server.address, timeout=1, lifetime=2)).fetch(
        "http://gone.test/")

    assert page.error_kind == "dns"
