"""What monitoring scenarios read and return: a merchant's recent transactions, an optional
sector-average fact, frozen ``ScenarioHit`` results and, when a scenario could not judge, an
``Insufficient`` answer with the reason (``Judgement`` is one scenario's verdict)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from checks.codec import to_jsonable
from checks.wording import Says

TransactionType = Literal["sale", "refund", "chargeback", "transfer"]
TRANSACTION_TYPES: tuple[str, ...] = ("sale", "refund", "chargeback", "transfer")
SEVERITIES: tuple[str, ...] = ("low", "medium", "high")
STATUSES: tuple[str, ...] = ("hit", "clear", "insufficient_data")


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
    # Payment-account fields (R-C10); e-mail and phone only as keyed HMAC digests.
    account_ref: str | None = None
    account_opened_at: datetime | None = None
    account_type: str | None = None  # "personal" | "business"
    account_holder_birth_year: int | None = None
    counterparty_ref: str | None = None
    account_email_hash: str | None = None
    account_phone_hash: str | None = None
    phone_country: str | None = None
    ip_country: str | None = None

    def __post_init__(self) -> None:
        if self.occurred_at.tzinfo is None:
            raise ValueError("occurred_at must be timezone-aware")
        if self.type not in TRANSACTION_TYPES:
            raise ValueError(f"unknown transaction type {self.type!r}")
        if self.account_opened_at is not None and self.account_opened_at.tzinfo is None:
            raise ValueError("account_opened_at must be timezone-aware")


@dataclass(frozen=True)
class SectorAverage:
    """Average monthly sales turnover of the other merchants of one MCC (R-A7), and the
    merchant's own over the same days when the application read it from its figures."""

    mcc: str
    average_monthly_try: Decimal
    peers: int
    own_try: Decimal | None = None


@dataclass(frozen=True)
class IdentityUse:
    """The payment accounts one e-mail or phone digest was used with over the reuse window
    (all merchants of the institution), with the first time each was seen (R-C10)."""

    kind: Literal["email", "phone"]
    digest: str
    accounts: tuple[tuple[str, datetime], ...]


@dataclass(frozen=True)
class Activity:
    """A merchant's transactions (any order) and, when known, its sector's average, its MCC
    and the reuse of the e-mails/phones its recent transactions carry (``None``: not loaded)."""

    transactions: tuple[MonitoredTransaction, ...]
    sector: SectorAverage | None = None
    mcc: str | None = None
    identities: tuple[IdentityUse, ...] | None = None


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
    # The earliest transaction (or API call) behind the hit: the R-C1 3-hour clock runs from it.
    occurred_at: datetime | None = None
    # ``summary``'s English template and values (``checks.wording``), from which the console
    # writes it in the reader's language; ``None`` for a summary with no template.
    wording: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, got {self.severity!r}")
        if not self.dedupe_key:
            raise ValueError("a hit needs a dedupe_key")
        if self.occurred_at is not None and self.occurred_at.tzinfo is None:
            raise ValueError("occurred_at must be timezone-aware")
        json.dumps(self.evidence, allow_nan=False)


def hit(code: str, policy_severity: str, *, subject: str, summary: Says, period: str,
        evidence: dict[str, Any], occurred_at: datetime | None = None) -> ScenarioHit:
    """A ``ScenarioHit`` whose dedupe key is ``code:subject:period`` and evidence JSON data;
    ``summary`` is a sentence with its template (``checks.wording.says``) and ``occurred_at``
    the earliest transaction behind it."""
    return ScenarioHit(code=code, subject=subject, summary=summary.text(),
                       evidence=to_jsonable(evidence), severity=policy_severity,
                       dedupe_key=f"{code}:{subject}:{period}", occurred_at=occurred_at,
                       wording=summary.to_dict())


def earliest(transactions: Iterable[MonitoredTransaction]) -> datetime | None:
    """The time of the earliest of ``transactions`` (``None`` when there are none)."""
    return min((t.occurred_at for t in transactions), default=None)


class Insufficient(tuple):
    """A scenario's answer when it could not judge: no hits, and ``reason`` says why.

    It is an empty tuple, so code that only wants the hits treats it as "no hits"; ``judge``
    reports it as ``insufficient_data``."""

    reason: str

    def __new__(cls, reason: str) -> Insufficient:
        if not reason:
            raise ValueError("insufficient data needs a reason")
        self = super().__new__(cls, ())
        self.reason = reason
        return self


@dataclass(frozen=True)
class Judgement:
    """One scenario's verdict at one instant: ``hit`` (with its hits), ``clear`` or
    ``insufficient_data`` (with ``reason``)."""

    code: str
    status: str
    reason: str = ""
    hits: tuple[ScenarioHit, ...] = ()

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")
        if self.status == "insufficient_data" and not self.reason:
            raise ValueError("insufficient_data needs a reason")
        if (self.status == "hit") != bool(self.hits):
            raise ValueError("a hit judgement carries hits, the others none")
