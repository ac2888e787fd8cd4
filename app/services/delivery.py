"""Delivery of the notification outbox by e-mail (R-E4, R-E7).

Rows are written by the services in the same transaction as the change they announce;
``deliver_pending`` hands due rows to an SMTP server. A refused or failed delivery is retried
with exponential backoff (1 min, 2 min, 4 min … capped at 6 h) up to ``MAX_ATTEMPTS``; after that
the row stays in the table with its last error for an operator to see. Delivery is at least
once: a crash between the server's acceptance and the commit sends that mail again. On
PostgreSQL, rows are claimed with ``FOR UPDATE SKIP LOCKED`` so several workers never send the
same row at the same time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

from sqlmodel import Session, select

from app.audit.trail import Actor, record
from app.models import Notification
from app.services.sealed_notices import deliverable
from checks.sources.smtp import Mailer, SmtpMailer

MAX_ATTEMPTS = 8
FIRST_RETRY = dt.timedelta(minutes=1)
MAX_RETRY = dt.timedelta(hours=6)


@dataclass(frozen=True)
class DeliveryReport:
    """What one delivery pass did."""

    sent: int = 0
    failed: int = 0
    gave_up: int = 0

    @property
    def attempted(self) -> int:
        """Rows handed to the mail server."""
        return self.sent + self.failed + self.gave_up


def mailer_from_url(url: str, sender: str, timeout: float = 10.0) -> SmtpMailer:
    """``smtp://[user:password@]host[:port][?starttls=1]`` (``KYB_SMTP_URL``) → a mailer."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtp+starttls") or not parts.hostname:
        raise ValueError("KYB_SMTP_URL must look like smtp://host:port (or smtp+starttls://)")
    query = parse_qs(parts.query)
    starttls = parts.scheme == "smtp+starttls" or query.get("starttls", ["0"])[0] in ("1", "true")
    return SmtpMailer(parts.hostname, parts.port or 25, sender=sender, starttls=starttls,
                      username=unquote(parts.username) if parts.username else None,
                      password=unquote(parts.password) if parts.password else None,
                      timeout=timeout)


def backoff(attempts: int) -> dt.timedelta:
    """Wait before the next attempt after ``attempts`` failed ones."""
    return min(MAX_RETRY, FIRST_RETRY * (2 ** max(attempts - 1, 0)))


def due(session: Session, now: dt.datetime, limit: int) -> list[Notification]:
    """Unsent rows whose next attempt is due, oldest first (locked on PostgreSQL)."""
    stmt = (select(Notification)
            .where(Notification.sent_at.is_(None), Notification.next_attempt_at <= now,
                   Notification.attempts < MAX_ATTEMPTS)
            .order_by(Notification.next_attempt_at, Notification.id).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return list(session.exec(stmt).all())


def deliver_pending(session: Session, *, mailer: Mailer, actor: Actor, now: dt.datetime,
                    limit: int = 100) -> DeliveryReport:
    """Send up to ``limit`` due notifications; flush their new state and audit each."""
    sent = failed = gave_up = 0
    for note in due(session, now, limit):
        mail = deliverable(note)  # a merchant's notice is opened to be sent (R-D7)
        result = mailer.send(mail.recipient, mail.subject, mail.body)
        note.attempts += 1
        if result.ok:
            note.sent_at, note.last_error = now, None
            sent += 1
        else:
            note.last_error = (result.error or "refused")[:500]
            note.next_attempt_at = now + backoff(note.attempts)
            if note.attempts >= MAX_ATTEMPTS:
                gave_up += 1
            else:
                failed += 1
        session.add(note)
        record(session, actor.event(
            "notification.sent" if result.ok else "notification.failed",
            target_type="notification", target_id=note.id, merchant_id=note.merchant_id,
            reason=None if result.ok else note.last_error,
            details={"event": note.event, "attempts": note.attempts,
                     "message_id": result.message_id}))
    session.flush()
    return DeliveryReport(sent, failed, gave_up)
