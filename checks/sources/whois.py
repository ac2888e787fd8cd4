"""WHOIS adapter (port 43) through python-whois: the fallback when RDAP has no answer.

Some registries (``.tr`` among them) publish no RDAP service, and some RDAP answers carry no
registration event. python-whois speaks the protocol and parses each registry's text format;
this module adds what it lacks: a configurable server (``KYB_WHOIS_SERVER=host:port`` sends every
query to one place, for tests or a corporate relay), a timeout, and a single creation date out
of whatever the parser produced (a list, a string, nothing).
"""

from __future__ import annotations

import socket
from datetime import UTC, date, datetime
from typing import Protocol

import whois as pywhois
from whois.exceptions import PywhoisError, WhoisDomainNotFoundError
from whois.parser import datetime_parse

from checks.sources.domains import normalise_host
from checks.sources.records import DomainRecord

EXCERPT_CHARS = 600
DEFAULT_PORT = 43


class WhoisResult(DomainRecord):
    """What a WHOIS server said about one domain."""


class WhoisLookup(Protocol):
    """Anything that can look a registered domain up over WHOIS."""

    def lookup(self, domain: str) -> WhoisResult: ...


def parse_server(server: str) -> tuple[str, int]:
    """Split ``host:port``, ``[v6]:port`` or a bare ``host`` (port 43)."""
    text = server.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else DEFAULT_PORT
    if text.count(":") == 1:
        host, port = text.split(":")
        return host, int(port)
    return text, DEFAULT_PORT


class _PinnedSocket(socket.socket):
    """A TCP socket that connects to one fixed address whatever ``connect`` is asked for.

    ``NICClient.whois`` hard-codes port 43 in its ``connect`` call; replacing the socket it gets
    from ``get_socket`` is the one seam that keeps python-whois's own query formatting.
    """

    def __init__(self, address: tuple[str, int]) -> None:
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(family, socket.SOCK_STREAM)
        self._pinned = address

    def connect(self, _address: object) -> None:  # type: ignore[override]
        super().connect(self._pinned)


class _RelayNICClient(pywhois.NICClient):
    """python-whois client whose every connection goes to ``address``."""

    def __init__(self, address: tuple[str, int]) -> None:
        super().__init__()
        self._address = address

    def get_socket(self) -> socket.socket:  # type: ignore[override]
        return _PinnedSocket(self._address)


class WhoisClient:
    """WHOIS lookups, either through python-whois's server choice or one fixed server."""

    def __init__(self, server: str | None = None, *, timeout: float = 10.0) -> None:
        """``server``: ``host:port`` that receives every query (None: the registry's own)."""
        self.address = parse_server(server) if server else None
        self.timeout = timeout

    def lookup(self, domain: str) -> WhoisResult:
        """Query and parse; every expected failure comes back as ``error`` on the result."""
        try:
            name = normalise_host(domain)
        except ValueError as exc:
            return WhoisResult(domain, "error", error=f"whois: {exc}")
        server = f"{self.address[0]}:{self.address[1]}" if self.address else None
        try:
            text = self._query(name)
        except OSError as exc:
            return WhoisResult(name, "error", server=server,
                               error=f"whois: {type(exc).__name__}: {exc}")
        return parse_response(name, text, server=server)

    def _query(self, name: str) -> str:
        """The raw WHOIS text for ``name``; socket errors propagate."""
        timeout = int(max(1, round(self.timeout)))  # python-whois passes it to settimeout
        if self.address is None:
            return pywhois.NICClient().whois_lookup(
                None, name, 0, quiet=True, ignore_socket_errors=False, timeout=timeout
            )
        client = _RelayNICClient(self.address)
        return client.whois(
            name, self.address[0], 0, quiet=True, timeout=timeout, ignore_socket_errors=False
        )


def parse_response(name: str, text: str, *, server: str | None = None) -> WhoisResult:
    """Parse registry text with python-whois and reduce it to one creation date."""
    excerpt = text[:EXCERPT_CHARS]
    if not text.strip():
        return WhoisResult(name, "error", server=server, error="whois: empty response")
    try:
        entry = pywhois.WhoisEntry.load(name, text)
    except WhoisDomainNotFoundError:
        return WhoisResult(name, "not_found", server=server, raw_excerpt=excerpt,
                           error="whois: domain not found")
    except PywhoisError as exc:
        return WhoisResult(name, "error", server=server, raw_excerpt=excerpt,
                           error=f"whois: cannot parse response: {exc}")
    registered_at = earliest_date(entry.get("creation_date"))
    registrar = entry.get("registrar")
    return WhoisResult(
        name,
        "found",
        registered_at=registered_at,
        registrar=str(registrar) if registrar else None,
        server=server,
        raw_excerpt=excerpt,
        error=None if registered_at else "whois: no creation date in response",
    )


def earliest_date(value: object) -> datetime | None:
    """The earliest of the creation date(s) python-whois produced, in UTC.

    ``value`` may be a datetime, a list of them (registry and registrar disagree), an
    unparsed string (python-whois leaves all-digit values such as ``20260823`` alone) or None.
    """
    values = value if isinstance(value, list | tuple) else [value]
    dates = [d for d in (_as_datetime(v) for v in values) if d is not None]
    return min(dates) if dates else None


def _as_datetime(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, str) and value.strip():
        try:
            return _as_datetime(datetime_parse(value.strip()))
        except PywhoisError:
            return None
    return None
