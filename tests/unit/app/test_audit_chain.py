"""``verify_chain`` over plain dicts: the first broken link is named for every kind of tamper."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from app.audit.chain import GENESIS_HASH, canonical_json, event_hash, verify_chain


def _chain(n: int = 5) -> list[dict]:
    events, prev = [], GENESIS_HASH
    for seq in range(1, n + 1):
        event = {"id": f"evt_{seq}", "seq": seq, "actor": "client:a", "action": "x",
                 "at": dt.datetime(2026, 3, 1, 12, seq, tzinfo=dt.UTC),
                 "amount": Decimal("10.5"), "details": {"n": seq}, "prev_hash": prev}
        event["hash"] = event_hash(event)
        events.append(event)
        prev = event["hash"]
    return events


def test_intact_chain_verifies():
    report = verify_chain(_chain())
    assert (report.ok, report.checked, report.head_seq) == (True, 5, 5)
    assert report.head_hash == _chain()[-1]["hash"]


def test_empty_chain_verifies_with_the_genesis_hash():
    report = verify_chain([])
    assert (report.ok, report.checked, report.head_hash) == (True, 0, GENESIS_HASH)


def _edit(events):
    events[2]["actor"] = "client:mallory"
    return events


def _delete(events):
    del events[2]
    return events


def _delete_and_renumber(events):
    del events[2]
    for event in events[2:]:
        event["seq"] -= 1
    return events


def _swap(events):
    events[2], events[3] = events[3], events[2]
    events[2]["seq"], events[3]["seq"] = 3, 4
    return events


def _insert(events):
    forged = {**events[2], "id": "evt_forged", "prev_hash": "f" * 64}
    forged["hash"] = event_hash(forged)
    for event in events[2:]:
        event["seq"] += 1
    return events[:2] + [forged] + events[2:]


@pytest.mark.parametrize(("tamper", "bad_seq", "bad_id", "word"), [
    (_edit, 3, "evt_3", "edited"),
    (_delete, 4, "evt_4", "sequence"),
    (_delete_and_renumber, 3, "evt_4", "prev_hash"),
    (_swap, 3, "evt_4", "prev_hash"),
    (_insert, 3, "evt_forged", "prev_hash"),
])
def test_tampering_is_reported_at_the_first_bad_event(tamper, bad_seq, bad_id, word):
    report = verify_chain(tamper(_chain()))
    assert report.ok is False
    assert (report.first_bad_seq, report.first_bad_id) == (bad_seq, bad_id)
    assert word in report.problem
    assert report.checked == 2


def test_canonical_json_is_independent_of_timezone_and_decimal_spelling():
    a = {"at": dt.datetime(2026, 3, 1, 15, 0, tzinfo=dt.timezone(dt.timedelta(hours=3))),
         "amount": Decimal("10.5")}
    b = {"at": dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC), "amount": Decimal("10.5000")}
    assert canonical_json(a) == canonical_json(b)
    assert "İ".encode() in canonical_json({"actor": "İ"})


def test_the_hashed_bytes_are_pinned():
    """The exact bytes every stored chain was hashed over: a faster encoder must give these
    (sorted keys, no spaces, UTF-8 unescaped, floats in details as ``json`` writes them,
    tuples as lists, the top-level time, amount and latency in their canonical spelling)."""
    event = {"id": "evt_1", "seq": 7, "prev_hash": GENESIS_HASH, "actor": 'ü\u2028"x',
             "at": dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=3))),
             "amount": Decimal("1.5"), "latency_ms": 1.23456,
             "details": {"b": [1, (2, 3)], "a": 1.5e16, "ü": "ğ", "n": None, "t": True}}
    assert canonical_json(event) == (
        '{"action":null,"actor":"ü\u2028\\"x","amount":"1.5000",'
        '"at":"2026-01-01T09:00:00.000000Z","card_masked":null,"currency":null,'
        '"customer_ref":null,"decision":null,"destination_ip":null,'
        '"details":{"a":1.5e+16,"b":[1,[2,3]],"n":null,"t":true,"ü":"ğ"},"id":"evt_1",'
        '"key_id":null,"latency_ms":"1.235","merchant_id":null,"operation":null,'
        f'"prev_hash":"{GENESIS_HASH}","reason":null,"request_id":null,"seq":7,"site":null,'
        '"source_ip":null,"target_id":null,"target_type":null}').encode()
