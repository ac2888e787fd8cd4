"""The merchant notification outbox without clear personal data (issue #13, R-D7, R-E4).

A merchant's notice goes to its contact e-mail, and a change notice carries the old and new
e-mail, phone or owners. The outbox row therefore keeps in clear only the recipient's mask
(``f•••@example.com``), the payload with those values masked and the body written from it;
the full recipient, body and payload are sealed in ``content_sealed`` (bound to the row's id).
The worker opens them to send the mail (:func:`deliverable`, a pooled system disclosure); the
merchant's own portal opens them to show its notice (:func:`own_payload`: the data subject's
side, not audited, as ``personal_data.own_contacts``). Staff escalation notices go to staff
accounts, whose addresses are the institution's own, and stay as they are. Retention erases
the sealed content and the recipient's mask.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import object_session

from app.crypto.data_keys import DataKeys
from app.models import Notification
from app.services.personal_data import MERCHANT_FIELDS, SYSTEM, Disclosure, data_keys, mask_contact

# The fields of a change notice whose old and new values are a natural person's data.
PERSONAL_CHANGES = (*MERCHANT_FIELDS, "owners")
ERASED = "[erased]"


@dataclass(frozen=True)
class Deliverable:
    """What the worker sends: the full recipient and body."""

    recipient: str
    subject: str
    body: str


def masked_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """``payload`` with the personal old/new values of its changes masked."""
    out = copy.deepcopy(payload)
    for item in out.get("changes") or []:
        if isinstance(item, dict) and item.get("field") in PERSONAL_CHANGES:
            for side in ("old", "new"):
                if item.get(side) is not None:
                    item[side] = _mask(item["field"], str(item[side]))
    return out


def _mask(field: str, value: str) -> str:
    return mask_contact(field, value) if field in MERCHANT_FIELDS else "•••"


def sealed_notice_values(row_id: str, *, recipient: str, body: str, payload: dict[str, Any],
                         clear_body: str, keys: DataKeys) -> dict[str, Any]:
    """The column values of notification ``row_id`` (what :func:`seal_notice` sets; migration
    0020 writes them with SQL): ``clear_body`` is the body written from the masked payload."""
    full = json.dumps({"recipient": recipient, "body": body, "payload": payload})
    return {"recipient": mask_contact("email", recipient), "body": clear_body,
            "payload": masked_payload(payload),
            "content_sealed": keys.seal(full, table="notification", column="content_sealed",
                                        row_id=row_id)}


def seal_notice(note: Notification, *, clear_body: str, keys: DataKeys) -> Notification:
    """Seal ``note``'s recipient, body and payload (see the module)."""
    for name, value in sealed_notice_values(note.id, recipient=note.recipient, body=note.body,
                                            payload=note.payload, clear_body=clear_body,
                                            keys=keys).items():
        setattr(note, name, value)
    return note


def opened_content(note: Notification, keys: DataKeys) -> dict[str, Any]:
    """The full recipient, body and payload of a sealed notice (no audit)."""
    return json.loads(keys.open(note.content_sealed, table="notification",
                                column="content_sealed", row_id=note.id))


def deliverable(note: Notification) -> Deliverable:
    """What to send for ``note``; a sealed one is opened by the system for delivery, pooled
    into the transaction's audit event (R-D7)."""
    if note.content_sealed is None:
        return Deliverable(note.recipient, note.subject, note.body)
    session = object_session(note)
    content = opened_content(note, data_keys(session))
    disclosure = Disclosure(actor=SYSTEM, purpose="notification delivery")
    disclosure.opened_merchants.setdefault(note.merchant_id or "", set()).add("notification")
    if session is not None:
        disclosure.record(session, merchant_id=note.merchant_id)
    return Deliverable(content["recipient"], note.subject, content["body"])


def own_payload(note: Notification) -> dict[str, Any]:
    """The full payload of ``note`` for its own merchant's portal (not a disclosure)."""
    if note.content_sealed is None:
        return note.payload or {}
    return opened_content(note, data_keys(object_session(note)))["payload"]


def erase_notice(note: Notification) -> None:
    """Retention: drop the sealed content; the recipient's mask becomes ``[erased]``."""
    note.content_sealed = None
    note.recipient = ERASED
    note.payload = masked_payload(note.payload or {})
