"""The journal's record format (``app.dataplane.journal``, issue #14): drafts survive the trip
exactly (their id included, so the answer's ``audit_id`` is the stored one); a record cut
anywhere is a torn tail, not an error; a damaged complete record is corruption."""

from __future__ import annotations

import datetime as dt
import json
import struct
from decimal import Decimal

import pytest

from app.audit.trail import DETAILS_JSON, EventDraft, event_row
from app.audit.wire import ProtocolError, draft_from_wire, draft_to_wire
from app.dataplane.journal import (
    HEADER,
    MAX_RECORD,
    CorruptJournal,
    encode_record,
    file_owner,
    journal_dir,
    read_records,
)

DRAFT = EventDraft(action="api.verify", actor="client:abc", merchant_id="mer_1", key_id="k1",
                   amount=Decimal("1234.5000"), currency="TRY", card_masked="411111******1111",
                   customer_ref="müşteri-ı", latency_ms=0.123456, decision="allow", reason="ok",
                   details={"channel": "gateway", "nested": {"a": [1, 2]}},
                   at=dt.datetime(2026, 11, 22, 9, 30, 15, 123456, tzinfo=dt.UTC),
                   id="evt_01jd0000000000000000000000")


def test_a_draft_survives_the_journal_exactly_with_its_id():
    (record,) = read_records(encode_record(draft_to_wire(DRAFT)))
    back = draft_from_wire(record.wire)
    assert back == DRAFT
    one, two = event_row(DRAFT, 7, "a" * 64), event_row(back, 7, "a" * 64)
    assert one == two and one["id"] == DRAFT.id  # same id, same row, same hash


@pytest.mark.parametrize("details", [
    {"channel": "gateway", "nested": {"a": [1, 2.5, None, True]}, "big": 1.5e16, "nan": "x"},
    {"note": "card 4111 1111 1111 1111 seen", "list": ["5500-0000-0000-0004"]},  # masked
    {"ü": "müşteri\u2028", "n": -0.0, "deep": [[{"k": "v"}]]},
    {},
])
def test_details_read_from_a_journal_give_the_same_row_without_the_json_round_trip(details):
    """The writer skips the normalising round trip for drafts it read from JSON
    (``json_details``): their rows, and so their hashes, are the same as with it; and the
    details' JSON it hands to the INSERT (unless they were walked for card numbers) is what
    the column's type would have encoded."""
    draft = EventDraft(**{**DRAFT.__dict__, "details": details})
    (record,) = read_records(encode_record(draft_to_wire(draft)))
    back = draft_from_wire(record.wire)
    row = event_row(back, 7, "a" * 64, json_details=True)
    text = row.pop(DETAILS_JSON, None)
    assert row == event_row(back, 7, "a" * 64)
    if "list" in details or "ü" in details:  # masked, or escapes only the walk can judge
        assert text is None
    else:
        assert text == json.dumps(row["details"])


def test_event_time_keeps_its_zone_and_naive_times_are_refused():
    other_zone = EventDraft(action="a", actor="b", at=dt.datetime(
        2026, 11, 22, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=3))))
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


def test_a_record_cut_at_any_byte_is_a_torn_tail_until_complete():
    one = encode_record(draft_to_wire(DRAFT))
    two = encode_record({"action": "a", "actor": "b"})
    stream = one + two
    for cut in range(len(stream) + 1):
        records = list(read_records(stream[:cut]))
        expected = 0 if cut < len(one) else 1 if cut < len(stream) else 2
        assert len(records) == expected, cut
    assert [r.end for r in read_records(stream, start=100)] == [100 + len(one),
                                                                100 + len(stream)]


@pytest.mark.parametrize("damage", ["magic", "checksum", "length", "not-json", "not-object"])
def test_a_damaged_complete_record_is_corruption_after_the_good_ones(damage):
    good = encode_record(draft_to_wire(DRAFT))
    bad = bytearray(encode_record({"action": "a", "actor": "b"}))
    if damage == "magic":
        bad[0:2] = b"XX"
    elif damage == "checksum":
        bad[-2] ^= 0x01
    elif damage == "length":
        bad[2:6] = struct.pack("<I", MAX_RECORD + 1)
    else:
        payload = b"{not json" if damage == "not-json" else json.dumps([1]).encode()
        import zlib
        bad = bytearray(HEADER.pack(b"KJ", len(payload), zlib.crc32(payload)) + payload)
    seen = []
    with pytest.raises(CorruptJournal, match=f"offset {len(good)}"):
        for record in read_records(good + bytes(bad)):
            seen.append(record)
    assert len(seen) == 1


def test_an_oversized_event_is_refused_before_it_is_written():
    with pytest.raises(ValueError, match="over"):
        encode_record({"action": "a", "actor": "b", "details": {"x": "y" * MAX_RECORD}})


def test_journal_folder_names_its_database_and_files_their_process(tmp_path):
    one = journal_dir(str(tmp_path), "sqlite:///a.db")
    assert one != journal_dir(str(tmp_path), "postgresql://h/other")
    assert one == journal_dir(str(tmp_path), "sqlite:///a.db")
    assert journal_dir(str(tmp_path), "sqlite:///a.db", "/set/by/env") == "/set/by/env"
    assert file_owner("4242-1732700000000000000-000001.kjl") == 4242
    assert file_owner("writer.status") is None
