"""Per-request token verification with its audit event (R-B1, R-B3, R-B5, R-E1, R-E5, R-E7).

:class:`Verifier` is one per process (``app.dataplane.runtime.verifier(app)``). A request goes:

1. ``tokens.parse`` — shape and CRC32 checksum; a malformed or forged token never reaches the
   cache or the database;
2. the key record from the in-process :class:`KeyRecordCache` (short TTL; invalidated on
   revoke/rotate/freeze/suspend through Redis pub/sub), loaded on a miss with its merchant's
   state (frozen, approved, high tier without a fresh approval);
3. ``api_keys.verification.verify`` — the pure decision (constant-time HMAC comparison), with
   the request's attributes matched against the process's in-memory blacklist index
   (``app.services.blacklist_index``; reason ``blacklisted``);
4. for an allowed live request, its running totals (daily and monthly limits) decided exactly
   in memory the host's processes share, with database leases (``app.dataplane.spend``);
5. one audit event, allowed or denied, in the process's journal (``kybgate serve``) or
   committed by an ``AuditBatcher`` thread, *before* the answer is returned (its id is the
   ``audit_id``).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from api_keys import tokens
from api_keys.backurls import SiteSet, parse_site
from api_keys.blacklist import BlacklistProbe, customer_key, device_key, email_key
from api_keys.cache import KeyRecordCache
from api_keys.limits import MerchantCaps, convert, payment_amount_problem
from api_keys.results import Failure
from api_keys.verification import Decision, KeyRecord, VerificationRequest, verify
from api_keys.whitelist import IPAddress, NetworkSet
from app import metrics
from app.audit.batcher import EventSink, StoredEvent
from app.audit.spend import charges_to_details
from app.audit.trail import Actor, EventDraft
from app.dataplane.generation import GenerationWatch
from app.dataplane.pacing import Pacing
from app.dataplane.spend import HostSpend, SpendResult
from app.models import ApiKey, Assessment, Merchant, MerchantStatus
from app.models import Decision as DecisionRow
from app.services.assessments import current_policy
from app.services.blacklist_index import BlacklistSnapshots
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
    card_fingerprint: str | None = None  # keyed hash of the card, matched, never audited
    device_id: str | None = None
    email: str | None = None  # the payer's, matched against the blacklist, never stored
    phone: str | None = None  # E.164; matched, never stored

    def probe(self) -> BlacklistProbe:
        """The attributes the blacklist is consulted on."""
        ip = self.client_ip
        return BlacklistProbe(
            ip=None if ip is None or isinstance(ip, Failure) else ip,
            card_fingerprint=self.card_fingerprint,
            customer_ref=customer_key(self.customer_ref) if self.customer_ref else None,
            email=email_key(self.email) if self.email else None, phone=self.phone,
            device_id=device_key(self.device_id) if self.device_id else None)


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
                 policy: Policy | None = None,
                 blacklist: BlacklistSnapshots | None = None,
                 on_blacklisted: Callable[[list[EventDraft]], object] | None = None,
                 watch: GenerationWatch | None = None,
                 spend: HostSpend | None = None, pacing: Pacing | None = None) -> None:
        self.engine = engine
        self.pacing = pacing  # journalled: wait while the audit writer lags (dataplane.pacing)
        self.spend = spend  # the host's running totals; without it no charge is allowed
        self.watch = watch  # the host's key generation: revocation at once
        self.blacklist = blacklist
        self.on_blacklisted = on_blacklisted  # queues the hit's alert (never waits for it)
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
        """The decision alone (no audit, no running totals): cheap checks first, the database
        only on a miss. :meth:`verify` charges the running totals.

        The host's key generation is read before the key is looked up (a change anywhere on
        the host drops this process's cache) and once more before an ``allowed`` is kept: a
        revoke that returned while this request was being decided is decided again."""
        parsed = tokens.parse(request.token)
        if not parsed:
            return Decision(False, "invalid_token")
        self._follow_generation()
        decision = self._judge(parsed, request, now)
        if decision.allowed and self._follow_generation():
            decision = self._judge(parsed, request, now)
        return decision

    def _follow_generation(self) -> bool:
        """Drop the key cache if the host's generation moved; whether it did."""
        if self.watch is None or not self.watch.changed():
            return False
        self.cache.clear()
        return True

    def _judge(self, parsed: tokens.ParsedToken, request: VerificationInput,
               now: dt.datetime) -> Decision:
        record = self.cache.get_or_load(parsed.key_id, self._load)
        index = self.blacklist.current() if self.blacklist is not None else None
        probe = request.probe() if index else None
        return verify(VerificationRequest(parsed, request.client_ip, request.site,
                                          request.operation, request.amount, request.currency,
                                          probe),
                      record, now, self.peppers, self.accept_test_keys, self.accept_live_keys,
                      rates=self.policy.rates_to_try, zone=self.zone, blacklist=index)

    def verify(self, request: VerificationInput, *, actor: Actor, now: dt.datetime,
               started: float) -> Verified:
        """Decide, charge the running totals and audit; returns only once the event is
        journalled or committed (raises ``AuditUnavailable`` otherwise, and then the caller
        must not answer ``allowed``; the charge is given back).

        An allowed decision's charges (daily and monthly limits) are taken exactly from the
        host's totals (``app.dataplane.spend``); if one has no room left, the event and the
        answer are ``limit_exceeded`` with the limit named. With journals a verification
        first waits while the host's audit writer lags (``app.dataplane.pacing``)."""
        if self.pacing is not None:
            self.pacing.wait()
        decision = self.decide(request, now)
        charged: SpendResult | None = None
        if decision.allowed and decision.charges:
            charged = self._charge(decision, now)
            if not charged.allowed:
                decision = Decision(False, "limit_exceeded", decision.key_id,
                                    decision.merchant_id, limit=charged.limit)
        latency_ms = (time.perf_counter() - started) * 1000
        draft = self.draft(request, decision, actor, now, latency_ms,
                           charged.charges if charged is not None else None)
        try:
            stored = self.batcher.append(draft)
        except Exception:
            if charged is not None and charged.allowed and self.spend is not None:
                self.spend.refund(decision.charges, now)
            raise
        if decision.blacklist is not None and self.on_blacklisted is not None:
            self.on_blacklisted([draft])  # after the event is committed, before the answer
        metrics.verification(decision.reason, time.perf_counter() - started)  # R-D8
        return Verified(decision, stored)

    def _charge(self, decision: Decision, now: dt.datetime) -> SpendResult:
        if self.spend is None:  # fail safe: a limit nobody can count is a limit reached
            return SpendResult(False, tuple(charges_to_details(decision.charges)),
                               "running totals unavailable", available=False)
        return self.spend.charge(decision.charges, now)

    @staticmethod
    def draft(request: VerificationInput, decision: Decision, actor: Actor, now: dt.datetime,
              latency_ms: float, charges: Sequence[dict[str, str]] | None = None
              ) -> EventDraft:
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
        if decision.blacklist is not None:
            details["blacklist"] = decision.blacklist.to_dict()
        if request.device_id:
            details["device_id"] = request.device_id
        if charges:  # what the host's totals said: spent after the charge, its leased slice
            details["charges"] = list(charges)
        elif decision.allowed and decision.charges:
            details["charges"] = charges_to_details(decision.charges)
        amount = request.amount
        if amount is not None and (problem := payment_amount_problem(amount)):
            # The event keeps why, never the raw value (it could be a card number typed in).
            amount, details["amount_problem"] = None, problem
        return EventDraft(
            action=VERIFY_ACTION, actor=actor.name, request_id=actor.request_id,
            target_type="api_key", target_id=decision.key_id,
            merchant_id=decision.merchant_id, key_id=decision.key_id,
            source_ip=str(ip) if ip is not None and not isinstance(ip, Failure) else None,
            destination_ip=request.destination_ip, operation=request.operation,
            amount=amount, currency=request.currency, card_masked=request.card_masked,
            customer_ref=request.customer_ref, site=site_text,
            decision="allow" if decision.allowed else "deny", reason=decision.reason,
            latency_ms=latency_ms, details=details, at=now)


def _origin(site: str) -> str:
    """The origin of a request site for the audit trail (a parse failure keeps a prefix)."""
    parsed = parse_site(site)
    return parsed.origin if parsed else site[:300]
