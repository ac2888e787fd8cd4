"""Matching request and transaction attributes against the institution's blacklist (R-E2).

:class:`BlacklistIndex` is an immutable in-memory snapshot of the active entries, built once
per change and shared by every request of a process (the application swaps in a new one when
the blacklist changes; see ``app.services.blacklist_index``). A lookup is a handful of dict
probes, so it can run on every verification:

* ``ip`` entries are single addresses or CIDR blocks. They are grouped by prefix length; an
  address is looked up once per prefix length present (most specific first), as its network
  number shifted to that length — no scan over the entries.
* ``card`` entries are keyed card fingerprints (``api_keys.cards.fingerprint_pan``) or a
  fingerprint the caller computed; ``customer``, ``email``, ``phone`` and ``device`` are exact
  normalised values (see the ``*_key`` functions, which callers use on request values).

No Flask, database or application imports: the caller passes entries in and facts to match.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from api_keys.cards import scrub_pans
from api_keys.whitelist import IPAddress

TRAFFIC_KINDS = ("ip", "card", "customer", "email", "phone", "device")


@dataclass(frozen=True, slots=True)
class Listed:
    """One active blacklist entry as the index keeps it: id, kind, key and masked value."""

    entry_id: str
    kind: str
    key: str
    masked: str


class BlacklistProbe(NamedTuple):
    """The attributes of one payment or request, already normalised with the ``*_key``
    functions; ``None`` where the request did not carry the attribute. (A named tuple: it is
    built on every verification, and a frozen dataclass costs four times as much.)"""

    ip: IPAddress | None = None
    card_fingerprint: str | None = None
    customer_ref: str | None = None
    email: str | None = None
    phone: str | None = None
    device_id: str | None = None


@dataclass(frozen=True, slots=True)
class BlacklistMatch:
    """A hit: which entry matched, on which attribute (``field`` names the request field)."""

    entry_id: str
    kind: str
    masked: str
    field: str

    def to_dict(self) -> dict[str, str]:
        """JSON-ready evidence (never the clear value of a card, e-mail or phone)."""
        return {"entry_id": self.entry_id, "kind": self.kind, "value": self.masked,
                "field": self.field}


def device_key(value: str) -> str:
    """A device id as listed and as matched: trimmed, case-insensitive, a card number in it
    masked (as stored with a transaction, issue #13 item 4)."""
    return scrub_pans(value.strip().lower())


def customer_key(value: str) -> str:
    """A customer reference as listed and as matched: trimmed, case-sensitive (an account id),
    a card number in it masked (as stored with a transaction, issue #13 item 4)."""
    return scrub_pans(value.strip())


def email_key(value: str) -> str:
    """An e-mail address as matched: trimmed and lower-cased."""
    return value.strip().lower()


def card_key(value: str) -> str:
    """A card fingerprint as listed and as matched (hex fingerprints are lower case)."""
    text = value.strip()
    return text.lower() if all(c in "0123456789abcdefABCDEF" for c in text) else text


def mask(kind: str, shown: str) -> str:
    """The value of an entry as evidence may show it: e-mails, phones, customers and devices
    are partly hidden; IPs and already masked values (cards, national ids) stay."""
    if kind == "email" and "@" in shown:
        local, domain = shown.rsplit("@", 1)
        return f"{local[:1]}***@{domain}"
    if kind == "phone":
        return "*" * max(len(shown) - 4, 0) + shown[-4:]
    if kind in ("customer", "device"):
        return shown[:3] + "***" if len(shown) > 4 else "***"
    return shown


@dataclass(frozen=True)
class _Networks:
    """IP entries of one address family, by prefix length (longest first)."""

    bits: int
    by_prefix: tuple[tuple[int, Mapping[int, Listed]], ...]

    def find(self, address: int) -> Listed | None:
        shift = self.bits
        for prefix, table in self.by_prefix:
            found = table.get(address >> (shift - prefix))
            if found is not None:
                return found
        return None


def _networks(entries: Iterable[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, Listed]],
              bits: int) -> _Networks:
    grouped: dict[int, dict[int, Listed]] = {}
    for network, listed in entries:
        table = grouped.setdefault(network.prefixlen, {})
        table.setdefault(int(network.network_address) >> (bits - network.prefixlen), listed)
    return _Networks(bits, tuple(sorted(grouped.items(), reverse=True)))


# (entry kind, probe field, its position in the probe)
_PROBE_FIELDS = (("card", "card_fingerprint", 1), ("customer", "customer_ref", 2),
                 ("email", "email", 3), ("phone", "phone", 4), ("device", "device_id", 5))


@dataclass(frozen=True)
class BlacklistIndex:
    """The active entries of the traffic kinds, ready for :meth:`match`. ``generation`` is
    the blacklist's change counter the snapshot was built at."""

    generation: int = 0
    size: int = 0
    _v4: _Networks = field(default_factory=lambda: _Networks(32, ()))
    _v6: _Networks = field(default_factory=lambda: _Networks(128, ()))
    _exact: Mapping[str, Mapping[str, Listed]] = field(default_factory=dict)

    @classmethod
    def build(cls, entries: Iterable[Listed], generation: int = 0) -> BlacklistIndex:
        """Index ``entries``; kinds other than :data:`TRAFFIC_KINDS` and unparsable IP keys
        are skipped (the KYB check reads those from the database)."""
        v4, v6, size = [], [], 0
        exact: dict[str, dict[str, Listed]] = {kind: {} for kind, _, _ in _PROBE_FIELDS}
        for listed in entries:
            if listed.kind == "ip":
                try:
                    network = ipaddress.ip_network(listed.key, strict=False)
                except ValueError:
                    continue
                (v4 if network.version == 4 else v6).append((network, listed))
            elif listed.kind in exact:
                exact[listed.kind].setdefault(listed.key, listed)
            else:
                continue
            size += 1
        return cls(generation, size, _networks(v4, 32), _networks(v6, 128),
                   {kind: table for kind, table in exact.items() if table})

    def match(self, probe: BlacklistProbe) -> BlacklistMatch | None:
        """The first entry ``probe`` hits — IP, then card, customer, e-mail, phone, device —
        or None."""
        if not self.size:
            return None
        address = probe.ip
        if address is not None:
            nets = self._v4 if address.version == 4 else self._v6
            found = nets.find(int(address)) if nets.by_prefix else None
            if found is not None:
                return BlacklistMatch(found.entry_id, "ip", found.masked, "client_ip")
        exact = self._exact
        for kind, name, position in _PROBE_FIELDS:
            value = probe[position]
            if value:
                table = exact.get(kind)
                found = table.get(value) if table is not None else None
                if found is not None:
                    return BlacklistMatch(found.entry_id, kind, found.masked, name)
        return None

    def __len__(self) -> int:
        return self.size


EMPTY = BlacklistIndex()

__all__ = ["EMPTY", "TRAFFIC_KINDS", "BlacklistIndex", "BlacklistMatch", "BlacklistProbe",
           "Listed", "card_key", "customer_key", "device_key", "email_key", "mask"]
