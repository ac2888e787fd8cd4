"""RDAP adapter: when was a domain registered, and by which registrar.

The registry's RDAP base URL comes from the IANA bootstrap registry for DNS (RFC 9224). A copy
is vendored at ``checks/sources/data/rdap_dns.json`` (see ``data/README.md`` for its origin);
operators point ``KYB_RDAP_BOOTSTRAP`` at a newer file or URL, or run ``refresh_bootstrap``.
The registration date is the ``registration`` event of the domain object (RFC 9083 §4.5).

Expected failures (no RDAP service for the TLD, 404, timeouts, bad JSON) are returned as an
``RdapResult`` with ``error`` set, never raised: the check then reports ``unknown``.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol
from urllib.parse import urljoin, urlsplit

import httpx

from checks.sources.domains import normalise_host
from checks.sources.records import DomainRecord

VENDORED_BOOTSTRAP = Path(__file__).parent / "data" / "rdap_dns.json"
IANA_BOOTSTRAP_URL = "https://data.iana.org/rdap/dns.json"
MAX_RESPONSE_BYTES = 1024 * 1024
MAX_REDIRECTS = 3
EXCERPT_CHARS = 600


class BootstrapError(ValueError):
    """The bootstrap document is missing, unreadable or not shaped like RFC 9224 says."""


@dataclass(frozen=True)
class RdapBootstrap:
    """The TLD → RDAP base URLs map of an IANA bootstrap file."""

    publication: str
    services: Mapping[str, tuple[str, ...]] = field(repr=False)
    origin: str = ""

    @classmethod
    def from_document(cls, document: object, origin: str = "") -> RdapBootstrap:
        """Validate a parsed ``dns.json`` and index it by TLD (lower-case A-labels)."""
        validate_bootstrap(document)
        assert isinstance(document, dict)
        services: dict[str, tuple[str, ...]] = {}
        for tlds, urls in document["services"]:
            for tld in tlds:
                services[tld.lower().rstrip(".")] = tuple(urls)
        return cls(str(document["publication"]), services, origin)

    def base_urls(self, domain: str) -> tuple[str, ...]:
        """Base URLs for ``domain``, https first; the longest matching label suffix wins."""
        labels = domain.lower().rstrip(".").split(".")
        for start in range(len(labels)):
            urls = self.services.get(".".join(labels[start:]))
            if urls:
                return tuple(sorted(urls, key=lambda url: not url.startswith("https://")))
        return ()


def validate_bootstrap(document: object) -> None:
    """Raise ``BootstrapError`` unless ``document`` has RFC 9224's shape."""
    if not isinstance(document, dict):
        raise BootstrapError("bootstrap is not a JSON object")
    if not isinstance(document.get("publication"), str):
        raise BootstrapError("bootstrap has no 'publication' string")
    services = document.get("services")
    if not isinstance(services, list) or not services:
        raise BootstrapError("bootstrap has no 'services' list")
    for entry in services:
        ok = (
            isinstance(entry, list)
            and len(entry) == 2
            and all(isinstance(part, list) and part for part in entry)
            and all(isinstance(item, str) for part in entry for item in part)
        )
        if not ok:
            raise BootstrapError(f"malformed service entry: {str(entry)[:120]}")


