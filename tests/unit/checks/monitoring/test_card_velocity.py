"""R-C7: the same card 5 or more times within 2 hours at one merchant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
CARD = "c" * 64
START = NOW - timedelta(hours=3)


def uses(tx, offsets_minutes, card=CARD, type="sale"):
    return [tx(START + timedelta(minutes=m), "99.90", type=type, card_fingerprint=card)
            for m in offsets_minutes]


@pytest.mark.parametrize(("last_offset", "fires"), [
    (timedelta(minutes=119, seconds=59), True),
    (timedelta(minutes=120), True),                  # exactly two hours: within
    (timedelta(minutes=120, seconds=1), False),
])
def test_card_velocity_window_is_two_hours_inclusive(run, tx, last_offset, fires):
    used = uses(tx, [0, 10, 20, 30]) + [tx(START + last_offset, "99.90", card_fingerprint=CARD)]
    hits = run("card_velocity", used, NOW)
    assert bool(hits) is fires
    if fires:
        assert hits[0].subject == f"card:{CARD}"
        assert hits[0].dedupe_key == f"card_velocity:card:{CARD}:2026-11-21"
        assert hits[0].evidence["uses"] == 5


@pytest.mark.parametrize(("count", "fires"), [(4, False), (5, True), (6, True)])
def test_card_velocity_fires_at_five_uses(run, tx, count, fires):
    hits = run("card_velocity", uses(tx, range(0, 10 * count, 10)), NOW)
    assert bool(hits) is fires
    if fires:
        assert hits[0].evidence["uses"] == count
        assert f"used {count} times" in hits[0].summary


def test_card_velocity_counts_each_card_separately(run, tx):
    mixed = uses(tx, [0, 10, 20]) + uses(tx, [30, 40], card="d" * 64)
    assert run("card_velocity", mixed, NOW) == ()


def test_card_velocity_counts_sales_only(run, tx):
    used = uses(tx, [0, 10, 20, 30]) + uses(tx, [40], type="refund")
    assert run("card_velocity", used, NOW) == ()


def test_card_velocity_ignores_transactions_after_now(run, tx):
    used = uses(tx, [0, 10, 20, 30]) + [tx(NOW + timedelta(seconds=1), "1",
                                           card_fingerprint=CARD)]
    assert run("card_velocity", used, NOW - timedelta(hours=1, minutes=30)) == ()
