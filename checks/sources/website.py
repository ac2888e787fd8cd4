"""SSRF-safe fetch of a merchant's website, and the prices it shows (R-A5).

The URL comes from a merchant, so it is hostile input. Every hop (the first request and each
redirect, followed by hand) is checked before any connection: http(s) only, standard ports, no
credentials, and *every* address the host resolves to must be public — no private, loopback,
link-local, CGNAT, multicast, reserved, unspecified or cloud-metadata address, including IPv4
embedded in IPv6. The connection then goes to the vetted IP itself (``Host`` header and TLS SNI
keep the name), so a second DNS answer cannot swap it (DNS rebinding). The body is streamed and
capped, and the whole fetch has one deadline.

``allow_private=True`` (``KYB_FETCH_ALLOW_PRIVATE=1``) lets tests reach 127.0.0.1 on any port;
metadata, multicast, reserved and unspecified addresses stay refused even then.
"""

from __future__ import annotations

import hashlib
import ipaddress
import socket
import ssl
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import httpx

from checks.sources.dns import DnsLookup
from checks.sources.domains import normalise_host
from checks.sources.prices import Price, extract_prices

DEFAULT_MAX_BYTES = 2 * 1024 * 1024
DEFAULT_MAX_REDIRECTS = 5
STANDARD_PORTS = frozenset({80, 443})
HTML_TYPES = ("text/html", "application/xhtml+xml")
USER_AGENT = "kybgate-website-check/1.0 (+merchant onboarding review)"
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "168.63.129.16")
)
CGNAT = ipaddress.ip_network("100.64.0.0/10")
NAT64 = ipaddress.ip_network("64:ff9b::/96")
# IANA special-purpose IPv6 blocks that Python's ``is_global`` still calls global (Python
# 3.11): deprecated site-local (RFC 3879), discard-only (RFC 6666), documentation (RFC 3849)
# and Teredo/ORCHID ranges of 2001::/23 — never a merchant's web server.
NON_GLOBAL_V6 = tuple(ipaddress.ip_network(n) for n in (
    "fec0::/10", "100::/64", "2001:db8::/32", "2001::/23", "3fff::/20", "5f00::/16"))


def address_refusal(address: str, *, allow_private: bool = False) -> str | None:
    """Why the fetcher must not connect to ``address``, or None when it may."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            reason = address_refusal(str(embedded), allow_private=allow_private)
            return f"{reason} (embedded in {ip})" if reason else None
    for refused, reason in (
        (ip in METADATA_ADDRESSES, "cloud metadata address"),
        (ip.is_multicast, "multicast address"),
        (ip.is_unspecified, "unspecified address"),
        (ip.is_reserved and not ip.is_loopback, "reserved address"),  # ::1 sits in ::/8
    ):
        if refused:
            return reason
    if allow_private:
        return None
    for refused, reason in (
        (ip.is_loopback, "loopback address"),
        (ip.is_link_local, "link-local address"),
        (ip.version == 4 and ip in CGNAT, "carrier-grade NAT address"),
        (ip.is_private, "private address"),
        (ip.version == 6 and ip.is_site_local, "site-local address"),
        (ip.version == 6 and any(ip in net for net in NON_GLOBAL_V6),
         "special-purpose address"),
        (not ip.is_global, "address not globally routable"),
    ):
        if refused:
            return reason
    return None


def system_resolve(host: str) -> tuple[str, ...]:
    """All addresses ``getaddrinfo`` gives for ``host`` (raises ``OSError`` on failure)."""
    infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return tuple(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class WebPage:
    """The outcome of fetching one merchant URL."""

    url: str
    final_url: str | None = None
    status_code: int | None = None
    content_type: str | None = None
    address: str | None = None  # the vetted IP the last hop connected to
    redirects: tuple[str, ...] = ()
    body: bytes = field(default=b"", repr=False)
    error_kind: str | None = None  # refused | dns | timeout | too_large | redirects | http | ...
    error: str | None = None

    @property
    def text(self) -> str:
        """The body decoded with the declared charset (UTF-8 otherwise, errors replaced)."""
        charset = "utf-8"
        for part in (self.content_type or "").split(";")[1:]:
            key, _, value = part.strip().partition("=")
            if key.lower() == "charset" and value:
                charset = value.strip("\"'")
        try:
            return self.body.decode(charset, errors="replace")
        except LookupError:
            return self.body.decode("utf-8", errors="replace")

    def to_dict(self) -> dict:
        """JSON-friendly form: the body is summarised by its size and SHA-256."""
        return {
            "url": self.url,
            "final_url": self.final_url,
            "status_code": self.status_code,
            "content_type": self.content_type,
            "address": self.address,
            "redirects": list(self.redirects),
            "body_bytes": len(self.body),
            "body_sha256": hashlib.sha256(self.body).hexdigest() if self.body else None,
            "error_kind": self.error_kind,
            "error": self.error,
        }


@dataclass(frozen=True)
class WebsitePrices:
    """Prices found on a merchant's page, with the fetch that produced them."""

    url: str
    page: WebPage
    prices: tuple[Price, ...] = ()
    errors: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        """JSON-friendly form."""
        return {
            "url": self.url,
            "page": self.page.to_dict(),
            "prices": [p.to_dict() for p in self.prices],
            "errors": list(self.errors),
        }


