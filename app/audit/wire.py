"""Event drafts as JSON values: how a worker's journal (``app.dataplane.journal``) carries an
audit event to the host's audit writer (``app.dataplane.shipper``)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from app.audit.trail import EventDraft

_FIELDS = tuple(EventDraft.__dataclass_fields__)


class ProtocolError(ValueError):
    """A value that is not a well-formed event draft."""


def draft_to_wire(draft: EventDraft) -> dict[str, Any]:
    """A draft as JSON-ready values (Decimal and datetime as strings)."""
    wire: dict[str, Any] = {}
    for name in _FIELDS:
        value = getattr(draft, name)
        if value is None:
            continue
        if isinstance(value, Decimal):
            value = format(value, "f")
        elif isinstance(value, dt.datetime):
            value = value.astimezone(dt.UTC).isoformat()
        wire[name] = value
    return wire


def draft_from_wire(wire: Any) -> EventDraft:
    """The draft ``wire`` holds; :class:`ProtocolError` if it is not one."""
    if not isinstance(wire, dict) or set(wire) - set(_FIELDS):
        raise ProtocolError("not an event draft")
    values = dict(wire)
    try:
        if values.get("amount") is not None:
            values["amount"] = Decimal(str(values["amount"]))
        if values.get("at") is not None:
            at = dt.datetime.fromisoformat(str(values["at"]))
            if at.tzinfo is None:
                raise ProtocolError("event time without a time zone")
            values["at"] = at
        if not isinstance(values.get("details", {}), dict):
            raise ProtocolError("details must be an object")
        draft = EventDraft(**values)
    except (TypeError, ValueError, InvalidOperation) as exc:
        raise ProtocolError(f"bad event draft: {exc}") from None
    if not isinstance(draft.action, str) or not isinstance(draft.actor, str):
        raise ProtocolError("action and actor are required")
    return draft
