"""A local DNS server (UDP) answering A/AAAA/MX from a dict, NXDOMAIN for the rest."""

from __future__ import annotations

import socketserver
from collections.abc import Collection, Mapping, Sequence

import dns.exception
import dns.flags
import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from app.demo.sandbox.base import ThreadedServer

Zone = Mapping[str, Sequence[object]]


class DnsServer(ThreadedServer):
    """Authoritative-style UDP responder for tests.

    ``zones`` maps a name to its records, e.g. ``{"shop.test": {"A": ["127.0.0.1"],
    "MX": [(10, "mx.shop.test")]}}``. A known name without the asked type answers NOERROR with
    no records; an unknown name NXDOMAIN; a name in ``silent`` never gets an answer (timeout);
    one in ``servfail`` gets SERVFAIL. ``queries`` records ``(name, type)`` pairs.
    """

    def __init__(
        self,
        zones: Mapping[str, Zone] | None = None,
        *,
        silent: Collection[str] = (),
        servfail: Collection[str] = (),
        ttl: int = 300,
    ) -> None:
        super().__init__()
        self.zones = {k.lower().rstrip("."): v for k, v in (zones or {}).items()}
        self.silent = {s.lower().rstrip(".") for s in silent}
        self.servfail = {s.lower().rstrip(".") for s in servfail}
        self.ttl = ttl
        self.queries: list[tuple[str, str]] = []

    def answer(self, query: dns.message.Message) -> dns.message.Message | None:
        """The response to ``query``, or None to stay silent."""
        response = dns.message.make_response(query)
        question = query.question[0]
        name = question.name.to_text().rstrip(".").lower()
        rtype = dns.rdatatype.to_text(question.rdtype)
        self.queries.append((name, rtype))
        if name in self.silent:
            return None
        if name in self.servfail:
            response.set_rcode(dns.rcode.SERVFAIL)
        elif name not in self.zones:
            response.set_rcode(dns.rcode.NXDOMAIN)
        elif self.zones[name].get(rtype):
            texts = [_rdata_text(rtype, value) for value in self.zones[name][rtype]]
            response.answer.append(dns.rrset.from_text_list(
                question.name, self.ttl, dns.rdataclass.IN, question.rdtype, texts
            ))
        response.flags |= dns.flags.AA
        return response

    def _make_server(self) -> socketserver.ThreadingUDPServer:
        owner = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                data, sock = self.request
                try:
                    query = dns.message.from_wire(data)
                except dns.exception.DNSException:
                    return
                response = owner.answer(query)
                if response is not None:
                    sock.sendto(response.to_wire(), self.client_address)

        server = socketserver.ThreadingUDPServer((self.host, 0), Handler)
        server.daemon_threads = True
        server.block_on_close = False
        return server


def _rdata_text(rtype: str, value: object) -> str:
    if rtype == "MX":
        preference, exchange = value  # type: ignore[misc]
        return f"{preference} {str(exchange).rstrip('.')}."
    return str(value)
