"""A local RDAP server: ``/domain/<name>`` answers from a dict, ``/dns.json`` bootstraps to it."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from app.demo.sandbox.base import QuietHTTPServer, ThreadedServer


def rdap_domain(
    name: str,
    registered: str | None = "2026-08-23T10:00:00Z",
    *,
    registrar: str = "Example Registrar, Inc.",
    registrar_iana_id: str = "9999",
    expires: str = "2027-08-23T10:00:00Z",
    last_changed: str = "2026-08-23T10:05:00Z",
) -> dict[str, Any]:
    """A domain object shaped like Verisign's RDAP answers (RFC 9083 + ICANN profile)."""
    events = [{"eventAction": "registration", "eventDate": registered}] if registered else []
    events += [
        {"eventAction": "expiration", "eventDate": expires},
        {"eventAction": "last changed", "eventDate": last_changed},
        {"eventAction": "last update of RDAP database", "eventDate": "2026-11-21T09:00:00Z"},
    ]
    return {
        "objectClassName": "domain",
        "handle": f"{abs(hash(name)) % 10**10}_DOMAIN_COM-VRSN",
        "ldhName": name.upper(),
        "links": [{"value": f"https://rdap.test/domain/{name}", "rel": "self",
                   "href": f"https://rdap.test/domain/{name}", "type": "application/rdap+json"}],
        "status": ["client transfer prohibited"],
        "entities": [{
            "objectClassName": "entity",
            "handle": registrar_iana_id,
            "roles": ["registrar"],
            "publicIds": [{"type": "IANA Registrar ID", "identifier": registrar_iana_id}],
            "vcardArray": ["vcard", [["version", {}, "text", "4.0"],
                                     ["fn", {}, "text", registrar]]],
        }],
        "events": events,
        "secureDNS": {"delegationSigned": False},
        "nameservers": [{"objectClassName": "nameserver", "ldhName": f"NS1.{name.upper()}"}],
        "rdapConformance": ["rdap_level_0", "icann_rdap_technical_implementation_guide_1",
                            "icann_rdap_response_profile_1"],
        "notices": [{"title": "Terms of Use", "description": ["Service subject to Terms of Use."]}],
    }


class RdapServer(ThreadedServer):
    """RDAP over plain HTTP on 127.0.0.1.

    ``domains`` maps a lower-case domain to its RDAP object (see ``rdap_domain``) — or to an
    int, answered as that HTTP status. Unknown names get an RDAP 404 error object. ``redirects``
    maps a request path to a Location. ``requests`` records every path asked for.
    """

    def __init__(
        self,
        domains: Mapping[str, Mapping[str, Any] | int] | None = None,
        *,
        redirects: Mapping[str, str] | None = None,
        tlds: Iterable[str] = ("com", "net", "org", "test"),
    ) -> None:
        super().__init__()
        self.domains: dict[str, Mapping[str, Any] | int] = dict(domains or {})
        self.redirects = dict(redirects or {})
        self.tlds = tuple(tlds)
        self.requests: list[str] = []

    @property
    def url(self) -> str:
        """Base URL, with a trailing slash as bootstrap files give it."""
        return f"http://{self.host}:{self.port}/"

    def bootstrap_document(self, tlds: Iterable[str] | None = None) -> dict[str, Any]:
        """An RFC 9224 ``dns.json`` sending ``tlds`` to this server."""
        return {
            "description": "RDAP bootstrap file for Domain Name System registrations",
            "publication": "2026-11-20T19:00:01Z",
            "services": [[list(tlds or self.tlds), [self.url]]],
            "version": "1.0",
        }

    def write_bootstrap(self, path: str | Path, tlds: Iterable[str] | None = None) -> Path:
        """Write ``bootstrap_document`` to ``path`` and return it."""
        target = Path(path)
        target.write_text(json.dumps(self.bootstrap_document(tlds)), encoding="utf-8")
        return target

    def _make_server(self) -> QuietHTTPServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                owner.requests.append(self.path)
                if self.path in owner.redirects:
                    self._send(302, b"", {"Location": owner.redirects[self.path]})
                elif self.path == "/dns.json":
                    self._json(200, owner.bootstrap_document(), "application/json")
                elif self.path.startswith("/domain/"):
                    self._domain(self.path.removeprefix("/domain/").lower())
                else:
                    self._json(404, {"errorCode": 404, "title": "Not Found"})

            def _domain(self, name: str) -> None:
                answer = owner.domains.get(name)
                if answer is None:
                    self._json(404, {"errorCode": 404, "title": "Not Found",
                                     "description": [f"{name} is not registered"]})
                elif isinstance(answer, int):
                    self._json(answer, {"errorCode": answer, "title": "Error"})
                else:
                    self._json(200, dict(answer))

            def _json(self, status: int, doc: object, ctype: str = "application/rdap+json") -> None:
                self._send(status, json.dumps(doc).encode(), {"Content-Type": ctype})

            def _send(self, status: int, body: bytes, headers: Mapping[str, str]) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        return QuietHTTPServer((self.host, 0), Handler)
