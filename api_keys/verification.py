"""The per-request decision: may this token be used for this request, now?

``verify`` is pure: the caller resolves the client IP (``client_ip``), picks the request's site
(``backurls.site_from_headers``), loads the :class:`KeyRecord` (``cache``) and the merchant's
spend today, and audits the :class:`Decision`. Checks run in this order; the first failure wins:

1. ``invalid_token`` — shape and checksum (no lookup), environment not accepted on this
   deployment, no record, record for another key id or environment, HMAC mismatch.
   Nothing about the key is revealed before the HMAC matches.
2. ``key_revoked`` — terminal: revoked by an operator. Wins over every state below, so a revoked
   key that is also frozen reports ``key_revoked`` (unfreezing would not bring it back).
3. ``key_expired`` — terminal: past ``expires_at`` or, for a rotated old token, past
   ``grace_until``. The grace ended on schedule, so this is expiry, not revocation.
4. ``key_frozen`` — the merchant's kill switch (R-E1), reversible.
5. ``merchant_not_active`` — the merchant is suspended or no longer approved.
6. ``key_not_yet_active`` — inside the activation delay of a new key (R-E7); resolves by itself.
7. ``blacklisted`` — an attribute of the request (client IP or its CIDR, card fingerprint,
   customer ref, e-mail, phone, device id) is on the institution's blacklist (R-E2). Judged
   once the token is authentic and its key usable, so the hit is attributed to a merchant (and
   alerted); and before the whitelist, back URL and limits, so that a blacklisted attribute is
   reported as such even when another rule would refuse the request too.
8. ``ip_not_allowed`` — no resolvable client IP, an empty whitelist, or an IP outside it (R-B1).
9. ``back_url_mismatch`` — no usable site, no registered back URL, or a site that does not match
   (R-B3).
10. ``limit_exceeded`` — operation not allowed; for a key with amount limits, an amount that is
   negative or not finite, in another currency than the limits', above the per-transaction limit,
   or taking today's spend above the daily limit (R-E5); for a live key, an amount above the
   merchant's per-transaction cap (converted to the caps' currency at the policy's rate; a
   currency without a rate cannot be judged and is refused). Reaching a limit exactly is
   allowed; a request without an amount is a non-monetary operation and only the operation is
   checked.

Running totals (daily and monthly) are not judged here unless the caller passes the key's
``daily_spent``: an allowed decision carries one :class:`~api_keys.limits.Charge` per total, and
whoever stores the decision must check and add them atomically (``app.services.spend`` does,
under the audit chain lock), turning the decision into ``limit_exceeded`` if one does not fit.

All time windows are half-open: a key works from ``activates_at`` inclusive until
``expires_at``/``grace_until`` exclusive.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal

from api_keys.backurls import Site, SiteSet, site_allowed
from api_keys.blacklist import BlacklistIndex, BlacklistMatch, BlacklistProbe
from api_keys.limits import (
    Charge,
    Limits,
    MerchantCaps,
    convert,
    in_force,
    payment_amount_problem,
    period_key,
    plain_amount,
)
from api_keys.results import Failure
from api_keys.tokens import ParsedToken, Peppers, parse, token_matches
from api_keys.whitelist import IPAddress, NetworkSet, ip_allowed

REASONS = (
    "ok",
    "invalid_token",
    "key_revoked",
    "key_expired",
    "key_not_yet_active",
    "key_frozen",
    "merchant_not_active",
    "ip_not_allowed",
    "back_url_mismatch",
    "limit_exceeded",
    "blacklisted",
)
MAX_GRACE_SECONDS = 24 * 3600
_DUMMY_HASH = "0" * 64


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """What the application stores about one token, as ``verify`` needs it."""

    key_id: str
    merchant_id: str
    environment: str  # "live" | "test"
    token_hash: str = field(repr=False)
    pepper_version: int
    status: str  # "active" | "revoked"
    activates_at: datetime
    networks: NetworkSet
    back_urls: SiteSet
    limits: Limits = Limits()
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    grace_until: datetime | None = None  # end of a rotated old token's grace period
    frozen: bool = False  # the merchant's kill switch
    merchant_active: bool = True
    raised_limits: Limits | None = None  # a requested increase, in force from raised_from
    raised_from: datetime | None = None
    caps: MerchantCaps | None = None  # the merchant's caps (live keys)


@dataclass(frozen=True, slots=True)
class VerificationRequest:
    """One request to decide on. ``client_ip`` and ``site`` may be failures from their parsers.

    ``token`` is the presented string, or the :class:`ParsedToken` the caller already got from
    ``tokens.parse`` to find the key id (so it is not parsed twice).
    """

    token: str | ParsedToken
    client_ip: IPAddress | str | Failure | None
    site: str | Site | Failure | None
    operation: str | None = None
    amount: Decimal | None = None
    currency: str | None = None
    probe: BlacklistProbe | None = None  # the attributes the blacklist is consulted on

    def __repr__(self) -> str:
        return f"VerificationRequest(client_ip={self.client_ip!r}, site={self.site!r}, ...)"


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer: truthy when allowed. ``key_id``/``merchant_id`` only once the HMAC matched."""

    allowed: bool
    reason: str
    key_id: str | None = None
    merchant_id: str | None = None
    charges: tuple[Charge, ...] = ()  # running totals to check and add when stored
    limit: str | None = None  # which limit refused the request, in words
    blacklist: BlacklistMatch | None = None  # the entry behind ``blacklisted``

    def __bool__(self) -> bool:
        return self.allowed


