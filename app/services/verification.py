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

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from api_keys import tokens
from api_keys.backurls import SiteSet, parse_site
from api_keys.cache import KeyRecordCache
from api_keys.limits import in_force
from api_keys.results import Failure
from api_keys.verification import Decision, KeyRecord, VerificationRequest, verify
from api_keys.whitelist import IPAddress, NetworkSet
from app.audit.batcher import EventSink, StoredEvent
from app.audit.trail import Actor, EventDraft
from app.models import ApiKey, Assessment, AuditEvent, Merchant, MerchantStatus
from app.models import Decision as DecisionRow
from app.services.keys import current_limits, raised_limits, wide_ranges

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


def key_record(key: ApiKey, merchant: Merchant, active: bool) -> KeyRecord:
    """The immutable record ``verify`` needs. Ranges broader than /24 or /48 count only once an
    approver signed them off."""
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
        frozen=merchant.frozen, merchant_active=active)


def load_record(session: Session, key_id: str) -> KeyRecord | None:
    """The record of key ``key_id`` with its merchant's current state, or None."""
    key = session.get(ApiKey, key_id)
    if key is None:
        return None
    merchant = session.get(Merchant, key.merchant_id)
    if merchant is None:
        return None
    return key_record(key, merchant, merchant_active(session, merchant))


def daily_spent(session: Session, *, key_id: str, currency: str | None,
                now: dt.datetime) -> Decimal:
    """Amount of the key's allowed verifications since 00:00 UTC today, in ``currency``.

    Read from the audit trail itself, so every worker sees the same figure. Two requests
    verified at the same instant may both fit under the limit; the limit bounds, it does not
    serialise.
    """
    day = now.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    total = session.exec(select(sa.func.sum(AuditEvent.amount)).where(
        AuditEvent.key_id == key_id, AuditEvent.action == VERIFY_ACTION,
        AuditEvent.decision == "allow", AuditEvent.currency == currency,
        AuditEvent.at >= day)).one()
    return Decimal(total or 0)


class Verifier:
    """Verification state of one process: cache, peppers, deployment switches, audit writer."""

    def __init__(self, *, engine: Engine, peppers: tokens.Peppers, batcher: EventSink,
                 cache: KeyRecordCache, accept_test_keys: bool, accept_live_keys: bool = True
                 ) -> None:
        self.engine = engine
        self.peppers = peppers
        self.batcher = batcher
        self.cache = cache
        self.accept_test_keys = accept_test_keys
        self.accept_live_keys = accept_live_keys

    def _load(self, key_id: str) -> KeyRecord | None:
        with Session(self.engine) as session:
            return load_record(session, key_id)

    def _spent(self, record: KeyRecord, now: dt.datetime) -> Decimal:
        limits = in_force(record.limits, record.raised_limits, record.raised_from, now)
        if limits.daily_amount is None:
            return Decimal(0)
        with Session(self.engine) as session:
            return daily_spent(session, key_id=record.key_id, currency=limits.currency,
                               now=now)

    def decide(self, request: VerificationInput, now: dt.datetime) -> Decision:
        """The decision alone (no audit): cheap checks first, the database only on a miss."""
        parsed = tokens.parse(request.token)
        if not parsed:
            return Decision(False, "invalid_token")
        record = self.cache.get_or_load(parsed.key_id, self._load)
        spent = Decimal(0)
        if record is not None and request.amount is not None:
            spent = self._spent(record, now)
        return verify(VerificationRequest(parsed, request.client_ip, request.site,
                                          request.operation, request.amount, request.currency),
                      record, now, self.peppers, self.accept_test_keys, self.accept_live_keys,
                      spent)

    def verify(self, request: VerificationInput, *, actor: Actor, now: dt.datetime,
               started: float) -> Verified:
        """Decide and audit; returns only once the event is committed (raises
        ``AuditUnavailable`` otherwise, and then the caller must not answer ``allowed``)."""
        decision = self.decide(request, now)
        latency_ms = (time.perf_counter() - started) * 1000
        stored = self.batcher.append(self.draft(request, decision, actor, now, latency_ms))
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