def load_bootstrap(
    bootstrap: str | None = None, *, timeout: float = 10.0, allow_http: bool = False
) -> RdapBootstrap:
    """Load the bootstrap from a file path, an http(s) URL, or (None) the vendored copy."""
    if bootstrap is None:
        bootstrap = str(VENDORED_BOOTSTRAP)
    if bootstrap.startswith(("https://", "http://")):
        return RdapBootstrap.from_document(
            json.loads(_download(bootstrap, timeout=timeout, allow_http=allow_http)), bootstrap
        )
    try:
        document = json.loads(Path(bootstrap).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BootstrapError(f"cannot read bootstrap {bootstrap}: {exc}") from exc
    return RdapBootstrap.from_document(document, bootstrap)


def refresh_bootstrap(
    dest_path: str | os.PathLike[str] = VENDORED_BOOTSTRAP,
    url: str = IANA_BOOTSTRAP_URL,
    *,
    timeout: float = 30.0,
    allow_http: bool = False,
) -> RdapBootstrap:
    """Download the bootstrap from ``url``, validate it and replace ``dest_path`` atomically.

    Raises ``BootstrapError`` (invalid document) or ``httpx.HTTPError`` (download failed); the
    existing file is left untouched on any failure. Returns the new bootstrap.
    """
    body = _download(url, timeout=timeout, allow_http=allow_http)
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise BootstrapError(f"bootstrap at {url} is not JSON: {exc}") from exc
    bootstrap = RdapBootstrap.from_document(document, url)
    dest = Path(dest_path)
    fd, tmp = tempfile.mkstemp(prefix=".rdap_dns.", suffix=".tmp", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(body)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return RdapBootstrap(bootstrap.publication, bootstrap.services, str(dest))


def _download(url: str, *, timeout: float, allow_http: bool) -> bytes:
    """GET ``url`` (size-capped, redirects followed only to allowed schemes) and return the body."""
    with httpx.Client(timeout=timeout, follow_redirects=False) as client:
        response = _get(client, url, allow_http=allow_http, accept="application/json")
        response.raise_for_status()
        return response.content


def _get(client: httpx.Client, url: str, *, allow_http: bool, accept: str) -> httpx.Response:
    """GET with at most ``MAX_REDIRECTS`` redirects, never to plain http unless allowed."""
    for _ in range(MAX_REDIRECTS + 1):
        if urlsplit(url).scheme != "https" and not (allow_http and url.startswith("http://")):
            raise httpx.UnsupportedProtocol(f"refusing non-https URL {url}")
        with client.stream("GET", url, headers={"Accept": accept}) as response:
            if response.is_redirect and "location" in response.headers:
                url = urljoin(url, response.headers["location"])
                continue
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_RESPONSE_BYTES:
                    raise httpx.DecodingError(f"response from {url} exceeds {MAX_RESPONSE_BYTES} B")
            return httpx.Response(
                response.status_code, headers=response.headers, content=bytes(body),
                request=response.request,
            )
    raise httpx.TooManyRedirects(f"more than {MAX_REDIRECTS} redirects from {url}")


class RdapResult(DomainRecord):
    """What the registry's RDAP service said about one domain."""


class RdapLookup(Protocol):
    """Anything that can look a registered domain up over RDAP."""

    def lookup(self, domain: str) -> RdapResult: ...


class RdapClient:
    """RDAP domain lookups against the registry named by the bootstrap file."""

    def __init__(
        self,
        bootstrap: str | RdapBootstrap | None = None,
        *,
        timeout: float = 10.0,
        allow_http: bool = False,
    ) -> None:
        """``bootstrap``: a path or URL of ``dns.json`` (None: the vendored copy), or a loaded one.

        ``allow_http`` permits plain-http RDAP servers and redirects (tests only).
        """
        self._bootstrap_source = bootstrap
        self._bootstrap: RdapBootstrap | None = (
            bootstrap if isinstance(bootstrap, RdapBootstrap) else None
        )
        self.timeout = timeout
        self.allow_http = allow_http

    @property
    def bootstrap(self) -> RdapBootstrap:
        """The bootstrap in use, loaded on first use (no I/O at construction)."""
        if self._bootstrap is None:
            source = self._bootstrap_source
            assert not isinstance(source, RdapBootstrap)
            self._bootstrap = load_bootstrap(
                source, timeout=self.timeout, allow_http=self.allow_http
            )
        return self._bootstrap

    def lookup(self, domain: str) -> RdapResult:
        """Look ``domain`` up; every expected failure comes back as ``error`` on the result."""
        try:
            name = normalise_host(domain)
            bases = self.bootstrap.base_urls(name)
        except (BootstrapError, ValueError, httpx.HTTPError) as exc:
            return RdapResult(domain, "error", error=f"rdap: {exc}")
        if not bases:
            return RdapResult(name, "no_service", error="rdap: no RDAP service for this TLD")
        bases = tuple(b for b in bases if self.allow_http or b.startswith("https://"))
        if not bases:
            return RdapResult(name, "no_service", error="rdap: only non-https RDAP services")
        url = urljoin(bases[0] if bases[0].endswith("/") else bases[0] + "/", f"domain/{name}")
        try:
            with httpx.Client(timeout=self.timeout, follow_redirects=False) as client:
                response = _get(
                    client, url, allow_http=self.allow_http, accept="application/rdap+json"
                )
        except httpx.HTTPError as exc:
            return RdapResult(name, "error", server=url, error=f"rdap: {type(exc).__name__}: {exc}")
        return _result_from_response(name, url, response)


def _result_from_response(name: str, url: str, response: httpx.Response) -> RdapResult:
    """Turn an RDAP HTTP response into a result."""
    excerpt = response.text[:EXCERPT_CHARS]
    if response.status_code == 404:
        return RdapResult(name, "not_found", server=url, raw_excerpt=excerpt,
                          error="rdap: domain not found (404)")
    if response.status_code != 200:
        return RdapResult(name, "error", server=url, raw_excerpt=excerpt,
                          error=f"rdap: HTTP {response.status_code}")
    try:
        document = response.json()
    except ValueError:
        return RdapResult(name, "error", server=url, raw_excerpt=excerpt,
                          error="rdap: response is not JSON")
    if not isinstance(document, dict):
        return RdapResult(name, "error", server=url, raw_excerpt=excerpt,
                          error="rdap: response is not an RDAP object")
    registered_at = registration_event(document)
    events = json.dumps(document.get("events", []), ensure_ascii=False)[:EXCERPT_CHARS]
    return RdapResult(
        name,
        "found",
        registered_at=registered_at,
        registrar=registrar_name(document),
        server=url,
        raw_excerpt=events,
        error=None if registered_at else "rdap: no registration event",
    )


def registration_event(document: Mapping) -> datetime | None:
    """The earliest ``registration`` event date of an RDAP domain object, in UTC."""
    dates = []
    for event in document.get("events") or []:
        if not isinstance(event, dict) or event.get("eventAction") != "registration":
            continue
        try:
            when = datetime.fromisoformat(str(event.get("eventDate", "")).replace("Z", "+00:00"))
        except ValueError:
            continue
        dates.append(when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC))
    return min(dates) if dates else None


def registrar_name(document: Mapping) -> str | None:
    """The ``fn`` of the entity with the ``registrar`` role, if any."""
    for entity in document.get("entities") or []:
        if not isinstance(entity, dict) or "registrar" not in (entity.get("roles") or []):
            continue
        vcard = entity.get("vcardArray")
        if isinstance(vcard, list) and len(vcard) == 2 and isinstance(vcard[1], list):
            for prop in vcard[1]:
                if isinstance(prop, list) and len(prop) >= 4 and prop[0] == "fn":
                    return str(prop[3])
        return entity.get("handle")
    return None
