"""Periodic operations the job worker runs, so that nothing waits for an operator (R-C1, R-D6):

* ``escalate_overdue_alerts`` (every minute): an alert past its 3-hour due time is marked
  escalated and the approvers are told — no alert sits late without anyone seeing it;
* ``deliver_webhooks`` (every minute, and queued right after a change that produced a
  delivery): the webhook outbox, at least once, with backoff and dead letters;
* ``deliver_notifications`` (every minute, when ``KYB_SMTP_URL`` is set): the merchant and
  staff e-mail outbox;
* ``prune_spend_leases`` (daily): the cap leases of periods that are over
  (``app.dataplane.spend_leases.prune``).

Each is safe when two workers run it at once: escalation and pruning are idempotent, and both
outboxes claim their rows before sending.
"""

from __future__ import annotations

import datetime as dt

from huey import crontab
from sqlmodel import Session

from app.audit.trail import Actor
from app.dataplane import spend_leases
from app.extensions import settings
from app.jobs.registry import job, periodic_job
from app.services.alerts import escalate_overdue_alerts
from app.services.assessments import current_policy
from app.services.delivery import deliver_pending, mailer_from_url
from app.services.webhook_delivery import deliver_due_webhooks, target_from_settings


@periodic_job("escalate_overdue_alerts", crontab(minute="*"))
def escalate_overdue(session: Session, *, now: dt.datetime, actor: Actor) -> None:
    """Escalate every alert past its due time (R-C1)."""
    escalate_overdue_alerts(session, now=now, actor=actor)


@job("deliver_webhooks", retries=2, retry_delay=30)
def deliver_webhooks(session: Session, *, now: dt.datetime, actor: Actor) -> None:
    """Send the webhook deliveries that are due (each in its own short transaction)."""
    deliver_due_webhooks(session.get_bind(), target=target_from_settings(settings()),
                         policy=current_policy().webhooks)


@periodic_job("deliver_webhooks_periodically", crontab(minute="*"))
def deliver_webhooks_periodically(session: Session, *, now: dt.datetime,
                                  actor: Actor) -> None:
    """The retries and anything a lost queue entry left behind."""
    deliver_webhooks(session, now=now, actor=actor)


@periodic_job("deliver_notifications", crontab(minute="*"))
def deliver_notifications(session: Session, *, now: dt.datetime, actor: Actor) -> None:
    """Send the due e-mail notifications through ``KYB_SMTP_URL`` (nothing without it)."""
    config = settings()
    if config.smtp_url:
        deliver_pending(session, mailer=mailer_from_url(config.smtp_url, config.mail_from),
                        actor=actor, now=now)


@periodic_job("prune_spend_leases", crontab(minute="41", hour="4"))
def prune_spend_leases(session: Session, *, now: dt.datetime, actor: Actor) -> None:
    """Delete the cap leases of periods over for two days (R-E5 totals stay in spend_total)."""
    spend_leases.prune(session.connection(), now)