def _authenticate(
    request: VerificationRequest,
    record: KeyRecord | None,
    peppers: Peppers,
    accept_test_keys: bool,
    accept_live_keys: bool,
) -> KeyRecord | None:
    token = request.token
    parsed = token if isinstance(token, ParsedToken) else parse(token)
    if not parsed:
        return None
    accepted = accept_test_keys if parsed.environment == "test" else accept_live_keys
    if record is None:
        # Spend the same HMAC as a hit, so timing does not reveal which key ids exist.
        token_matches(parsed.token, _DUMMY_HASH, peppers.current, peppers)
        return None
    if record.key_id != parsed.key_id or record.environment != parsed.environment:
        return None
    matches = token_matches(parsed.token, record.token_hash, record.pepper_version, peppers)
    return record if matches and accepted else None


def _state_reason(record: KeyRecord, now: datetime) -> str | None:
    if record.status != "active" or (record.revoked_at is not None and record.revoked_at <= now):
        return "key_revoked"
    if record.expires_at is not None and now >= record.expires_at:
        return "key_expired"
    if record.grace_until is not None and now >= record.grace_until:
        return "key_expired"
    if record.frozen:
        return "key_frozen"
    if not record.merchant_active:
        return "merchant_not_active"
    if now < record.activates_at:
        return "key_not_yet_active"
    return None


def _money(value: Decimal, currency: str | None) -> str:
    return f"{plain_amount(value)} {currency or ''}".strip()


def _judge_limits(request: VerificationRequest, record: KeyRecord, limits: Limits,
                  rates: Mapping[str, Decimal] | None, daily_spent: Decimal | None
                  ) -> tuple[str | None, tuple[Charge, ...]]:
    """(the limit that refuses the request, in words, or None; the running-total charges)."""
    if limits.allowed_operations is not None and request.operation not in limits.allowed_operations:
        return f"operation {request.operation or '(none)'} is not allowed for this key", ()
    caps = record.caps
    amount = request.amount
    if amount is not None and (problem := payment_amount_problem(amount)):
        return problem, ()  # judged even without limits: nothing unbounded is let through
    if amount is None or not (limits.has_amounts or caps is not None):
        return None, ()  # a non-monetary operation; the gateway sends every monetary amount
    charges = []
    if limits.has_amounts:
        if request.currency != limits.currency:  # no exchange rates for a key's own limits
            return f"the key's limits are in {limits.currency}, not {request.currency}", ()
        if limits.max_amount_per_tx is not None and amount > limits.max_amount_per_tx:
            return ("key per-transaction limit "
                    f"{_money(limits.max_amount_per_tx, limits.currency)}"), ()
        if limits.daily_amount is not None:
            charge = Charge(f"key:{record.key_id}", "day", limits.currency or "", amount,
                            limits.daily_amount)
            if daily_spent is not None and not charge.fits(daily_spent):
                return f"key daily limit {_money(limits.daily_amount, limits.currency)}", ()
            charges.append(charge)
    if caps is not None:
        base = convert(amount, request.currency, caps.currency, rates)
        if base is None:
            return f"no exchange rate for {request.currency} to judge the merchant's limits", ()
        if caps.per_transaction is not None and base > caps.per_transaction:
            return (f"merchant per-transaction limit {_money(caps.per_transaction, caps.currency)}"
                    f" ({caps.source})"), ()
        for period, limit in (("day", caps.daily), ("month", caps.monthly)):
            if limit is not None:
                charges.append(Charge(f"merchant:{record.merchant_id}", period, caps.currency,
                                      base, limit))
    return None, tuple(charges)


