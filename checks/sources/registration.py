"""Domain registration date for the ``domain_age`` check: RDAP first, WHOIS as the fallback.

The merchant's website is reduced to its registered domain first (``shop.example.com.tr`` →
``example.com.tr``). A site under a shared private suffix (``user.github.io``) or a bare IP has
no registration of its own: the result says so in ``error`` and the check reports ``unknown``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol

from checks.sources.domains import split_host
from checks.sources.rdap import RdapClient, RdapLookup
from checks.sources.whois import WhoisClient, WhoisLookup


@dataclass(frozen=True)
class DomainRegistration:
    """When and through whom a domain was registered, and where that came from."""

    domain: str  # the registered domain that was looked up (or the input when there is none)
    created_on: date | None
    source: str | None  # "rdap" | "whois" | None when neither answered
    registrar: str | None = None
    raw_excerpt: str | None = None
    error: str | None = None
    attempts: tuple[str, ...] = ()  # one line per source tried, for the evidence

    def to_dict(self) -> dict:
        """JSON-friendly form."""
        return {
            "domain": self.domain,
            "created_on": self.created_on.isoformat() if self.created_on else None,
            "source": self.source,
            "registrar": self.registrar,
            "raw_excerpt": self.raw_excerpt,
            "error": self.error,
            "attempts": list(self.attempts),
        }


class RegistrationSource(Protocol):
    """What the ``domain_age`` check needs: a registration record for a website or domain."""

    def lookup(self, domain: str) -> DomainRegistration: ...


class RegistrationLookup:
    """RDAP, then WHOIS when RDAP gives no registration date."""

    def __init__(self, rdap: RdapLookup | None = None, whois: WhoisLookup | None = None) -> None:
        """Defaults: the vendored RDAP bootstrap and python-whois's own server choice."""
        self.rdap = rdap if rdap is not None else RdapClient()
        self.whois = whois if whois is not None else WhoisClient()

    def lookup(self, domain: str) -> DomainRegistration:
        """Look up the registered domain of ``domain`` (a host or URL). Never raises."""
        try:
            parts = split_host(domain)
        except ValueError as exc:
            return DomainRegistration(domain, None, None, error=str(exc))
        name = parts.registered_domain
        if name is None:
            return DomainRegistration(
                parts.host, None, None, error="not a registrable domain (IP, unknown TLD or suffix)"
            )
        if parts.is_private_suffix:
            return DomainRegistration(
                name, None, None,
                error=f"hosted under the shared suffix {parts.suffix}: no registration of its own",
            )
        rdap = self.rdap.lookup(name)
        attempts = (f"rdap: {rdap.status}" + (f" ({rdap.error})" if rdap.error else ""),)
        if rdap.created_on:
            return DomainRegistration(
                name, rdap.created_on, "rdap", rdap.registrar, rdap.raw_excerpt, None, attempts
            )
        whois = self.whois.lookup(name)
        attempts += (f"whois: {whois.status}" + (f" ({whois.error})" if whois.error else ""),)
        if whois.created_on:
            return DomainRegistration(
                name, whois.created_on, "whois", whois.registrar, whois.raw_excerpt, None, attempts
            )
        return DomainRegistration(
            name, None, None,
            registrar=rdap.registrar or whois.registrar,
            raw_excerpt=whois.raw_excerpt or rdap.raw_excerpt,
            error="; ".join(e for e in (rdap.error, whois.error) if e),
            attempts=attempts,
        )


def lookup_registration(
    domain: str, *, rdap: RdapLookup | None = None, whois: WhoisLookup | None = None
) -> DomainRegistration:
    """One-shot ``RegistrationLookup(rdap, whois).lookup(domain)``."""
    return RegistrationLookup(rdap, whois).lookup(domain)
