"""IP whitelists of merchant API keys (R-B1): parsing at registration, matching per request.

Registration decisions (documented in ``api_keys/README.md``):

* An entry is an IPv4/IPv6 address (a /32 or /128) or a CIDR. Host bits set (``10.0.0.1/24``)
  are refused, not silently widened: the merchant may have meant the host or the network.
* IPv4-mapped IPv6 (``::ffff:203.0.113.7``) is stored as the IPv4 it stands for.
* Live keys refuse ``0.0.0.0/0``, ``::/0`` and any range that overlaps non-public space:
  unspecified, loopback, private, shared (CGNAT), link-local, multicast, documentation,
  benchmarking and reserved ranges. Test keys may use them.
* Ranges broader than /24 (IPv4) or /48 (IPv6) are accepted only with an approver's sign-off:
  they are listed in ``ParsedWhitelist.needs_approval`` for the service to enforce.

Matching uses precomputed, merged integer ranges and a binary search.
"""

from __future__ import annotations

import bisect
import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

MAX_ENTRIES = 256
MAX_ENTRY_LENGTH = 64  # a fully written IPv6 CIDR is 43 characters
APPROVAL_PREFIX = {4: 24, 6: 48}  # broader than this needs an approver

_GLOBAL_UNICAST_V6 = IPv6Network("2000::/3")
# Octets 0-255 without leading zeros (refused for their octal ambiguity, as ipaddress does).
_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_DOTTED_QUAD = re.compile(r"\.".join([_OCTET] * 4))
_NON_PUBLIC: tuple[tuple[IPNetwork, str], ...] = tuple(
    (ipaddress.ip_network(cidr), category)
    for cidr, category in (
        ("0.0.0.0/8", "unspecified"),
        ("10.0.0.0/8", "private"),
        ("100.64.0.0/10", "shared (CGNAT)"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local"),
        ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "reserved"),
        ("192.0.2.0/24", "documentation"),
        ("192.88.99.0/24", "reserved"),
        ("192.168.0.0/16", "private"),
        ("198.18.0.0/15", "benchmarking"),
        ("198.51.100.0/24", "documentation"),
        ("203.0.113.0/24", "documentation"),
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved"),
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("fc00::/7", "private"),
        ("fe80::/10", "link-local"),
        ("ff00::/8", "multicast"),
        ("2001:2::/48", "benchmarking"),
        ("2001:db8::/32", "documentation"),
        ("2001:10::/28", "reserved"),
        ("2001:20::/28", "reserved"),
    )
)


class InvalidWhitelistEntry(ValueError):
    """One whitelist entry was refused; the message names the entry and says why."""

    def __init__(self, entry: str, message: str) -> None:
        self.entry = entry
        self.message = message
        super().__init__(f"IP whitelist entry {entry!r}: {message}")


class InvalidWhitelist(ValueError):
    """Some entries of a whitelist were refused; ``errors`` lists every one, in input order."""

    def __init__(self, errors: Iterable[InvalidWhitelistEntry]) -> None:
        self.errors = tuple(errors)
        super().__init__("; ".join(str(error) for error in self.errors))


@dataclass(frozen=True, slots=True)
class ParsedWhitelist:
    """Normalised, de-duplicated networks and the broad ones that need an approver."""

    networks: tuple[IPNetwork, ...]
    needs_approval: tuple[IPNetwork, ...]

    def as_strings(self) -> tuple[str, ...]:
        """CIDR strings for storage (``NetworkSet.parse`` reads them back)."""
        return tuple(str(network) for network in self.networks)


def _unmap(network: IPNetwork) -> IPNetwork:
    if isinstance(network, IPv6Network) and network.prefixlen >= 96:
        mapped = network.network_address.ipv4_mapped
        if mapped is not None:
            return IPv4Network(f"{mapped}/{network.prefixlen - 96}")
    return network


def _non_public_category(network: IPNetwork) -> str | None:
    if network.prefixlen == 0:
        return "all"
    for special, category in _NON_PUBLIC:
        if special.version == network.version and special.overlaps(network):
            return category
    if isinstance(network, IPv6Network) and not network.subnet_of(_GLOBAL_UNICAST_V6):
        return "reserved"
    return None


def parse_entry(entry: str, environment: str) -> IPNetwork:
    """Parse one whitelist entry for a ``"live"`` or ``"test"`` key, or raise
    :class:`InvalidWhitelistEntry` naming it."""
    if not isinstance(entry, str):
        raise InvalidWhitelistEntry(repr(entry), "must be a string")
    text = entry.strip()
    if not text or len(text) > MAX_ENTRY_LENGTH or not text.isascii():
        raise InvalidWhitelistEntry(
            entry[:MAX_ENTRY_LENGTH], "is not an IP address or a valid CIDR"
        )
    if "%" in text:
        raise InvalidWhitelistEntry(entry, "IPv6 zone ids have no meaning in a whitelist")
    try:
        network = ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        message = str(exc)
        if "host bits set" in message:
            raise InvalidWhitelistEntry(
                entry, "has host bits set; give the network address or a single address"
            ) from None
        raise InvalidWhitelistEntry(entry, "is not an IP address or a valid CIDR") from None
    network = _unmap(network)
    if environment == "live":
        category = _non_public_category(network)
        if category is not None:
            scope = "every address" if category == "all" else f"{category} addresses"
            raise InvalidWhitelistEntry(entry, f"covers {scope}; live keys need public addresses")
    elif environment != "test":
        raise ValueError(f"unknown environment {environment!r}")
    return network


