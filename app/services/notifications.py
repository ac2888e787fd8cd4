"""The notification outbox: rows written in the same transaction as the change they announce,
delivered later by the worker (``kybgate notifications deliver``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlmodel import Session

from app.models import Merchant, Notification


def notify_merchant(session: Session, *, merchant: Merchant, event: str, subject: str,
                    body: str, payload: dict[str, Any], now: dt.datetime,
                    recipient: str | None = None) -> Notification | None:
    """Queue an e-mail to ``recipient`` (default: the merchant's contact address) (R-E4, R-E7);
    None without an address."""
    recipient = recipient or merchant.email
    if not recipient:
        return None
    note = Notification(merchant_id=merchant.id, event=event, recipient=recipient,
                        subject=subject, body=body, payload=payload, created_at=now,
                        next_attempt_at=now)
    session.add(note)
    return note


def describe_changes(changes: list[tuple[str, str | None, str | None]]) -> str:
    """A plain-text list of ``field: old → new`` lines for a change notice."""
    lines = [f"- {name}: {old or '(none)'} → {new or '(none)'}" for name, old, new in changes]
    return "\n".join(lines)
