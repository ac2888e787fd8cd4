"""Assessments nobody asked for (R-D1): the first one of a submitted application, and the
re-run of an assessment whose TTL (policy ``[assessments] ttl_days``) has passed.

Both are run by jobs (:mod:`app.jobs.assessments`), off the request path. Both are safe to
run twice, also at the same time: each locks the merchant's row (PostgreSQL; a SQLite writer
holds the database from its first statement) and does nothing if another run got there
first; and an expired assessment is claimed with a compare-and-set on ``expires_at`` before
its renewal is queued, so two workers' schedulers never queue the same renewal twice.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlmodel import Session, select

from app.audit.trail import Actor
from app.models import Assessment, Merchant
from app.models.merchant import MerchantStatus
from app.services.assessments import assess_merchant, current_policy
from checks.policy import Policy

APPLICATION_SUBMITTED = "application_submitted"
TTL_EXPIRED = "ttl_expired"
# An application still unassessed this long after it was stored lost its job (a queue that
# could not be reached at commit, a job that kept failing): the scheduler queues it again.
MISSED_AFTER = dt.timedelta(minutes=10)
OPEN_STATUSES = (MerchantStatus.applied, MerchantStatus.in_review,
                 MerchantStatus.info_requested)


def _assess(session: Session, merchant: Merchant, *, trigger: str, actor: Actor,
            now: dt.datetime) -> Assessment:
    from app.services.facts import lookup_sources
    from app.services.screening import screening_index
    return assess_merchant(session, merchant=merchant, actor=actor, now=now, trigger=trigger,
                           sources=lookup_sources(), index=screening_index(session),
                           policy=current_policy())


def assess_application(session: Session, *, merchant_id: str, actor: Actor,
                       now: dt.datetime) -> Assessment | None:
    """The first assessment of a submitted application (trigger ``application_submitted``);
    None when the merchant is gone or was assessed meanwhile (by staff, or a first run)."""
    merchant = session.get(Merchant, merchant_id, with_for_update=True)
    if merchant is None or merchant.latest_assessment_id is not None:
        return None
    return _assess(session, merchant, trigger=APPLICATION_SUBMITTED, actor=actor, now=now)


def missed_applications(session: Session, *, now: dt.datetime, limit: int) -> list[str]:
    """Open applications stored more than :data:`MISSED_AFTER` ago and never assessed, oldest
    first (at most ``limit``)."""
    return list(session.exec(
        select(Merchant.id)
        .where(Merchant.latest_assessment_id.is_(None), Merchant.status.in_(OPEN_STATUSES),
               Merchant.created_at <= now - MISSED_AFTER)
        .order_by(Merchant.created_at, Merchant.id).limit(limit)).all())


def claim_expired_assessments(session: Session, *, now: dt.datetime,
                              policy: Policy) -> list[tuple[str, str]]:
    """Claim up to ``renewals_per_run`` current assessments whose ``expires_at`` has passed,
    oldest first; returns ``(merchant_id, assessment_id)`` of those this caller won.

    A claim moves ``expires_at`` forward by the lease, only if nobody moved it since it was
    read (compare-and-set), so a concurrent run wins none of these; a renewal that never
    finishes lets the assessment expire again when the lease ends. Rejected merchants are not
    renewed.
    """
    rules = policy.assessments
    rows = session.exec(
        select(Assessment.id, Assessment.merchant_id, Assessment.expires_at)
        .join(Merchant, Merchant.latest_assessment_id == Assessment.id)
        .where(Assessment.expires_at <= now, Merchant.status != MerchantStatus.rejected)
        .order_by(Assessment.expires_at, Assessment.id).limit(rules.renewals_per_run)).all()
    lease_end = now + dt.timedelta(minutes=rules.renewal_lease_minutes)
    claimed = []
    for assessment_id, merchant_id, expires_at in rows:
        won = session.execute(
            sa.update(Assessment)
            .where(Assessment.id == assessment_id, Assessment.expires_at == expires_at)
            .values(expires_at=lease_end).execution_options(synchronize_session=False))
        if won.rowcount == 1:
            claimed.append((merchant_id, assessment_id))
    return claimed


def renew_assessment(session: Session, *, merchant_id: str, assessment_id: str, actor: Actor,
                     now: dt.datetime) -> Assessment | None:
    """Re-run a claimed expired assessment with fresh lookups (trigger ``ttl_expired``);
    None when the merchant has had a newer assessment since the claim."""
    merchant = session.get(Merchant, merchant_id, with_for_update=True)
    if merchant is None or merchant.latest_assessment_id != assessment_id:
        return None
    return _assess(session, merchant, trigger=TTL_EXPIRED, actor=actor, now=now)
