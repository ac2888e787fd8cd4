"""Per-request token verification with its audit event (R-B1, R-B3, R-B5, R-E1, R-E5, R-E7).

:class:`Verifier` is one per process (``app.keys_feature.verifier(app)``). A request goes:

1. ``tokens.parse`` — shape and CRC32 checksum; a malformed or forged token never reaches the
   cache or the database;
2. the key record from the in-process :class:`KeyRecordCache` (short TTL; invalidated on
   revoke/rotate/freeze/suspend through Redis pub/sub), loaded on a miss with its merchant's
   state (frozen, approved, high tier without a fresh approval);
3. ``api_keys.verification.verify`` — the pure decision (constant-time HMAC comparison);
4. one audit event, allowed or denied, committed through the group commit (the host's audit
   writer process, or an ``AuditBatcher`` thread) *before* the answer is returned (its id is
   the ``audit_id``).
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from api_keys import tokens
from api_keys.backurls import SiteSet, parse_site
from api_keys.cache import KeyRecordCache
from api_keys.limits import MerchantCaps, convert
from api_keys.results import Failure
from api_keys.verification import Decision, KeyRecord, VerificationRequest, verify
from api_keys.whitelist import IPAddress, NetworkSet
from app.audit.batcher import EventSink, StoredEvent
from app.audit.spend import charges_to_details
from app.audit.trail import Actor, EventDraft
from app.models import ApiKey, Assessment, Merchant, MerchantStatus
from app.models import Decision as DecisionRow
from app.services.assessments import current_policy
from app.services.keys import current_limits, raised_limits, wide_ranges
from checks.policy import Policy

VERIFY_ACTION = "api.verify"
APPROVALS = ("approve", "approve_with_limits")


@dataclass(frozen=True, slots=True)
class VerificationInput:
    """One request to verify, as the view parsed it. ``card_masked`` is already masked."""

    token: str | None
    client_ip: IPAddress | Failure | None
    site: str | Failure | None
    channel: str  # "verify" (POST /verify) or "gateway" (GET /auth)
    operation: str | None = None
    amount: Decimal | None = None
    currency: str | None = None
    card_masked: str | None = None
    customer_ref: str | None = None
    destination_ip: str | None = None


@dataclass(frozen=True, slots=True)
class Verified:
    """The decision and the id of the audit event that records it."""

    decision: Decision
    audit: StoredEvent


def high_tier_unapproved(session: Session, merchant: Merchant) -> bool:
    """Whether a re-assessment put the merchant in the high tier after its last approval: its
    keys stay blocked until a (four-eyes) approval at the high tier follows the assessment."""
    if merchant.tier != "high":
        return False
    assessment = (session.get(Assessment, merchant.latest_assessment_id)
                  if merchant.latest_assessment_id else None)
    since = assessment.created_at if assessment else dt.datetime.min.replace(tzinfo=dt.UTC)
    approved = session.exec(select(DecisionRow.id).where(
        DecisionRow.merchant_id == merchant.id, DecisionRow.decision.in_(APPROVALS),
        DecisionRow.status == "final", DecisionRow.tier == "high",
        sa.func.coalesce(DecisionRow.confirmed_at, DecisionRow.created_at) >= since)).first()
    return approved is None


def merchant_active(session: Session, merchant: Merchant) -> bool:
    """Approved, and not moved to the high tier since its last approval."""
    return merchant.status == MerchantStatus.approved and not high_tier_unapproved(session,
                                                                                   merchant)


def merchant_caps(merchant: Merchant, policy: Policy, *, tier: str | None = None
                  ) -> MerchantCaps:
    """The merchant's limits across its live keys (R-E5; SAMA 004 §15 c).

    The defaults of its risk tier in the policy (a merchant without a tier yet gets the
    strictest tier's), each replaced by the limit a reviewer set when approving it, if any
    (converted to TRY at the policy's rate; a currency without a rate keeps the reviewer's
    limits alone, in their currency). ``tier`` overrides the merchant's own, to compare
    before and after a move between tiers.
    """
    tier = tier or merchant.tier
    tier = tier if tier in policy.limits else "high"
    defaults = policy.limits[tier]
    caps = {"max_amount_per_tx": defaults.get("per_transaction_try"),
            "daily_amount": defaults.get("daily_try"),
            "monthly_amount": defaults.get("monthly_try")}
    reviewed = merchant.limits or {}
    decided = {name: Decimal(str(value)) for name, value in reviewed.items()
               if name in caps and value is not None}
    currency, source = "TRY", f"tier:{tier}"
    if decided:
        source = f"decision over tier:{tier}"
        given = str(reviewed.get("currency") or "TRY").upper()
        converted = {name: convert(value, given, "TRY", policy.rates_to_try)
                     for name, value in decided.items()}
        if any(value is None for value in converted.values()):
            currency, source = given, "decision"
            caps = dict.fromkeys(caps)
            converted = decided
        caps.update(converted)
    return MerchantCaps(currency, caps["max_amount_per_tx"], caps["daily_amount"],
                        caps["monthly_amount"], source)


def key_record(key: ApiKey, merchant: Merchant, active: bool,
               policy: Policy | None = None) -> KeyRecord:
    """The immutable record ``verify`` needs. Ranges broader than /24 or /48 count only once an
    approver signed them off. A live key carries its merchant's caps (``policy``: the app's
    active one, ``KYB_POLICY``, by default); a test key moves no money and has none."""
    cidrs = list(key.ip_whitelist)
    if not key.wide_ranges_approved_by:
        wide = set(wide_ranges(cidrs))
        cidrs = [c for c in cidrs if c not in wide]
    return KeyRecord(
        key_id=key.id, merchant_id=key.merchant_id, environment=key.environment,
        token_hash=key.token_hash, pepper_version=key.pepper_version, status=key.status,
        activates_at=key.activates_at, networks=NetworkSet.parse(cidrs),
        back_urls=SiteSet.parse(key.back_urls, key.environment),
        limits=current_limits(key), raised_limits=raised_limits(key),
        raised_from=key.raised_limits_at,
        expires_at=key.expires_at, revoked_at=key.revoked_at, grace_until=key.grace_until,
        frozen=merchant.frozen, merchant_active=active,
        caps=(merchant_caps(merchant, policy or current_policy())
              if key.environment == "live" else None))


def load_record(session: Session, key_id: str, policy: Policy | None = None
                ) -> KeyRecord | None:
    """The record of key ``key_id`` with its merchant's current state, or None."""
    key = session.get(ApiKey, key_id)
    if key is None:
        return None
    merchant = session.get(Merchant, key.merchant_id)
    if merchant is None:
        return None
    return key_record(key, merchant, merchant_active(session, merchant), policy)


