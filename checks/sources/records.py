"""What a registration lookup (RDAP or WHOIS) found about one domain."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True)
class DomainRecord:
    """A registry's answer for one domain: when it was registered, by which registrar, which
    server answered, an excerpt of the raw answer, or the error that prevented it."""

    domain: str
    status: str  # "found" | "not_found" | "no_service" (RDAP only) | "error"
    registered_at: datetime | None = None
    registrar: str | None = None
    server: str | None = None  # the URL or host:port that answered
    raw_excerpt: str | None = None
    error: str | None = None

    @property
    def created_on(self) -> date | None:
        """The registration date (UTC), if known."""
        return self.registered_at.date() if self.registered_at else None

    def to_dict(self) -> dict:
        """JSON-friendly form."""
        return {
            "domain": self.domain,
            "status": self.status,
            "registered_at": self.registered_at.isoformat() if self.registered_at else None,
            "created_on": self.created_on.isoformat() if self.created_on else None,
            "registrar": self.registrar,
            "server": self.server,
            "raw_excerpt": self.raw_excerpt,
            "error": self.error,
        }
