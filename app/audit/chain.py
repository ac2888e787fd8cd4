"""The hash chain over audit events.

Each event's ``hash`` is SHA-256 over a canonical JSON of its fields plus ``prev_hash``; ``seq``
counts from 1 without gaps. Changing, deleting, inserting or reordering any stored event breaks
either the recomputed hash, the link to the previous hash, or the sequence, and ``verify_chain``
names the first event where that happens.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

GENESIS_HASH = "0" * 64

HASHED_FIELDS = (
    "id", "seq", "at", "actor", "action", "target_type", "target_id", "merchant_id", "key_id",
    "request_id", "source_ip", "destination_ip", "operation", "amount", "currency", "card_masked",
    "customer_ref", "site", "decision", "reason", "latency_ms", "details", "prev_hash",
)


def _canonical_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, Decimal):
        return format(value.quantize(Decimal("0.0001")), "f")
    if isinstance(value, float):
        return format(value, ".3f")
    return value


# One encoder for every event: ``json.dumps`` with options builds a new one per call.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                              default=str)
_AS_THEY_ARE = frozenset({str, int, bool, dict, list, type(None)})  # _canonical_value's no-ops


def canonical_json(fields: dict[str, Any]) -> bytes:
    """The exact bytes that are hashed: sorted keys, no whitespace, UTF-8."""
    body = {}
    for name in HASHED_FIELDS:
        value = fields.get(name)
        body[name] = value if value.__class__ in _AS_THEY_ARE else _canonical_value(value)
    return _CANONICAL.encode(body).encode()


def event_hash(fields: dict[str, Any]) -> str:
    """SHA-256 hex digest of the canonical JSON of ``fields`` (which include ``prev_hash``)."""
    return hashlib.sha256(canonical_json(fields)).hexdigest()


@dataclass(frozen=True)
class ChainReport:
    """The outcome of a chain verification."""

    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    first_bad_seq: int | None = None
    first_bad_id: str | None = None
    problem: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return dict(self.__dict__)


def verify_chain(events: Iterable[dict[str, Any]]) -> ChainReport:
    """Walk ``events`` in stored ``seq`` order and report the first broken link, if any."""
    expected_seq, prev_hash, checked = 1, GENESIS_HASH, 0
    for event in events:
        seq, event_id = event["seq"], event["id"]
        problem = None
        if seq != expected_seq:
            problem = (f"sequence gap or reordering: expected seq {expected_seq}, found {seq}")
        elif event["prev_hash"] != prev_hash:
            problem = "prev_hash does not match the previous event's hash (deleted or inserted)"
        elif event_hash(event) != event["hash"]:
            problem = "hash does not match the event's content (edited)"
        if problem:
            return ChainReport(False, checked, expected_seq - 1, prev_hash, seq, event_id, problem)
        checked += 1
        expected_seq, prev_hash = seq + 1, event["hash"]
    return ChainReport(True, checked, expected_seq - 1, prev_hash)
