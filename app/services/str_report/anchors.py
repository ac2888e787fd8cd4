"""The audit events that anchor each item of an STR package.

An item (the merchant, an alert, a transaction, a note, a decision…) is anchored by the
hash-chained events whose ``target_id`` is the item's id: anyone holding the trail can check
that the event with that ``seq`` still has that ``hash`` (``kybgate audit verify``) and so that
the item was recorded then and has not been rewritten since.

Lookups are restricted to the case's merchant and are index lookups on
``ix_audit_merchant_target`` (merchant_id, target_id; migration 0012), so their cost grows with
the events about the items, not with the merchant's whole trail (every verification). The
EXPLAIN of this lookup on SQLite and PostgreSQL is checked in
tests/functional/test_case_timeline.py.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlmodel import Session, select

from app.audit.trail import chain_head
from app.models import AuditEvent
from app.services.str_report import values

CHUNK = 500
# Actions on the merchant's keys taken while a case is open (freeze, unfreeze, revoke).
KEY_ACTIONS = ("keys.frozen", "keys.unfrozen", "key.revoked")


def events_by_target(session: Session, *, merchant_id: str,
                     ids: Iterable[str]) -> dict[str, list[AuditEvent]]:
    """The merchant's events targeting each id in ``ids``, in ``seq`` order."""
    wanted = sorted({i for i in ids if i})
    found: dict[str, list[AuditEvent]] = defaultdict(list)
    for start in range(0, len(wanted), CHUNK):
        rows = session.exec(select(AuditEvent).where(
            AuditEvent.merchant_id == merchant_id,
            AuditEvent.target_id.in_(wanted[start:start + CHUNK]))).all()
        for row in rows:
            found[row.target_id].append(row)
    for rows in found.values():
        rows.sort(key=lambda e: e.seq)
    return found


def key_actions(session: Session, *, merchant_id: str, since: dt.datetime) -> list[AuditEvent]:
    """Key freezes, unfreezes and revocations of the merchant since ``since``."""
    return list(session.exec(select(AuditEvent).where(
        AuditEvent.merchant_id == merchant_id, AuditEvent.at >= since,
        AuditEvent.action.in_(KEY_ACTIONS)).order_by(AuditEvent.seq)).all())


def anchor(event: AuditEvent) -> dict[str, Any]:
    """``{seq, hash, action, at}`` of one event."""
    return {"seq": event.seq, "hash": event.hash, "action": event.action,
            "at": values.when(event.at)}


def anchors(events: Iterable[AuditEvent]) -> list[dict[str, Any]]:
    """Anchors of ``events`` in ``seq`` order."""
    return [anchor(e) for e in sorted(events, key=lambda e: e.seq)]


def event_entry(event: AuditEvent) -> dict[str, Any]:
    """An event as a decision or timeline entry: who did what, when, why, and its anchor."""
    return {**anchor(event), "actor": event.actor, "target_type": event.target_type,
            "target_id": event.target_id, "reason": values.text(event.reason),
            "decision": event.decision, "details": values.evidence(event.details or {})}


def head(session: Session) -> dict[str, Any]:
    """The chain head (newest seq and hash) at the time of export."""
    seq, digest = chain_head(session)
    return {"seq": seq, "hash": digest}
