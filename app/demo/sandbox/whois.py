"""A local WHOIS (port-43 protocol) server answering realistic registry text from a dict."""

from __future__ import annotations

import socketserver
import time
from collections.abc import Mapping, Sequence

from app.demo.sandbox.base import ThreadedServer


def verisign_whois(
    domain: str,
    created: str | Sequence[str] | None = "2026-08-23T10:00:00Z",
    *,
    registrar: str = "Example Registrar, Inc.",
) -> str:
    """Thin-registry text as Verisign serves for .com/.net; several ``created`` give a list."""
    dates = [created] if isinstance(created, str) else list(created or [])
    lines = [
        f"   Domain Name: {domain.upper()}",
        "   Registry Domain ID: 2901234567_DOMAIN_COM-VRSN",
        "   Registrar WHOIS Server: whois.example-registrar.test",
        "   Registrar URL: http://www.example-registrar.test",
        "   Updated Date: 2026-08-23T10:05:00Z",
        *[f"   Creation Date: {d}" for d in dates],
        "   Registry Expiry Date: 2027-08-23T10:00:00Z",
        f"   Registrar: {registrar}",
        "   Registrar IANA ID: 9999",
        "   Registrar Abuse Contact Email: abuse@example-registrar.test",
        "   Registrar Abuse Contact Phone: +1.5555551234",
        "   Domain Status: clientTransferProhibited https://icann.org/epp#clientTransferProhibited",
        f"   Name Server: NS1.{domain.upper()}",
        "   DNSSEC: unsigned",
        "   URL of the ICANN Whois Inaccuracy Complaint Form: https://www.icann.org/wicf/",
        ">>> Last update of whois database: 2026-11-21T09:00:00Z <<<",
        "",
        "NOTICE: The expiration date displayed in this record is the date the",
        "registrar's sponsorship of the domain name registration in the registry is",
        "currently set to expire.",
    ]
    return "\r\n".join(lines) + "\r\n"


def verisign_not_found(domain: str) -> str:
    """Verisign's answer for an unregistered name."""
    return (f'No match for "{domain.upper()}".\r\n'
            ">>> Last update of whois database: 2026-11-21T09:00:00Z <<<\r\n")


def tr_whois(domain: str, created: str = "2026-Aug-23.") -> str:
    """Text in the style of the .tr registry (TRABIS / nic.tr)."""
    return "\n".join([
        f"** Domain Name: {domain}",
        "Frozen Status: -",
        "Transfer Status: The domain is LOCKED to transfer.",
        "",
        "** Registrant:",
        "   Ornek Ticaret A.S.",
        "   Hidden upon user request",
        "",
        "** Registrar:",
        "NIC Handle\t\t: ext99-metu",
        "Organization Name\t: Ornek Kayit Hizmetleri A.S.",
        "Address\t\t\t: Istanbul, 34000 Turkiye",
        "",
        "** Domain Servers:",
        f"ns1.{domain}",
        f"ns2.{domain}",
        "",
        "** Additional Info:",
        f"Created on..............: {created}",
        "Expires on..............: 2027-Aug-22.",
        "",
    ])


class WhoisServer(ThreadedServer):
    """Reads one query line, writes the answer, closes — as port-43 servers do.

    ``responses`` maps a lower-case domain to the full response text; unknown names get
    ``not_found(domain)``. ``delay`` seconds pass before answering (timeout tests).
    ``queries`` records every query line received.
    """

    def __init__(
        self,
        responses: Mapping[str, str] | None = None,
        *,
        not_found=verisign_not_found,
        delay: float = 0.0,
    ) -> None:
        super().__init__()
        self.responses = dict(responses or {})
        self.not_found = not_found
        self.delay = delay
        self.queries: list[str] = []

    def _make_server(self) -> socketserver.ThreadingTCPServer:
        owner = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                query = self.rfile.readline(1024).decode("utf-8", "replace").strip()
                owner.queries.append(query)
                if owner.delay:
                    time.sleep(owner.delay)
                text = owner.responses.get(query.lower()) or owner.not_found(query)
                self.wfile.write(text.encode("utf-8"))

        server = socketserver.ThreadingTCPServer((self.host, 0), Handler, bind_and_activate=False)
        server.daemon_threads = True
        server.block_on_close = False
        server.allow_reuse_address = True
        server.server_bind()
        server.server_activate()
        return server
