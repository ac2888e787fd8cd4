"""What monitoring scenarios read and return: a merchant's recent transactions, an optional
sector-average fact, and frozen ``ScenarioHit`` results."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from checks.codec import to_jsonable

TransactionType = Literal["sale", "refund", "chargeback"]
SEVERITIES: tuple[str, ...] = ("low", "medium", "high")


@dataclass(frozen=True)
class MonitoredTransaction:
    """One stored transaction as the scenarios see it (aware UTC time, TRY amount)."""

    occurred_at: datetime
    amount_try: Decimal
    type: TransactionType = "sale"
    card_fingerprint: str | None = None
    customer_ref: str | None = None
    client_ip: str | None = None
    description: str | None = None
    transaction_id: str | None = None

    def __post_init__(self) -> None:
        if self.occurred_at.tzinfo is None:
            raise ValueError("occurred_at must be timezone-aware")
        if self.type not in ("sale", "refund", "chargeback"):
            raise ValueError(f"unknown transaction type {self.type!r}")


@dataclass(frozen=True)
class SectorAverage:
    """Average monthly sales turnover of the other merchants of one MCC (R-A7)."""

    mcc: str
    average_monthly_try: Decimal
    peers: int


@dataclass(frozen=True)
class Activity:
    """A merchant's transactions (any order) and, when known, its sector's average."""

    transactions: tuple[MonitoredTransaction, ...]
    sector: SectorAverage | None = None


@dataclass(frozen=True)
class ScenarioHit:
    """A scenario that fired.

    ``dedupe_key`` is unique within one merchant (the application prefixes the merchant id): the
    same hit found again — by the next batch or a re-run — has the same key and opens no second
    alert. ``evidence`` is JSON-compatible and carries the thresholds applied.
    """

    code: str
    subject: str
    summary: str
    evidence: dict[str, Any] = field(default_factory=dict)
    severity: str = "medium"
    dedupe_key: str = ""

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, got {self.severity!r}")
        if not self.dedupe_key:
            raise ValueError("a hit needs a dedupe_key")
        json.dumps(self.evidence, allow_nan=False)


def hit(code: str, policy_severity: str, *, subject: str, summary: str, period: str,
        evidence: dict[str, Any]) -> ScenarioHit:
    """A ``ScenarioHit`` whose dedupe key is ``code:subject:period`` and evidence JSON data."""
    return ScenarioHit(code=code, subject=subject, summary=summary,
                       evidence=to_jsonable(evidence), severity=policy_severity,
                       dedupe_key=f"{code}:{subject}:{period}")
