"""Card numbers never reach a free-text column (issue #13 item 4, R-B5).

Every column a caller, a merchant or a staff user can write free text into is listed here, and
every flush of any session replaces any card number in them by its first-6/last-4 mask
(``api_keys.cards.scrub_pans``) before the row is written, whatever code path set the value
(API, staff console, portal, CLI, services). The audit trail has its own single
choke point (``app.audit.trail.event_row``). A new free-text column belongs in this list.
Structured identifiers are not listed (a tax id, a 16-digit MERSIS number, an IBAN, hashes,
ids): they are validated where they arrive, and masking one would corrupt it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from api_keys.cards import scrub_pans, scrub_value
from app.models.activity import Notification, Transaction
from app.models.casework import AlertSnooze, Case, CaseAttachment, CaseNote, InformationRequest
from app.models.keys import ApiKey
from app.models.merchant import BankAccount, Merchant, MerchantChange, MerchantNote
from app.models.monitoring import ScenarioResult
from app.models.oauth import OAuthClient
from app.models.risk import Alert, BlacklistEntry, Decision
from app.models.webhooks import WebhookDelivery

FREE_TEXT = {
    Transaction: ("external_id", "customer_ref", "description", "account_ref",
                  "counterparty_ref", "device_id"),
    Case: ("title", "narrative", "close_reason"),
    CaseNote: ("text",),
    CaseAttachment: ("filename",),
    InformationRequest: ("question", "answer"),
    AlertSnooze: ("reason",),
    MerchantNote: ("body",),
    MerchantChange: ("reason",),  # and the values of the merchant's free-text fields, below
    BankAccount: ("reason",),
    ApiKey: ("name", "revoked_reason"),
    OAuthClient: ("name",),
    Merchant: ("legal_name", "trade_name", "website"),
    WebhookDelivery: ("last_error",),
    Decision: ("reason",),
    Alert: ("summary", "resolution"),
    BlacklistEntry: ("reason",),
    ScenarioResult: ("reason",),
    Notification: ("body",),
}
# JSON documents holding free text: an alert's evidence and its summary's values (a suspicious
# description is quoted in them), a notification's payload (a case's question to the merchant).
FREE_JSON = {Alert: ("details", "summary_wording"), Notification: ("payload",)}


def scrub_flushed(session: Session, flush_context: Any, instances: Any) -> None:
    """Mask card numbers in the free-text columns of every new or changed object."""
    for obj in (*session.new, *session.dirty):
        for name in FREE_TEXT.get(type(obj), ()):
            value = getattr(obj, name)
            if isinstance(value, str) and (scrubbed := scrub_pans(value)) != value:
                setattr(obj, name, scrubbed)
        if isinstance(obj, MerchantChange) and obj.field in FREE_TEXT[Merchant]:
            obj.old_value, obj.new_value = (scrub_pans(v) if v else v
                                            for v in (obj.old_value, obj.new_value))
        for name in FREE_JSON.get(type(obj), ()):
            value = getattr(obj, name)
            if (scrubbed := scrub_value(value)) != value:
                setattr(obj, name, scrubbed)


def install() -> None:
    """Register the listener on every session (idempotent). An attribute ``set`` listener
    would not do: SQLModel writes the raw value again after SQLAlchemy's events."""
    if not event.contains(Session, "before_flush", scrub_flushed):
        event.listen(Session, "before_flush", scrub_flushed)


install()
