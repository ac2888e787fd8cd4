"""Facts the KYB checks decide on.

Adapters (``checks.sources``) and the application gather these; checks only read them. Every fact
is a frozen dataclass that round-trips through JSON (``to_dict``/``from_dict``) so an assessment's
input snapshot can be stored and replayed exactly (R-D4).

A fact that is ``None`` means "the lookup was not made" (or could not be made): the check that
needs it answers ``unknown``, never ``pass``. An empty tuple means "looked, found nothing".
Money is ``Decimal`` with an ISO 4217 currency; datetimes are timezone-aware UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from checks.codec import from_jsonable, to_jsonable


class _JsonFact:
    """Mixin: ``to_dict``/``from_dict`` through :mod:`checks.codec`."""

    def to_dict(self) -> dict[str, Any]:
        """Return the fact as JSON-compatible data."""
        return to_jsonable(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Any:
        """Rebuild the fact from :meth:`to_dict` output; ``ValueError`` names a bad field."""
        return from_jsonable(cls, data)


@dataclass(frozen=True)
class HitExplanation(_JsonFact):
    """Why a screening hit matched, feature by feature (issue #12; birth date, nationality and
    identifiers are on the hit itself).

    ``name_parts`` pair the subject's words with the alias's ("hans = hans", "j ~ joachim
    (initial)", "mohamed ~ mohammed"); ``unmatched`` lists words of either side left over;
    ``method`` names the comparison that gave the score (words, contained, joined, phonetic,
    consonants, initials, subset, acronym, identifier); scripts are the writing systems of
    subject and alias; ``identifier`` says how identifiers (a tax number in clear, an owner's
    national id as a keyed hash) confirm or contradict the hit ("" when either side has none).
    """

    method: str
    name_parts: tuple[str, ...] = ()
    unmatched: tuple[str, ...] = ()
    subject_script: str = "Latin"
    alias_script: str = "Latin"
    weak_alias: bool = False
    identifier: str = ""


@dataclass(frozen=True)
class HitDismissal(_JsonFact):
    """An analyst's "not this person" decision on a hit (issue #12 item 3). ``status`` is
    ``active`` (the hit no longer counts) or ``pending`` (a strong hit awaiting the second,
    different approver: it still counts)."""

    dismissal_id: str
    status: str
    reason: str
    dismissed_by: str
    dismissed_at: datetime
    confirmed_by: str | None = None
    confirmed_at: datetime | None = None


@dataclass(frozen=True)
class ScreeningHit(_JsonFact):
    """One candidate match of a screened name against a sanctions or PEP list entry (R-D2)."""

    kind: str  # "sanctions" | "pep"
    list_name: str  # e.g. "OFAC SDN", "UN Consolidated", "OpenSanctions PEP"
    list_version: str  # publication date or file digest of the loaded list
    entry_id: str  # the list's own id (OFAC ent_num, UN DATAID/REFERENCE_NUMBER, FtM id)
    entry_name: str  # the entry's primary name
    matched_alias: str  # the name or alias of the entry that matched
    subject: str  # the screened name as given
    subject_role: str  # "legal_name" | "trade_name" | "owner"
    score: float  # 0-100, rapidfuzz-based, after normalisation
    birth_date_match: bool | None = None  # None: one side has no birth date
    nationality_match: bool | None = None
    programs: tuple[str, ...] = ()
    # A passport, national id or tax id shared with the entry (issue #12): True shared, False
    # both sides have some and none is shared, None one side has none.
    identifier_match: bool | None = None
    explanation: HitExplanation | None = None  # per feature, from matcher 2 on
    position: str | None = None  # a PEP entry's position(s) (FtM ``position``), R-D2
    dismissal: HitDismissal | None = None  # "not this person", remembered (issue #12 item 3)

    @property
    def dismissed(self) -> bool:
        """An analyst's confirmed "not this person": the hit no longer counts."""
        return self.dismissal is not None and self.dismissal.status == "active"


@dataclass(frozen=True)
class Money(_JsonFact):
    """An amount in an ISO 4217 currency."""

    amount: Decimal
    currency: str


@dataclass(frozen=True)
class IbanFacts(_JsonFact):
    """The payout IBAN and what validating it (schwifty: checksum, length, bank registry) found."""

    iban: str
    valid: bool
    country: str | None = None  # ISO 3166 alpha-2 from the IBAN's first two letters
    bank_code: str | None = None
    error: str | None = None  # why it is invalid, as the validator said


@dataclass(frozen=True)
class DomainRegistration(_JsonFact):
    """When the website's registered domain was created, per RDAP (or WHOIS as fallback)."""

    domain: str
    created_on: date | None  # None: the lookup failed or the registry does not publish it
    source: str | None = None  # "rdap" | "whois"
    error: str | None = None  # the lookup error, when there was one


@dataclass(frozen=True)
class DnsFacts(_JsonFact):
    """DNS records of the website's host (A/AAAA) and of its registered domain (MX)."""

    a: tuple[str, ...] = ()
    aaaa: tuple[str, ...] = ()
    mx: tuple[str, ...] = ()
    error: str | None = None  # resolver failure (timeout, SERVFAIL); NXDOMAIN is no records


@dataclass(frozen=True)
class SitePrice(_JsonFact):
    """One product price found on the merchant's website."""

    amount: Decimal
    currency: str
    source: str  # "jsonld" | "microdata" | "rdfa" | "text"


@dataclass(frozen=True)
class WebsitePrices(_JsonFact):
    """Prices the website shows; ``error`` when the fetch failed."""

    prices: tuple[SitePrice, ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class PriceRange(_JsonFact):
    """The product price range the merchant declared in its application."""

    min: Decimal
    max: Decimal
    currency: str


@dataclass(frozen=True)
class Sale(_JsonFact):
    """One sale transaction, its amount already converted to TRY."""

    occurred_at: datetime
    amount_try: Decimal


@dataclass(frozen=True)
class WindowTurnover(_JsonFact):
    """Sales in a new-merchant window ``[activated_at, activated_at + days)`` (R-A4)."""

    days: int
    turnover_try: Decimal


@dataclass(frozen=True)
class SalesFigures(_JsonFact):
    """The merchant's running figures (``checks.figures``), read instead of the raw sales when
    an assessment is re-judged on ingest: exact window turnovers, the sale count, and the median
    and p90 ticket within ``ticket_accuracy`` (relative). ``includes_verifications`` says
    whether allowed verifications with an amount were counted as sales (policy switch)."""

    as_of: datetime
    windows: tuple[WindowTurnover, ...]
    sales_count: int
    ticket_median_try: Decimal | None
    ticket_p90_try: Decimal | None
    ticket_accuracy: Decimal
    includes_verifications: bool = False


@dataclass(frozen=True)
class TransactionsSummary(_JsonFact):
    """The merchant's sales since activation, from which the checks compute windows and tickets.

    The raw sales (not pre-computed totals) are kept so that window boundaries are exact and an
    assessment can be replayed. ``activated_at`` is ``None`` for a merchant not yet activated.
    An assessment re-judged on ingest carries ``figures`` instead of the raw sales.
    """

    activated_at: datetime | None
    sales: tuple[Sale, ...] = ()
    figures: SalesFigures | None = None


@dataclass(frozen=True)
class Owner(_JsonFact):
    """A shareholder or legal representative of the merchant."""

    full_name: str
    national_id_masked: str | None = None
    birth_date: date | None = None
    nationality: str | None = None  # ISO 3166 alpha-2
    share_pct: Decimal | None = None
    role: str | None = None


@dataclass(frozen=True)
class LinkedMerchant(_JsonFact):
    """Another merchant that shares something with this one."""

    merchant_id: str
    name: str
    status: str  # "applied" | "approved" | "rejected" | "suspended" | ...
    shares: tuple[str, ...]  # "owner" | "iban" | "email" | "phone" | "domain" | "signup_ip"


@dataclass(frozen=True)
class OwnerMerchantCount(_JsonFact):
    """How many merchants (this one included) a person owns or represents."""

    owner_name: str
    merchants: int


@dataclass(frozen=True)
class IdentityConflict(_JsonFact):
    """An owner's national id already on file for a person of another name or birth date: the
    same id cannot be two people, so one of them is not who they claim (issue #13 item 2)."""

    national_id_masked: str | None
    submitted_name: str
    submitted_birth_date: date | None
    on_file_name: str
    on_file_birth_date: date | None
    merchant_ids: tuple[str, ...]


@dataclass(frozen=True)
class SharedOwnership(_JsonFact):
    """Result of the shared-ownership lookup over all merchants."""

    linked: tuple[LinkedMerchant, ...] = ()
    merchants_per_owner: tuple[OwnerMerchantCount, ...] = ()
    identity_conflicts: tuple[IdentityConflict, ...] = ()


@dataclass(frozen=True)
class BlacklistHit(_JsonFact):
    """A merchant attribute found on the institution's blacklist (R-E2)."""

    kind: str  # "iban" | "email" | "phone" | "domain" | "ip" | "national_id" | "device"
    value: str
    reason: str


@dataclass(frozen=True)
class MerchantFacts(_JsonFact):
    """Everything the KYB checks need about one merchant at one moment."""

    merchant_id: str
    legal_name: str
    trade_name: str | None = None
    country: str | None = None  # ISO 3166 alpha-2 of registration
    capital: Money | None = None
    founded_on: date | None = None
    email: str | None = None
    email_domain: str | None = None  # registered domain of the e-mail address (tldextract)
    phone: str | None = None
    website: str | None = None
    website_domain: str | None = None  # registered domain of the website (tldextract)
    iban: IbanFacts | None = None
    iban_changes: tuple[datetime, ...] | None = None  # when the payout IBAN was changed
    domain_registration: DomainRegistration | None = None
    dns: DnsFacts | None = None
    website_prices: WebsitePrices | None = None
    declared_prices: PriceRange | None = None
    transactions: TransactionsSummary | None = None
    owners: tuple[Owner, ...] = ()
    shared_ownership: SharedOwnership | None = None
    screening_hits: tuple[ScreeningHit, ...] = ()
    screened_lists: tuple[str, ...] = ()  # "OFAC SDN@2026-11-20"...; empty: lists not loaded
    # The screened lists holding sanctions / PEP entries (subsets of screened_lists); None: not
    # recorded (facts gathered before list kinds were), judged as before (issue #13 item 7).
    sanctions_lists: tuple[str, ...] | None = None
    pep_lists: tuple[str, ...] | None = None
    # Version of the name matcher that produced screening_hits (checks.screening.matcher); None
    # in snapshots taken before it was recorded, which were all made by matcher 1.
    screening_matcher: int | None = None
    email_disposable: bool | None = None
    blacklist_hits: tuple[BlacklistHit, ...] | None = None
