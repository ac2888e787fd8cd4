"""DNS adapter (dnspython) for the ``domain_dns`` check and for the website fetcher.

``KYB_DNS_NAMESERVERS=ip:port,...`` makes every query go to those servers instead of the system
resolver (tests, or a resolver the institution controls). Each record type is queried on its
own; a failure is kept per type and never raised, and NXDOMAIN (the name does not exist) is kept
apart from a timeout (we could not find out).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Protocol

import dns.exception
import dns.nameserver
import dns.resolver

from checks.sources.domains import normalise_host

RECORD_TYPES = ("A", "AAAA", "MX")


@dataclass(frozen=True)
class MxRecord:
    """One mail exchanger."""

    preference: int
    exchange: str


@dataclass(frozen=True)
class DnsQueryError:
    """Why one query gave no answer: ``nxdomain``, ``timeout``, ``no_nameservers``, ``error``."""

    rtype: str
    kind: str
    detail: str


@dataclass(frozen=True)
class DnsRecords:
    """The A, AAAA and MX records of one name, with the failures met on the way."""

    name: str
    a: tuple[str, ...] = ()
    aaaa: tuple[str, ...] = ()
    mx: tuple[MxRecord, ...] = ()
    errors: tuple[DnsQueryError, ...] = ()

    @property
    def nxdomain(self) -> bool:
        """The name does not exist (a definite answer)."""
        return any(e.kind == "nxdomain" for e in self.errors)

    @property
    def timed_out(self) -> bool:
        """At least one query got no answer in time."""
        return any(e.kind == "timeout" for e in self.errors)

    @property
    def status(self) -> str:
        """``nxdomain``, ``ok`` (some records), ``no_records``, ``timeout`` or ``error``."""
        if self.nxdomain:
            return "nxdomain"
        if self.a or self.aaaa or self.mx:
            return "ok"
        if not self.errors:
            return "no_records"
        return "timeout" if self.timed_out else "error"

    @property
    def addresses(self) -> tuple[str, ...]:
        """A and AAAA addresses together."""
        return self.a + self.aaaa

    def to_dict(self) -> dict:
        """JSON-friendly form."""
        return {
            "name": self.name,
            "status": self.status,
            "a": list(self.a),
            "aaaa": list(self.aaaa),
            "mx": [asdict(m) for m in self.mx],
            "errors": [asdict(e) for e in self.errors],
        }


class DnsLookup(Protocol):
    """Anything that answers A/AAAA/MX questions."""

    def lookup(self, name: str, rtypes: Sequence[str] = RECORD_TYPES) -> DnsRecords: ...


def parse_nameservers(value: str | Sequence[str] | None) -> tuple[tuple[str, int], ...]:
    """``"1.2.3.4:53,[::1]:5353"`` or a list of such → ``((ip, port), ...)``; port 53 by default."""
    if not value:
        return ()
    items = value.split(",") if isinstance(value, str) else list(value)
    servers = []
    for item in (i.strip() for i in items if i.strip()):
        if item.startswith("["):
            host, _, rest = item[1:].partition("]")
            servers.append((host, int(rest[1:]) if rest.startswith(":") else 53))
        elif item.count(":") == 1:
            host, port = item.split(":")
            servers.append((host, int(port)))
        else:
            servers.append((item, 53))
    return tuple(servers)


class DnsClient:
    """dnspython resolver with explicit nameservers and time limits."""

    def __init__(
        self,
        nameservers: str | Sequence[str] | None = None,
        *,
        timeout: float = 2.0,
        lifetime: float = 5.0,
    ) -> None:
        """``nameservers``: ``ip:port`` items (None: the system resolver's configuration).

        ``timeout`` bounds one attempt against one server, ``lifetime`` a whole query.
        """
        servers = parse_nameservers(nameservers)
        self._resolver = dns.resolver.Resolver(configure=not servers)
        if servers:
            self._resolver.nameservers = [
                dns.nameserver.Do53Nameserver(ip, port) for ip, port in servers
            ]
        self._resolver.timeout = timeout
        self._resolver.lifetime = lifetime
        self.nameservers = servers

    def lookup(self, name: str, rtypes: Sequence[str] = RECORD_TYPES) -> DnsRecords:
        """Query each of ``rtypes`` for ``name``; stop at NXDOMAIN or at the first timeout."""
        try:
            qname = normalise_host(name)
        except ValueError as exc:
            return DnsRecords(name, errors=(DnsQueryError("*", "error", str(exc)),))
        found: dict[str, tuple] = {}
        errors: list[DnsQueryError] = []
        for rtype in rtypes:
            values, error = self._query(qname, rtype)
            found[rtype] = values
            if error:
                errors.append(error)
                if error.kind in ("nxdomain", "timeout"):  # more types would only wait again
                    break
        return DnsRecords(
            qname,
            a=found.get("A", ()),
            aaaa=found.get("AAAA", ()),
            mx=found.get("MX", ()),
            errors=tuple(errors),
        )

    def _query(self, qname: str, rtype: str) -> tuple[tuple, DnsQueryError | None]:
        try:
            answer = self._resolver.resolve(qname, rtype, search=False, raise_on_no_answer=False)
        except dns.resolver.NXDOMAIN:
            return (), DnsQueryError(rtype, "nxdomain", f"{qname} does not exist")
        except dns.exception.Timeout as exc:
            return (), DnsQueryError(rtype, "timeout", str(exc))
        except dns.resolver.NoNameservers as exc:
            return (), DnsQueryError(rtype, "no_nameservers", str(exc))
        except dns.exception.DNSException as exc:
            return (), DnsQueryError(rtype, "error", f"{type(exc).__name__}: {exc}")
        if answer.rrset is None:
            return (), None
        if rtype == "MX":
            records = sorted(
                (MxRecord(r.preference, r.exchange.to_text().rstrip(".").lower()) for r in answer),
                key=lambda m: (m.preference, m.exchange),
            )
            return tuple(records), None
        return tuple(sorted(r.to_text() for r in answer)), None
