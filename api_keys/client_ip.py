"""The client address of a request, believing forwarding headers only from trusted proxies.

``X-Forwarded-For`` is a list each proxy appends to; anything left of the last proxy we trust was
written by the client. So the list is walked right to left, skipping hops inside
``trusted_proxies``, and the first hop outside them is the client. Decisions:

* Headers are ignored unless the socket peer itself is a trusted proxy.
* A header longer than ``MAX_HEADER_LENGTH`` or with more than ``MAX_HOPS`` entries is refused
  before it is split further (a real chain is a handful of hops).
* A garbage entry reached during the walk means a trusted proxy passed on something it did not
  write; the request is refused rather than falling back to a proxy's own address, which could
  otherwise end up matched against a whitelist.
* When every hop is trusted, the left-most is the client (an internal caller).
* ``X-Real-IP`` is used only when ``X-Forwarded-For`` is absent; it must hold one address.
* Entries may carry a port (``203.0.113.7:5000``, ``[2001:db8::1]:443``); IPv4-mapped IPv6 is
  unmapped. Repeated ``X-Forwarded-For`` headers must be joined with ``,`` in order by the caller.
"""

from __future__ import annotations

import ipaddress

from api_keys.results import Failure
from api_keys.whitelist import IPAddress, NetworkSet, parse_ip

MAX_HEADER_LENGTH = 1024
MAX_HOPS = 20


def _parse_hop(entry: str) -> IPAddress | None:
    entry = entry.strip()
    address = parse_ip(entry)
    if address is not None:
        return address
    if entry.startswith("["):  # [v6]:port
        host, _, port = entry[1:].partition("]:")
    elif entry.count(":") == 1:  # v4:port
        host, _, port = entry.partition(":")
    else:
        return None
    if not port.isdigit() or len(port) > 5:
        return None
    address = parse_ip(host)
    if isinstance(address, ipaddress.IPv6Address) and not entry.startswith("["):
        return None
    return address


def _walk(hops: list[str], trusted_proxies: NetworkSet) -> IPAddress | Failure:
    address: IPAddress | None = None
    for entry in reversed(hops):
        address = _parse_hop(entry)
        if address is None:
            return Failure("garbage_forwarded_for")
        if address not in trusted_proxies:
            return address
    if address is None:
        return Failure("garbage_forwarded_for")
    return address  # every hop trusted: the left-most one is the client


def resolve_client_ip(
    peer: IPAddress | str,
    x_forwarded_for: str | None,
    x_real_ip: str | None,
    trusted_proxies: NetworkSet,
) -> IPAddress | Failure:
    """Return the client's address, or a :class:`Failure` when it cannot be trusted.

    ``peer`` is the socket peer; the headers are believed only when it is in ``trusted_proxies``.
    """
    peer_address = parse_ip(peer)
    if peer_address is None:
        return Failure("bad_peer")
    if peer_address not in trusted_proxies:
        return peer_address
    for header in (x_forwarded_for, x_real_ip):
        if header is not None and len(header) > MAX_HEADER_LENGTH:
            return Failure("header_too_large")
    if x_forwarded_for and x_forwarded_for.strip():
        if x_forwarded_for.count(",") >= MAX_HOPS:
            return Failure("too_many_hops")
        return _walk(x_forwarded_for.split(","), trusted_proxies)
    if x_real_ip and x_real_ip.strip():
        address = _parse_hop(x_real_ip)
        return address if address is not None else Failure("garbage_real_ip")
    return peer_address
