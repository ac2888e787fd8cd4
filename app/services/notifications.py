"""The notification outbox: rows written in the same transaction as the change they announce,
delivered later by the worker (``kybgate notifications deliver``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlmodel import Session

from app.models import Merchant, Notification


def notify_merchant(session: Session, *, merchant: Merchant, event: str,
                    payload: dict[str, Any], now: dt.datetime,
                    recipient: str | None = None) -> Notification | None:
    """Queue an e-mail to ``recipient`` (default: the merchant's contact address) (R-E4, R-E7);
    None without an address. Subject and body are written from ``event`` and ``payload`` by
    :func:`app.web.notices.write_notice`, in the current language (English outside a request);
    the portal writes the notice again in its reader's language."""
    from app.services.personal_data import SYSTEM, Disclosure, data_keys
    from app.services.sealed_notices import masked_payload, seal_notice
    from app.web.notices import write_notice
    if recipient is None:  # the sealed contact address, opened for the system (pooled audit)
        disclosure = Disclosure(actor=SYSTEM, purpose="merchant notification",
                                keys=data_keys(session))
        recipient = disclosure.contacts(merchant, ("email",)).email
        disclosure.record(session, merchant_id=merchant.id)
    if not recipient:
        return None
    notice = write_notice(event, payload, now)
    subject, body = notice.subject[:300], notice.body
    note = Notification(merchant_id=merchant.id, event=event, recipient=recipient,
                        subject=subject, body=body, payload=payload, created_at=now,
                        next_attempt_at=now)
    # R-D7: the address and the personal values of a change are kept sealed, masked in clear
    seal_notice(note, clear_body=write_notice(event, masked_payload(payload), now).body,
                keys=data_keys(session))
    session.add(note)
    return note