class WebsiteSource(Protocol):
    """What the ``price_ticket_mismatch`` check needs from a merchant website."""

    def prices(self, url: str) -> WebsitePrices: ...


class _Refused(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


#: A URL the SSRF policy refuses (``kind``: refused, dns, invalid_url, ...), for callers that
#: vet a URL with :meth:`WebsiteFetcher.vet` and connect themselves (webhook deliveries).
FetchRefused = _Refused


class WebsiteFetcher:
    """Fetches merchant pages under the SSRF policy described in the module docstring."""

    def __init__(
        self,
        *,
        allow_private: bool = False,
        allowed_ports: Collection[int] | None = None,
        resolver: DnsLookup | Callable[[str], Sequence[str]] | None = None,
        timeout: float = 5.0,
        total_timeout: float = 15.0,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_redirects: int = DEFAULT_MAX_REDIRECTS,
        verify: bool | ssl.SSLContext = True,
    ) -> None:
        """``allowed_ports`` None means 80/443, or any port when ``allow_private`` is set.

        ``resolver``: a ``DnsLookup`` (e.g. ``DnsClient`` honouring ``KYB_DNS_NAMESERVERS``), a
        callable host → addresses, or None for the system resolver. ``timeout`` bounds each
        connect/read, ``total_timeout`` the whole fetch including redirects.
        """
        self.allow_private = allow_private
        if allowed_ports is None:
            self.allowed_ports: frozenset[int] | None = None if allow_private else STANDARD_PORTS
        else:
            self.allowed_ports = frozenset(allowed_ports)
        self._resolver = resolver
        self.timeout = timeout
        self.total_timeout = total_timeout
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.verify = verify

    def fetch(self, url: str) -> WebPage:
        """GET ``url`` following up to ``max_redirects`` vetted redirects. Never raises."""
        deadline = time.monotonic() + self.total_timeout
        redirects: list[str] = []
        current = url
        try:
            with httpx.Client(verify=self.verify, follow_redirects=False, trust_env=False) as http:
                for _ in range(self.max_redirects + 1):
                    page, location = self._hop(http, url, current, tuple(redirects), deadline)
                    if location is None:
                        return page
                    redirects.append(location)
                    current = location
        except _Refused as exc:
            return WebPage(url, current, redirects=tuple(redirects), error_kind=exc.kind,
                           error=str(exc))
        return WebPage(url, current, redirects=tuple(redirects), error_kind="redirects",
                       error=f"more than {self.max_redirects} redirects")

    def prices(self, url: str) -> WebsitePrices:
        """Fetch ``url`` and extract schema.org prices, or visible price text as a fallback."""
        page = self.fetch(url)
        if page.error:
            return WebsitePrices(url, page, errors=(f"{page.error_kind}: {page.error}",))
        prices, errors = extract_prices(page.text, page.final_url or url)
        return WebsitePrices(url, page, prices, errors)

    def _hop(
        self, http: httpx.Client, original: str, url: str, redirects: tuple[str, ...],
        deadline: float,
    ) -> tuple[WebPage, str | None]:
        """One vetted request; returns the page, or the next absolute URL for a redirect."""
        target, host, address = self.vet(url)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _Refused("timeout", "total time limit reached")
        request = http.build_request(
            "GET",
            target.copy_with(host=address),
            headers={"Host": host_header(target), "User-Agent": USER_AGENT,
                     "Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1"},
            timeout=httpx.Timeout(min(self.timeout, remaining)),
            extensions={"sni_hostname": host} if target.scheme == "https" else {},
        )
        try:
            response = http.send(request, stream=True)
        except httpx.TimeoutException as exc:
            raise _Refused("timeout", f"{type(exc).__name__} fetching {url}") from exc
        except httpx.HTTPError as exc:
            raise _Refused("connect", f"{type(exc).__name__}: {exc}") from exc
        try:
            if response.is_redirect and response.headers.get("location"):
                return WebPage(original), str(target.join(response.headers["location"]))
            body = self._read(response, deadline)
        finally:
            response.close()
        page = WebPage(
            original, str(target), response.status_code, response.headers.get("content-type"),
            address, redirects, body,
        )
        return _judged(page), None

    def vet(self, url: str) -> tuple[httpx.URL, str, str]:
        """Check scheme, port, credentials and every resolved address; return the URL, its
        host and the IP to pin (raises :data:`FetchRefused`)."""
        try:
            target = httpx.URL(url)
        except httpx.InvalidURL as exc:
            raise _Refused("invalid_url", f"invalid URL {url!r}: {exc}") from exc
        if target.scheme not in ("http", "https"):
            raise _Refused("refused", f"scheme {target.scheme!r} is not allowed")
        try:
            host = normalise_host(target.host)
        except ValueError as exc:
            raise _Refused("invalid_url", f"invalid URL {url!r}: {exc}") from exc
        port = target.port or (443 if target.scheme == "https" else 80)
        if self.allowed_ports is not None and port not in self.allowed_ports:
            raise _Refused("refused", f"port {port} is not allowed")
        if target.userinfo:
            raise _Refused("refused", "credentials in URL are not allowed")
        addresses = self._resolve(host)
        for address in addresses:
            reason = address_refusal(address, allow_private=self.allow_private)
            if reason:
                shown = address if address == host else f"{host} resolves to {address}"
                raise _Refused("refused", f"{shown}: {reason}")
        return target.copy_with(host=host), host, addresses[0]

    def _resolve(self, host: str) -> tuple[str, ...]:
        try:
            ipaddress.ip_address(host)
            return (host,)
        except ValueError:
            pass
        if self._resolver is None:
            try:
                addresses = system_resolve(host)
            except OSError as exc:
                raise _Refused("dns", f"cannot resolve {host}: {exc}") from exc
        elif callable(self._resolver) and not hasattr(self._resolver, "lookup"):
            addresses = tuple(self._resolver(host))
        else:
            records = self._resolver.lookup(host, ("A", "AAAA"))  # type: ignore[union-attr]
            if records.errors and not records.addresses:
                raise _Refused("dns", f"cannot resolve {host}: {records.errors[0].kind}")
            addresses = records.addresses
        if not addresses:
            raise _Refused("dns", f"{host} has no address")
        return addresses

    def _read(self, response: httpx.Response, deadline: float) -> bytes:
        """Stream the (decoded) body, refusing more than ``max_bytes`` or past the deadline."""
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise _Refused("too_large", f"declared size {declared} B exceeds {self.max_bytes} B")
        body = bytearray()
        try:
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > self.max_bytes:
                    raise _Refused("too_large", f"body exceeds {self.max_bytes} B")
                if time.monotonic() > deadline:
                    raise _Refused("timeout", "total time limit reached while reading")
        except httpx.TimeoutException as exc:
            raise _Refused("timeout", f"{type(exc).__name__} while reading") from exc
        except httpx.HTTPError as exc:
            raise _Refused("connect", f"{type(exc).__name__}: {exc}") from exc
        return bytes(body)


def host_header(url: httpx.URL) -> str:
    """The ``Host`` header of ``url`` (with the port only when not the default)."""
    default = 443 if url.scheme == "https" else 80
    host = f"[{url.host}]" if ":" in url.host else url.host
    return host if url.port in (None, default) else f"{host}:{url.port}"


def _judged(page: WebPage) -> WebPage:
    """Mark a non-200 or non-HTML final page as an error."""
    kind, error = None, None
    if page.status_code != 200:
        kind, error = "http", f"HTTP {page.status_code}"
    elif not (page.content_type or "").lower().startswith(HTML_TYPES):
        kind, error = "not_html", f"content type {page.content_type!r} is not HTML"
    if kind is None:
        return page
    return WebPage(page.url, page.final_url, page.status_code, page.content_type, page.address,
                   page.redirects, page.body, kind, error)