class Verifier:
    """Verification state of one process: cache, peppers, deployment switches, audit writer."""

    def __init__(self, *, engine: Engine, peppers: tokens.Peppers, batcher: EventSink,
                 cache: KeyRecordCache, accept_test_keys: bool, accept_live_keys: bool = True,
                 policy: Policy | None = None) -> None:
        self.engine = engine
        self.policy = policy or current_policy()
        self.zone = ZoneInfo(self.policy.keys.limit_timezone)  # calendar of daily limits
        self.peppers = peppers
        self.batcher = batcher
        self.cache = cache
        self.accept_test_keys = accept_test_keys
        self.accept_live_keys = accept_live_keys

    def _load(self, key_id: str) -> KeyRecord | None:
        with Session(self.engine) as session:
            return load_record(session, key_id, self.policy)

    def decide(self, request: VerificationInput, now: dt.datetime) -> Decision:
        """The decision alone (no audit): cheap checks first, the database only on a miss.
        Running totals are settled when the event is stored (see :meth:`verify`)."""
        parsed = tokens.parse(request.token)
        if not parsed:
            return Decision(False, "invalid_token")
        record = self.cache.get_or_load(parsed.key_id, self._load)
        return verify(VerificationRequest(parsed, request.client_ip, request.site,
                                          request.operation, request.amount, request.currency),
                      record, now, self.peppers, self.accept_test_keys, self.accept_live_keys,
                      rates=self.policy.rates_to_try, zone=self.zone)

    def verify(self, request: VerificationInput, *, actor: Actor, now: dt.datetime,
               started: float) -> Verified:
        """Decide and audit; returns only once the event is committed (raises
        ``AuditUnavailable`` otherwise, and then the caller must not answer ``allowed``).

        An allowed decision's running totals (daily and monthly limits) are checked and added
        in the commit itself; if one has no room left, the stored event and the answer are
        ``limit_exceeded``."""
        decision = self.decide(request, now)
        latency_ms = (time.perf_counter() - started) * 1000
        stored = self.batcher.append(self.draft(request, decision, actor, now, latency_ms))
        if stored.denied and decision.allowed:
            decision = Decision(False, stored.denied, decision.key_id, decision.merchant_id)
        return Verified(decision, stored)

    @staticmethod
    def draft(request: VerificationInput, decision: Decision, actor: Actor, now: dt.datetime,
              latency_ms: float) -> EventDraft:
        """The R-B5 audit event of one verification (never the token or a full card number)."""
        ip = request.client_ip
        site = request.site
        site_text = None if site is None or isinstance(site, Failure) else _origin(site)
        details: dict[str, object] = {"channel": request.channel}
        if isinstance(ip, Failure):
            details["client_ip_problem"] = ip.reason
        if isinstance(site, Failure):
            details["site_problem"] = site.reason
        if decision.limit:
            details["limit"] = decision.limit
        if decision.allowed and decision.charges:
            details["charges"] = charges_to_details(decision.charges)
        return EventDraft(
            action=VERIFY_ACTION, actor=actor.name, request_id=actor.request_id,
            target_type="api_key", target_id=decision.key_id,
            merchant_id=decision.merchant_id, key_id=decision.key_id,
            source_ip=str(ip) if ip is not None and not isinstance(ip, Failure) else None,
            destination_ip=request.destination_ip, operation=request.operation,
            amount=request.amount, currency=request.currency, card_masked=request.card_masked,
            customer_ref=request.customer_ref, site=site_text,
            decision="allow" if decision.allowed else "deny", reason=decision.reason,
            latency_ms=latency_ms, details=details, at=now)


def _origin(site: str) -> str:
    """The origin of a request site for the audit trail (a parse failure keeps a prefix)."""
    parsed = parse_site(site)
    return parsed.origin if parsed else site[:300]
