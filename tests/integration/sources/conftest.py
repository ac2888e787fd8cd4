"""Fixtures starting the real local servers of ``app.demo.sandbox`` for the source adapters.

``serve(server)`` starts any server and stops it after the test; the named fixtures give a
server with ready-made data. ``_no_internet`` (autouse) fails any test whose code tries to open a
connection to anything but loopback.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

import pytest

from app.demo.sandbox import (
    DnsServer,
    RdapServer,
    SmtpServer,
    WebsiteServer,
    WhoisServer,
    rdap_domain,
    tr_whois,
    verisign_whois,
)

S = TypeVar("S")


@pytest.fixture(autouse=True)
def _no_internet(no_internet: None) -> None:
    """Every source test fails if its code reaches past loopback (see ``tests/conftest.py``)."""


@pytest.fixture
def serve() -> Iterator[Callable[[S], S]]:
    """``serve(SomeServer(...))`` starts it now and stops it when the test ends."""
    started: list = []

    def start(server: S) -> S:
        server.start()  # type: ignore[attr-defined]
        started.append(server)
        return server

    yield start
    for server in reversed(started):
        server.stop()


@pytest.fixture
def rdap_server(serve: Callable) -> RdapServer:
    """RDAP for ``shop.com`` (registered 2026-08-23) and ``old-shop.com`` (1999)."""
    return serve(RdapServer({
        "shop.com": rdap_domain("shop.com", "2026-08-23T10:00:00Z"),
        "old-shop.com": rdap_domain("old-shop.com", "1999-03-15T05:00:00Z",
                                    registrar="MarkMonitor Inc."),
    }))


@pytest.fixture
def rdap_bootstrap(rdap_server: RdapServer, tmp_path) -> str:
    """Path of a ``dns.json`` sending .com/.net/.org/.test to ``rdap_server``."""
    return str(rdap_server.write_bootstrap(tmp_path / "dns.json"))


@pytest.fixture
def whois_server(serve: Callable) -> WhoisServer:
    """WHOIS with Verisign-style and .tr-style answers."""
    return serve(WhoisServer({
        "fallback.com": verisign_whois("fallback.com", "2026-08-23T10:00:00Z"),
        "ornek.com.tr": tr_whois("ornek.com.tr", "2026-Aug-23."),
    }))


@pytest.fixture
def dns_server(serve: Callable) -> DnsServer:
    """DNS: ``shop.test`` (A, AAAA, MX), ``evil.test`` (A 127.0.0.1), ``slow.test`` silent."""
    return serve(DnsServer(
        {
            "shop.test": {"A": ["203.0.113.10"], "AAAA": ["2001:db8::10"],
                          "MX": [(20, "mx2.shop.test"), (10, "mx1.shop.test")]},
            "evil.test": {"A": ["127.0.0.1"]},
            "nomail.test": {"A": ["203.0.113.11"]},
        },
        silent=["slow.test"],
        servfail=["broken.test"],
    ))


@pytest.fixture
def website_server(serve: Callable) -> WebsiteServer:
    """The ready-made merchant site of ``app.demo.sandbox.website.merchant_pages``."""
    return serve(WebsiteServer())


@pytest.fixture
def smtp_server(serve: Callable) -> SmtpServer:
    """An SMTP server collecting messages."""
    return serve(SmtpServer())
