"""Back URLs of merchant API keys (R-B3): registration and per-request site matching.

A key is bound to the merchant's websites so a stolen token cannot be used from another site.

Registration (``parse_back_url``) stores an *origin* ``scheme://host[:port]``:

* ``https`` only; ``http`` is accepted for test keys.
* The host is IDNA-normalised (UTS46, non-transitional) to lower-case A-labels; one trailing dot
  is dropped. A label mixing Latin, Cyrillic or Greek letters (``shоp.com`` with a Cyrillic
  ``о``) is refused as a likely homograph.
* Userinfo (``user@``), a path beyond ``/``, a query or a fragment is refused rather than dropped,
  so the merchant never believes a path restricts anything.
* A host that is itself a public suffix (``com``, ``co.uk``, ``github.io``) is refused; live keys
  also need a host under a known suffix (so no ``localhost``) and no IP literal. The suffix list
  is tldextract's bundled snapshot, private suffixes included; it is never downloaded.

Request matching (``SiteSet.matches``): the site comes from ``Origin``, else ``Referer``, else
``X-Back-Url``/``back_url`` (``site_from_headers``); ``Origin: null`` is refused. The site matches
when its scheme is https (http only for test keys), its port equals the registered one (default
ports are equivalent to none), and its host equals a registered host or is a subdomain of one on a
label boundary. Backslashes, whitespace, control characters and userinfo are refused outright:
they are where URL parsers disagree (``https://evil.com\\@shop.com``).
"""

from __future__ import annotations

import functools
import ipaddress
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

import idna
import tldextract

from api_keys.results import Failure

MAX_URL_LENGTH = 2048
MAX_BACK_URLS = 32
DEFAULT_PORTS = {"https": 443, "http": 80}
_LDH_HOST = re.compile(r"(?=.{1,253}\Z)(?:(?!-)[a-z0-9-]{1,63}(?<!-)\.)*(?!-)[a-z0-9-]{1,63}(?<!-)")
_BAD_CHARS = re.compile(r"[\x00-\x20\x7f\\]")
_CONFUSABLE_SCRIPTS = frozenset({"LATIN", "CYRILLIC", "GREEK"})


