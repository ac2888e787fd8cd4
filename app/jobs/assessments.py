"""Assessment jobs (R-D1): assess a submitted application, and renew expired assessments.

``assess_application`` is queued by ``submit_application`` after its commit;
``renew_expired_assessments`` runs every 5 minutes in the worker's scheduler, claims a
bounded batch of expired assessments and queues one ``renew_assessment`` per merchant, so the
lookups of a batch spread over the workers, each in its own transaction.
``assess_missed_applications`` (every 15 minutes) queues again the applications whose first
assessment never happened.
"""

from __future__ import annotations

import datetime as dt

from huey import crontab
from sqlmodel import Session

from app.audit.trail import Actor
from app.jobs.commit import enqueue_after_commit
from app.jobs.registry import job, periodic_job
from app.services import assessment_renewal
from app.services.assessments import current_policy


@job("assess_application", retries=3, retry_delay=60)
def assess_application(session: Session, *, now: dt.datetime, actor: Actor,
                       merchant_id: str) -> None:
    """The first assessment of a submitted application."""
    assessment_renewal.assess_application(session, merchant_id=merchant_id, actor=actor,
                                          now=now)


@job("renew_assessment", retries=3, retry_delay=60)
def renew_assessment(session: Session, *, now: dt.datetime, actor: Actor, merchant_id: str,
                     assessment_id: str) -> None:
    """Re-run one claimed expired assessment."""
    assessment_renewal.renew_assessment(session, merchant_id=merchant_id,
                                        assessment_id=assessment_id, actor=actor, now=now)


@periodic_job("renew_expired_assessments", crontab(minute="*/5"))
def renew_expired_assessments(session: Session, *, now: dt.datetime, actor: Actor) -> None:
    """Claim the expired assessments of this run and queue their renewals."""
    claimed = assessment_renewal.claim_expired_assessments(session, now=now,
                                                           policy=current_policy())
    for merchant_id, assessment_id in claimed:
        enqueue_after_commit(session, "renew_assessment", merchant_id=merchant_id,
                             assessment_id=assessment_id)


@periodic_job("assess_missed_applications", crontab(minute="*/15"))
def assess_missed_applications(session: Session, *, now: dt.datetime, actor: Actor) -> None:
    """Queue ``assess_application`` again for applications it never assessed."""
    limit = current_policy().assessments.renewals_per_run
    for merchant_id in assessment_renewal.missed_applications(session, now=now, limit=limit):
        enqueue_after_commit(session, "assess_application", merchant_id=merchant_id)