def verify(
    request: VerificationRequest,
    record: KeyRecord | None,
    now: datetime,
    peppers: Peppers,
    accept_test_keys: bool,
    accept_live_keys: bool = True,
    daily_spent: Decimal | None = None,
    rates: Mapping[str, Decimal] | None = None,
    zone: tzinfo = UTC,
    blacklist: BlacklistIndex | None = None,
) -> Decision:
    """Decide on ``request`` with the stored ``record`` (None if no key has the token's id).

    ``now`` must be timezone-aware. ``rates`` (currency → caps' currency per unit, from the
    policy) convert amounts for the merchant's caps; ``zone`` is the calendar of daily and
    monthly totals (the policy's ``limit_timezone``). ``daily_spent``, if given, is the key's
    accepted amount so far today in the limits' currency, and the key's daily limit is judged
    here too. ``blacklist`` is matched against ``request.probe``. See the module docstring
    for the order of checks.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    record = _authenticate(request, record, peppers, accept_test_keys, accept_live_keys)
    if record is None:
        return Decision(False, "invalid_token")
    ids = (record.key_id, record.merchant_id)
    reason = _state_reason(record, now)
    if reason is not None:
        return Decision(False, reason, *ids)
    if blacklist is not None and request.probe is not None:
        hit = blacklist.match(request.probe)
        if hit is not None:
            return Decision(False, "blacklisted", *ids, blacklist=hit)
    client_ip = request.client_ip
    if isinstance(client_ip, Failure) or client_ip is None:
        return Decision(False, "ip_not_allowed", *ids)
    if not ip_allowed(client_ip, record.networks):
        return Decision(False, "ip_not_allowed", *ids)
    if request.site is None or not site_allowed(request.site, record.back_urls):
        return Decision(False, "back_url_mismatch", *ids)
    limits = in_force(record.limits, record.raised_limits, record.raised_from, now)
    refused, charges = _judge_limits(request, record, limits, rates, daily_spent)
    if refused is not None:
        return Decision(False, "limit_exceeded", *ids, limit=refused)
    dated = tuple(Charge(c.subject, c.period, c.currency, c.amount, c.limit,
                         period_key(c.period, now, zone)) for c in charges)
    return Decision(True, "ok", *ids, charges=dated)


def rotation_grace_until(
    now: datetime, grace_seconds: int, max_grace: int = MAX_GRACE_SECONDS
) -> datetime:
    """When a rotated key's old token stops working: ``now + grace_seconds``.

    Raises ``ValueError`` for a naive ``now``, a negative grace or one above ``max_grace``
    (24 hours by policy); the old token is refused from that instant on (``key_expired``).
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if isinstance(grace_seconds, bool) or not isinstance(grace_seconds, int):
        raise ValueError("grace_seconds must be an integer")
    if not 0 <= grace_seconds <= max_grace:
        raise ValueError(f"grace_seconds must be between 0 and {max_grace}")
    return now + timedelta(seconds=grace_seconds)


def activation_time(now: datetime, environment: str, delay_seconds: int) -> datetime:
    """When a new key starts working (R-E7): live keys after ``delay_seconds``, test at once."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if delay_seconds < 0:
        raise ValueError("delay_seconds must not be negative")
    return now if environment == "test" else now + timedelta(seconds=delay_seconds)


__all__ = [
    "REASONS",
    "Decision",
    "KeyRecord",
    "Limits",
    "MerchantCaps",
    "NetworkSet",
    "SiteSet",
    "VerificationRequest",
    "activation_time",
    "rotation_grace_until",
    "verify",
]