@dataclass(frozen=True, slots=True)
class Site:
    """A parsed web origin. ``host`` is lower-case ASCII; ``port`` None means the default."""

    scheme: str
    host: str
    port: int | None
    is_ip: bool = False

    @property
    def origin(self) -> str:
        """The serialised origin, e.g. ``https://shop.com`` or ``https://[2001:db8::1]:8443``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}" + (f":{self.port}" if self.port else "")


class InvalidBackUrl(ValueError):
    """A back URL was refused at registration; the message names it and says why."""

    def __init__(self, url: str, message: str) -> None:
        self.url = url
        self.message = message
        super().__init__(f"back URL {url!r}: {message}")


class InvalidBackUrls(ValueError):
    """Some back URLs were refused; ``errors`` lists every one, in input order."""

    def __init__(self, errors: Iterable[InvalidBackUrl]) -> None:
        self.errors = tuple(errors)
        super().__init__("; ".join(str(error) for error in self.errors))


@functools.cache
def _suffix_extractor() -> tldextract.TLDExtract:
    # suffix_list_urls=() keeps tldextract on its bundled snapshot: never any network I/O.
    return tldextract.TLDExtract(
        suffix_list_urls=(), include_psl_private_domains=True, cache_dir=None
    )


def _normalise_domain(host: str) -> str | None:
    if host.endswith("."):
        host = host[:-1]
    if host.isascii() and _LDH_HOST.fullmatch(host) and "xn--" not in host:
        return host  # fast path: UTS46 maps plain LDH names to themselves
    try:
        ascii_host = idna.encode(host, uts46=True, transitional=False).decode("ascii")
    except (idna.IDNAError, UnicodeError, ValueError):
        return None
    return ascii_host if _LDH_HOST.fullmatch(ascii_host) else None


def _parse_host(hostname: str) -> tuple[str, bool] | None:
    # Only a host with ':' (IPv6) or ending in a digit can be an IP literal; skipping the attempt
    # otherwise avoids ipaddress's costly exceptions on every domain name.
    if ":" in hostname or hostname[-1:].isdigit():
        try:
            address = ipaddress.ip_address(hostname)
        except ValueError:
            pass
        else:
            if isinstance(address, ipaddress.IPv6Address) and address.scope_id is not None:
                return None
            return str(address), True
    domain = _normalise_domain(hostname)
    return None if domain is None else (domain, False)


def parse_site(url: object) -> Site | Failure:
    """Parse an untrusted URL or origin into a :class:`Site`; path, query and fragment ignored."""
    if not isinstance(url, str) or not url:
        return Failure("missing")
    if len(url) > MAX_URL_LENGTH:  # before the cache: it must never hold huge keys
        return Failure("too_long")
    return _parse_site_text(url)


# A merchant's requests carry the same few sites again and again; parsing (IDNA, urlsplit) is
# the costliest step of a cached verification. Bounded, so unique junk only churns the cache.
@functools.lru_cache(maxsize=4096)
def _parse_site_text(url: str) -> Site | Failure:
    if _BAD_CHARS.search(url):
        return Failure("bad_characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return Failure("malformed")
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        return Failure("scheme")
    if "@" in parts.netloc:
        return Failure("userinfo")
    hostname = parts.hostname
    if not hostname or port == 0:
        return Failure("host")
    host = _parse_host(hostname)
    if host is None:
        return Failure("host")
    return Site(scheme, host[0], None if port == DEFAULT_PORTS[scheme] else port, host[1])


def _mixes_scripts(ascii_host: str) -> bool:
    try:
        labels = idna.decode(ascii_host).split(".")
    except (idna.IDNAError, UnicodeError, ValueError):
        return True
    for label in labels:
        scripts = {unicodedata.name(ch, "?").split(" ")[0] for ch in label if ch.isalpha()}
        if len(scripts & _CONFUSABLE_SCRIPTS) > 1:
            return True
    return False


def _registration_problem(url: str, site: Site, environment: str) -> str | None:
    parts = urlsplit(url)
    if site.scheme == "http" and environment != "test":
        return "live keys need https"
    if parts.path not in ("", "/") or parts.query or parts.fragment or url.endswith(("?", "#")):
        return "register the origin only (scheme://host[:port]); paths are not matched"
    if site.is_ip:
        return "IP literals are not allowed for live keys" if environment != "test" else None
    if "xn--" in site.host and _mixes_scripts(site.host):
        return "a label mixes Latin, Cyrillic or Greek letters (possible homograph)"
    parts_ = _suffix_extractor()(site.host)
    if parts_.suffix and not parts_.domain:
        return "the host is a public suffix, not a website"
    if not parts_.suffix and environment != "test":
        return "the host is not under a known public suffix"
    return None


def parse_back_url(url: str, environment: str) -> Site:
    """Validate a back URL for a ``"live"`` or ``"test"`` key; raise :class:`InvalidBackUrl`."""
    if environment not in ("live", "test"):
        raise ValueError(f"unknown environment {environment!r}")
    text = url.strip() if isinstance(url, str) else url
    site = parse_site(text)
    if not site:
        shown = text[:100] if isinstance(text, str) else repr(text)
        raise InvalidBackUrl(shown, f"is not an http(s) URL with a valid host ({site.reason})")
    problem = _registration_problem(text, site, environment)
    if problem:
        raise InvalidBackUrl(text, problem)
    return site


def parse_back_urls(urls: Iterable[str], environment: str) -> tuple[Site, ...]:
    """Validate every back URL; raise :class:`InvalidBackUrls` listing all bad ones."""
    urls = list(urls)
    if len(urls) > MAX_BACK_URLS:
        raise InvalidBackUrls([InvalidBackUrl(f"<{len(urls)} URLs>", f"at most {MAX_BACK_URLS}")])
    sites: dict[str, Site] = {}
    errors = []
    for url in urls:
        try:
            site = parse_back_url(url, environment)
        except InvalidBackUrl as error:
            errors.append(error)
        else:
            sites.setdefault(site.origin, site)
    if errors:
        raise InvalidBackUrls(errors)
    return tuple(sites.values())


class SiteSet:
    """Registered sites of one key, indexed for label-boundary suffix matching."""

    __slots__ = ("_domains", "_ips", "environment", "sites")

    def __init__(self, sites: Iterable[Site], environment: str) -> None:
        self.sites = tuple(sites)
        self.environment = environment
        self._domains: dict[str, set[int | None]] = {}
        self._ips: dict[str, set[int | None]] = {}
        for site in self.sites:
            index = self._ips if site.is_ip else self._domains
            index.setdefault(site.host, set()).add(site.port)

    @classmethod
    def parse(cls, origins: Iterable[str], environment: str) -> SiteSet:
        """Build from stored origins (validated at registration; re-parsed, not re-judged)."""
        sites = [parse_site(origin) for origin in origins]
        return cls((site for site in sites if site), environment)

    def matches(self, site: Site) -> bool:
        """Whether a request's ``site`` is one of these sites or a subdomain of one."""
        if site.scheme != "https" and not (site.scheme == "http" and self.environment == "test"):
            return False
        if site.is_ip:
            return site.port in self._ips.get(site.host, ())
        host = site.host
        while True:
            ports = self._domains.get(host)
            if ports is not None and site.port in ports:
                return True
            dot = host.find(".")
            if dot < 0:
                return False
            host = host[dot + 1 :]

    def __bool__(self) -> bool:
        return bool(self.sites)

    def __repr__(self) -> str:
        return f"SiteSet({[site.origin for site in self.sites]}, {self.environment!r})"


def site_from_headers(
    origin: str | None, referer: str | None, back_url: str | None
) -> str | Failure:
    """Pick the request's site: ``Origin``, else ``Referer``, else ``X-Back-Url``/``back_url``.

    ``Origin: null`` (sandboxed frames, opaque redirects) is refused without falling back, and
    oversized values are refused before any parsing.
    """
    for header, value in (("origin", origin), ("referer", referer), ("back_url", back_url)):
        if value is None:
            continue
        if len(value) > MAX_URL_LENGTH:
            return Failure("too_long")
        value = value.strip()
        if not value:
            continue
        if header == "origin" and value.lower() == "null":
            return Failure("null_origin")
        return value
    return Failure("missing")


def site_allowed(url: str | Site | Failure, sites: SiteSet) -> bool:
    """Whether the request site ``url`` (raw string, parsed, or a failure) matches ``sites``."""
    site = url if isinstance(url, Site | Failure) else parse_site(url)
    return bool(site) and sites.matches(site)
