"""Host names as the KYB checks need them: normalised, and reduced to the registered domain.

Merchants type websites in every shape (``https://Shop.Example.com.tr./tr``, ``müşteri.com``,
``www.user.github.io``). Registration data (RDAP, WHOIS) exists only for the *registered* domain,
the label just below a public suffix, so every source adapter goes through this module.

The Public Suffix List comes from the snapshot bundled with ``tldextract``: a default
``TLDExtract`` downloads the list at runtime and can hang without internet. Private suffixes
(``github.io``, ``blogspot.com``…) are included so that a site hosted under a shared suffix is
recognised as having no registration of its own.
"""

from __future__ import annotations

import ipaddress
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

import idna
import tldextract

# suffix_list_urls=() and cache_dir=None: bundled snapshot only, no network, no disk cache.
_EXTRACT = tldextract.TLDExtract(
    suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True
)


@dataclass(frozen=True)
class DomainParts:
    """A host split against the Public Suffix List."""

    host: str  # normalised (A-label, lower case, no trailing dot)
    subdomain: str
    label: str  # the registrable label, "" when the host is itself a suffix
    suffix: str  # the public suffix, "" when unknown
    is_private_suffix: bool  # suffix comes from the PSL's private section (github.io…)

    @property
    def registered_domain(self) -> str | None:
        """``label.suffix`` or None when the host has no registrable part."""
        if not self.label or not self.suffix:
            return None
        return f"{self.label}.{self.suffix}"

    def to_dict(self) -> dict:
        """JSON-friendly form."""
        return {**asdict(self), "registered_domain": self.registered_domain}


def host_of(value: str) -> str:
    """Return the host of a URL or bare host name (``https://a.b/c`` → ``a.b``), unnormalised."""
    text = value.strip()
    if "://" not in text:
        text = "//" + text
    host = urlsplit(text).hostname
    if not host:
        raise ValueError(f"no host in {value!r}")
    return host


def normalise_host(host: str) -> str:
    """Return ``host`` as lower-case A-labels without a trailing dot.

    IDN labels are converted with IDNA 2008 / UTS #46 (``müşteri.com`` → ``xn--mteri-…``).
    IP literals are returned in their canonical text form. Raises ``ValueError`` for a host
    that is not a valid DNS name.
    """
    text = host.strip().rstrip(".").strip("[]")
    if not text:
        raise ValueError("empty host name")
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    try:
        return idna.encode(text, uts46=True).decode("ascii").lower()
    except idna.IDNAError as exc:
        raise ValueError(f"invalid host name {host!r}: {exc}") from exc


def split_host(host: str) -> DomainParts:
    """Split a host (or URL) against the bundled Public Suffix List, private section included."""
    name = normalise_host(host_of(host))
    result = _EXTRACT(name)
    if not result.suffix:  # IP literal or unknown TLD
        return DomainParts(name, "", "", "", False)
    return DomainParts(name, result.subdomain, result.domain, result.suffix, result.is_private)


def registered_domain(host: str) -> str | None:
    """The registrable domain of ``host`` (``shop.example.com.tr`` → ``example.com.tr``).

    Returns None for IP literals, unknown TLDs and hosts that are themselves public suffixes.
    Under a private suffix the result is ``user.github.io``: use ``split_host`` to tell.
    """
    return split_host(host).registered_domain


def is_public_suffix(host: str) -> bool:
    """True when ``host`` is itself a public suffix (``com.tr``, ``github.io``)."""
    parts = split_host(host)
    return bool(parts.suffix) and not parts.label