def parse_whitelist(entries: Iterable[str], environment: str) -> ParsedWhitelist:
    """Parse every entry; raise :class:`InvalidWhitelist` listing all bad ones.

    The result is de-duplicated and sorted; ranges broader than /24 or /48 are also listed in
    ``needs_approval``.
    """
    entries = list(entries)
    if len(entries) > MAX_ENTRIES:
        raise InvalidWhitelist(
            [InvalidWhitelistEntry(f"<{len(entries)} entries>", f"at most {MAX_ENTRIES} allowed")]
        )
    networks: set[IPNetwork] = set()
    errors = []
    for entry in entries:
        try:
            networks.add(parse_entry(entry, environment))
        except InvalidWhitelistEntry as error:
            errors.append(error)
    if errors:
        raise InvalidWhitelist(errors)
    ordered = tuple(sorted(networks, key=lambda n: (n.version, n.network_address, n.prefixlen)))
    broad = tuple(n for n in ordered if n.prefixlen < APPROVAL_PREFIX[n.version])
    return ParsedWhitelist(ordered, broad)


def _ipv4_int(text: str) -> int | None:
    """A dotted-quad IPv4 as an integer, as strictly as :mod:`ipaddress` reads it, but faster."""
    match = _DOTTED_QUAD.fullmatch(text)
    if match is None:
        return None
    a, b, c, d = match.groups()
    return int(a) << 24 | int(b) << 16 | int(c) << 8 | int(d)


def parse_ip(value: object) -> IPAddress | None:
    """An address from a string or address object, IPv4-mapped IPv6 unmapped; None if invalid."""
    if isinstance(value, IPv4Address | IPv6Address):
        address = value
    elif isinstance(value, str) and 0 < len(value) <= 45:  # 45: longest textual IPv6
        if ":" not in value:  # the common case, without ipaddress's exception-driven parsing
            as_int = _ipv4_int(value)
            return None if as_int is None else IPv4Address(as_int)
        try:
            address = IPv6Address(value)
        except ValueError:
            return None
    else:
        return None
    if isinstance(address, IPv6Address):
        if address.scope_id is not None:
            return None
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
    return address


class NetworkSet:
    """Networks as merged, sorted integer ranges per IP version, for fast membership tests."""

    __slots__ = ("_starts", "_ends", "networks")

    def __init__(self, networks: Iterable[IPNetwork]) -> None:
        self.networks = tuple(_unmap(network) for network in networks)
        self._starts: dict[int, list[int]] = {4: [], 6: []}
        self._ends: dict[int, list[int]] = {4: [], 6: []}
        for version in (4, 6):
            ranges = sorted(
                (int(n.network_address), int(n.broadcast_address))
                for n in self.networks
                if n.version == version
            )
            for start, end in ranges:
                ends = self._ends[version]
                if ends and start <= ends[-1] + 1:
                    ends[-1] = max(ends[-1], end)
                else:
                    self._starts[version].append(start)
                    ends.append(end)

    @classmethod
    def parse(cls, cidrs: Iterable[str]) -> NetworkSet:
        """Build from stored CIDR strings (already validated at registration; no policy here)."""
        return cls(ipaddress.ip_network(cidr.strip(), strict=False) for cidr in cidrs)

    def __contains__(self, address: IPAddress) -> bool:
        return self.contains_int(address.version, int(address))

    def contains_int(self, version: int, value: int) -> bool:
        """Whether the integer address ``value`` of IP ``version`` (4 or 6) is in the set."""
        index = bisect.bisect_right(self._starts[version], value) - 1
        return index >= 0 and value <= self._ends[version][index]

    def __bool__(self) -> bool:
        return bool(self.networks)

    def __repr__(self) -> str:
        return f"NetworkSet({[str(n) for n in self.networks]})"


def ip_allowed(ip: IPAddress | str, networks: NetworkSet) -> bool:
    """Whether ``ip`` lies in one of ``networks``. Invalid input and an empty set never match."""
    if isinstance(ip, str) and ":" not in ip:
        as_int = _ipv4_int(ip) if len(ip) <= 15 else None
        return as_int is not None and networks.contains_int(4, as_int)
    address = parse_ip(ip)
    return address is not None and address in networks
