"""A small local Internet for assessment tests: RDAP, WHOIS, DNS and an HTTPS merchant website
on 127.0.0.1, and settings that point kybgate's lookups at them.

Import the fixtures into a test module (``from tests.world import lookup_world, settings``;
``no_internet`` comes from ``tests/conftest.py``): ``settings`` overrides the shared one so
that ``app`` (and therefore the API) uses these servers. ``LookupWorld.site(domain)`` is the
website URL of a domain served by the local website server.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.config import Settings
from app.demo.sandbox import (
    DnsServer,
    RdapServer,
    WebsiteServer,
    WhoisServer,
    product_page_jsonld,
    rdap_domain,
    verisign_whois,
)
from app.demo.sandbox.tls import make_certificate
from app.services.facts import LookupSources

OLD_DOMAIN = "anadolucicek.com.tr"  # the factory's merchant: registered 2019 (RDAP)
YOUNG_DOMAIN = "yenimagaza.com"  # registered 2026-10-26: 30 days before FROZEN_NOW
WHOIS_DOMAIN = "eskidukkan.com"  # no RDAP record; WHOIS says 2015
FROZEN_NOW = "2026-11-25T10:00:00+00:00"
DOMAINS = (OLD_DOMAIN, YOUNG_DOMAIN, WHOIS_DOMAIN)
# freezegun must not freeze the clocks that socket time-outs and TLS are computed from
FREEZE_IGNORE = ["dns", "httpx", "httpcore", "anyio", "ssl", "socket", "whois",
                 "checks.sources", "concurrent", "app.demo.sandbox"]


@dataclass
class LookupWorld:
    """The running servers and the TLS trust of the website."""

    rdap: RdapServer
    whois: WhoisServer
    dns: DnsServer
    website: WebsiteServer
    bootstrap: Path
    ca_context: object

    def site(self, domain: str = OLD_DOMAIN, path: str = "/") -> str:
        """``https://<domain>:<port><path>`` on the local website server."""
        return f"https://{domain}:{self.website.port}{path}"

    def settings(self, base: Settings) -> Settings:
        """``base`` with every lookup pointed at these servers."""
        return base.replace(rdap_bootstrap=str(self.bootstrap),
                            whois_server=f"127.0.0.1:{self.whois.port}",
                            dns_nameservers=(f"127.0.0.1:{self.dns.port}",),
                            fetch_allow_private=True)

    def sources(self, settings: Settings, timeout: float = 8.0) -> LookupSources:
        """Lookup sources for ``settings`` that trust the website's test CA."""
        return LookupSources.from_settings(settings, timeout=timeout,
                                           website_verify=self.ca_context)


def _zones() -> dict:
    zones = {}
    for domain in DOMAINS:
        zones[domain] = {"A": ["127.0.0.1"], "MX": [(10, f"mx.{domain}")]}
    return zones


@contextmanager
def start_world(directory: Path) -> Iterator[LookupWorld]:
    """Start RDAP (.com and .tr), WHOIS, DNS and an HTTPS shop site on 127.0.0.1; stop them
    on exit. ``directory`` receives the test CA and the RDAP bootstrap file."""
    cert = make_certificate(directory, list(DOMAINS))
    rdap = RdapServer({OLD_DOMAIN: rdap_domain(OLD_DOMAIN, "2019-03-20T08:00:00Z"),
                       YOUNG_DOMAIN: rdap_domain(YOUNG_DOMAIN, "2026-10-26T09:00:00Z")},
                      tlds=("com", "tr"))
    whois = WhoisServer({WHOIS_DOMAIN: verisign_whois(WHOIS_DOMAIN, "2015-06-01T00:00:00Z")})
    dns = DnsServer(_zones())
    website = WebsiteServer({"/": product_page_jsonld("Gül Buketi", "450.00"),
                             "/cheap": product_page_jsonld("Kartpostal", "15.00")},
                            ssl_context=cert.server_context())
    servers = [rdap.start(), whois.start(), dns.start(), website.start()]
    try:
        bootstrap = rdap.write_bootstrap(directory / "dns.json")
        yield LookupWorld(rdap, whois, dns, website, bootstrap, cert.client_context())
    finally:
        for server in reversed(servers):
            server.stop()


@pytest.fixture
def lookup_world(tmp_path: Path) -> Iterator[LookupWorld]:
    """The servers of ``start_world`` for one test."""
    with start_world(tmp_path) as world:
        yield world


@pytest.fixture
def settings(db_url, tmp_path, lookup_world) -> Settings:
    """The shared test settings, with every lookup going to ``lookup_world``."""
    from tests.conftest import TEST_DATA_KEYS, TEST_PEPPER
    env = {"KYB_ENV": "testing", "KYB_DATABASE_URL": db_url, "KYB_TOKEN_PEPPER": TEST_PEPPER,
           "KYB_DATA_KEYS": TEST_DATA_KEYS,
           "KYB_SECRET_KEY": "test-secret-key-0123456789abcdefghij",
           "KYB_INSTANCE_PATH": str(tmp_path / "instance")}
    return lookup_world.settings(Settings.from_env(env))


@pytest.fixture
def world_app(app, settings, lookup_world):
    """The app, its lookups trusting the local website's CA."""
    app.extensions["kyb.lookup_sources"] = lookup_world.sources(settings)
    return app


@pytest.fixture
def frozen(lookup_world: LookupWorld) -> Iterator[object]:
    """Time frozen at ``FROZEN_NOW`` for the app (list it before ``api`` so tokens are issued
    in frozen time); network libraries keep the real clock for their time-outs."""
    from freezegun import freeze_time

    import app.services.merchant_changes  # noqa: F401 - pydantic models must be built unfrozen
    from app.api import load_views
    load_views()
    with freeze_time(FROZEN_NOW, ignore=FREEZE_IGNORE) as freezer:
        yield freezer
