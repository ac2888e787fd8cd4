"""The audit writer's wire format: drafts survive the trip exactly; frames split anywhere are
reassembled; anything that is not a well-formed draft is refused."""

from __future__ import annotations

import datetime as dt
import json
import struct
from decimal import Decimal

import pytest

from app.audit.trail import EventDraft, event_row
from app.audit.writer import (
    MAX_FRAME,
    ProtocolError,
    decode_frames,
    draft_from_wire,
    draft_to_wire,
    encode_frame,
)

DRAFT = EventDraft(action="api.verify", actor="client:abc", merchant_id="mer_1", key_id="k1",
                   amount=Decimal("1234.5000"), currency="TRY", card_masked="411111******1111",
                   customer_ref="müşteri-ı", latency_ms=0.123456, decision="allow", reason="ok",
                   details={"channel": "gateway", "nested": {"a": [1, 2]}},
                   at=dt.datetime(2026, 11, 22, 9, 30, 15, 123456, tzinfo=dt.UTC))


def test_a_draft_survives_the_wire_exactly():
    back = draft_from_wire(json.loads(json.dumps(draft_to_wire(DRAFT))))
    assert back == DRAFT
    # and so does the stored row and its hash (same id and place in the chain)
    one, two = event_row(DRAFT, 7, "a" * 64), event_row(back, 7, "a" * 64)
    assert {k: v for k, v in one.items() if k not in {"id", "hash"}} == \
        {k: v for k, v in two.items() if k not in {"id", "hash"}}


def test_event_time_keeps_its_zone_and_naive_times_are_refused():
    other_zone = EventDraft(action="a", actor="b",
                            at=dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.timezone(
                                dt.timedelta(hours=3))))
    assert draft_from_wire(draft_to_wire(other_zone)).at == other_zone.at
    with pytest.raises(ProtocolError, match="time zone"):
        draft_from_wire({"action": "a", "actor": "b", "at": "2026-11-22T12:00:00"})


@pytest.mark.parametrize("wire", [
    None, [], "text", {"action": "a"}, {"action": "a", "actor": "b", "evil": 1},
    {"action": "a", "actor": "b", "amount": "ten"}, {"action": "a", "actor": "b", "at": "x"},
    {"action": "a", "actor": "b", "details": []}, {"action": 1, "actor": "b"},
], ids=["null", "list", "string", "no-actor", "unknown-field", "bad-amount", "bad-time",
        "details-not-object", "action-not-text"])
def test_malformed_drafts_are_refused(wire):
    with pytest.raises(ProtocolError):
        draft_from_wire(wire)


def test_frames_split_at_any_byte_are_reassembled():
    stream = b"".join(encode_frame({"n": n, "d": draft_to_wire(DRAFT)}) for n in range(3))
    for cut in range(1, len(stream)):
        buffer, got = bytearray(), []
        for part in (stream[:cut], stream[cut:]):
            buffer += part
            got += decode_frames(buffer)
        assert [m["n"] for m in got] == [0, 1, 2]
        assert buffer == b""


def test_oversized_and_non_json_frames_are_refused():
    with pytest.raises(ProtocolError, match="over the"):
        decode_frames(bytearray(struct.pack(">I", MAX_FRAME + 1)))
    with pytest.raises(ProtocolError, match="not JSON"):
        decode_frames(bytearray(struct.pack(">I", 3) + b"{x}"))
