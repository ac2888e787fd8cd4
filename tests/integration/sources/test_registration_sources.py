"""RDAP, WHOIS and the RDAP→WHOIS fallback against real local servers."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import httpx
import pytest

from app.demo.sandbox import RdapServer, WhoisServer, rdap_domain, verisign_whois
from checks.sources.rdap import BootstrapError, RdapClient, load_bootstrap, refresh_bootstrap
from checks.sources.registration import RegistrationLookup, lookup_registration
from checks.sources.whois import WhoisClient


def test_rdap_finds_registration_date_and_registrar(rdap_bootstrap):
    result = RdapClient(rdap_bootstrap, allow_http=True, timeout=2).lookup("Shop.COM.")

    assert result.status == "found"
    assert result.registered_at == datetime(2026, 8, 23, 10, 0, tzinfo=UTC)
    assert result.created_on == date(2026, 8, 23)
    assert result.registrar == "Example Registrar, Inc."
    assert result.error is None
    assert json.loads(json.dumps(result.to_dict()))["created_on"] == "2026-08-23"


def test_rdap_unknown_domain_is_not_found_not_raised(rdap_bootstrap):
    result = RdapClient(rdap_bootstrap, allow_http=True, timeout=2).lookup("nobody.com")

    assert result.status == "not_found"
    assert result.created_on is None
    assert "404" in result.error


def test_rdap_server_error_is_reported(serve, tmp_path):
    server = serve(RdapServer({"busy.com": 503}))
    bootstrap = server.write_bootstrap(tmp_path / "dns.json")

    result = RdapClient(str(bootstrap), allow_http=True, timeout=2).lookup("busy.com")

    assert result.status == "error" and "503" in result.error


def test_rdap_refuses_plain_http_servers_by_default(rdap_bootstrap):
    result = RdapClient(rdap_bootstrap, timeout=2).lookup("shop.com")

    assert result.status == "no_service"
    assert result.error


def test_rdap_follows_redirect_to_the_registry(serve, tmp_path):
    registry = serve(RdapServer({"moved.com": rdap_domain("moved.com", "2020-01-02T03:04:05Z")}))
    front = serve(RdapServer(redirects={"/domain/moved.com": registry.url + "domain/moved.com"}))
    bootstrap = front.write_bootstrap(tmp_path / "dns.json")

    result = RdapClient(str(bootstrap), allow_http=True, timeout=2).lookup("moved.com")

    assert result.created_on == date(2020, 1, 2)
    assert result.server.startswith(front.url)


def test_rdap_unreachable_server_is_an_error_result(tmp_path):
    dead = RdapServer().start()
    bootstrap = dead.write_bootstrap(tmp_path / "dns.json")
    dead.stop()

    result = RdapClient(str(bootstrap), allow_http=True, timeout=1).lookup("shop.com")

    assert result.status == "error" and "ConnectError" in result.error


def test_bootstrap_loads_from_url(rdap_server):
    bootstrap = load_bootstrap(rdap_server.url + "dns.json", allow_http=True, timeout=2)

    assert bootstrap.base_urls("x.com") == (rdap_server.url,)
    assert bootstrap.publication == "2026-11-20T19:00:01Z"


def test_refresh_bootstrap_writes_validated_file_atomically(rdap_server, tmp_path):
    dest = tmp_path / "rdap_dns.json"
    dest.write_text('{"old": true}')

    bootstrap = refresh_bootstrap(dest, rdap_server.url + "dns.json", allow_http=True, timeout=2)

    assert json.loads(dest.read_text())["publication"] == bootstrap.publication
    assert list(tmp_path.iterdir()) == [dest]


def test_refresh_bootstrap_keeps_old_file_when_download_is_invalid(serve, tmp_path):
    server = serve(RdapServer(redirects={"/bad.json": "/domain/x.com"}))
    dest = tmp_path / "rdap_dns.json"
    dest.write_text('{"old": true}')

    with pytest.raises((BootstrapError, httpx.HTTPError)):
        refresh_bootstrap(dest, server.url + "bad.json", allow_http=True, timeout=2)

    assert dest.read_text() == '{"old": true}'


def test_whois_takes_earliest_of_several_creation_dates(serve):
    text = verisign_whois("multi.com", ["2026-08-23T10:00:00Z", "2025-01-02T00:00:00Z"])
    server = serve(WhoisServer({"multi.com": text}))

    result = WhoisClient(server.address, timeout=2).lookup("multi.com")

    assert result.created_on == date(2025, 1, 2)
    assert result.registrar == "Example Registrar, Inc."
    assert server.queries == ["multi.com"]


def test_whois_without_creation_date_is_unknown(serve):
    server = serve(WhoisServer({"nodate.com": verisign_whois("nodate.com", None)}))

    result = WhoisClient(server.address, timeout=2).lookup("nodate.com")

    assert result.status == "found"
    assert result.created_on is None
    assert "no creation date" in result.error


def test_whois_reads_tr_registry_format(whois_server):
    result = WhoisClient(whois_server.address, timeout=2).lookup("ornek.com.tr")

    assert result.created_on == date(2026, 8, 23)


def test_whois_not_found(whois_server):
    result = WhoisClient(whois_server.address, timeout=2).lookup("unknown.com")

    assert result.status == "not_found"


def test_whois_timeout_is_an_error_result(serve):
    server = serve(WhoisServer({"late.com": verisign_whois("late.com")}, delay=3))

    result = WhoisClient(server.address, timeout=1).lookup("late.com")

    assert result.status == "error" and "timed out" in result.error


def test_registration_uses_rdap_first(rdap_bootstrap, whois_server):
    lookup = RegistrationLookup(RdapClient(rdap_bootstrap, allow_http=True, timeout=2),
                                WhoisClient(whois_server.address, timeout=2))

    result = lookup.lookup("https://www.shop.com/urunler?id=1")

    assert (result.domain, result.source, result.created_on) == ("shop.com", "rdap",
                                                                date(2026, 8, 23))
    assert whois_server.queries == []


def test_registration_falls_back_to_whois_after_rdap_404(rdap_bootstrap, whois_server):
    result = lookup_registration(
        "fallback.com",
        rdap=RdapClient(rdap_bootstrap, allow_http=True, timeout=2),
        whois=WhoisClient(whois_server.address, timeout=2),
    )

    assert result.source == "whois"
    assert result.created_on == date(2026, 8, 23)
    assert result.attempts[0].startswith("rdap: not_found")


def test_registration_of_subdomain_queries_registered_tr_domain(rdap_bootstrap, whois_server):
    result = lookup_registration(
        "shop.ornek.com.tr",
        rdap=RdapClient(rdap_bootstrap, allow_http=True, timeout=2),
        whois=WhoisClient(whois_server.address, timeout=2),
    )

    assert (result.domain, result.source, result.created_on) == ("ornek.com.tr", "whois",
                                                                date(2026, 8, 23))
    assert whois_server.queries == ["ornek.com.tr"]


def test_registration_of_idn_domain_queries_a_labels(serve, rdap_bootstrap):
    whois = serve(WhoisServer({"xn--mteri-kva70e.com": verisign_whois("xn--mteri-kva70e.com")}))

    result = lookup_registration(
        "https://www.müşteri.com/",
        rdap=RdapClient(rdap_bootstrap, allow_http=True, timeout=2),
        whois=WhoisClient(whois.address, timeout=2),
    )

    assert result.domain == "xn--mteri-kva70e.com"
    assert result.created_on == date(2026, 8, 23)
    assert whois.queries == ["xn--mteri-kva70e.com"]


def test_registration_when_both_sources_fail_is_unknown_with_both_errors(rdap_bootstrap,
                                                                          whois_server):
    result = lookup_registration(
        "ghost.com",
        rdap=RdapClient(rdap_bootstrap, allow_http=True, timeout=2),
        whois=WhoisClient(whois_server.address, timeout=2),
    )

    assert result.created_on is None and result.source is None
    assert "rdap" in result.error and "whois" in result.error


def test_registration_refuses_site_under_shared_private_suffix(rdap_bootstrap, whois_server):
    result = lookup_registration(
        "https://merchant.github.io",
        rdap=RdapClient(rdap_bootstrap, allow_http=True, timeout=2),
        whois=WhoisClient(whois_server.address, timeout=2),
    )

    assert result.created_on is None and "github.io" in result.error
    assert whois_server.queries == []
