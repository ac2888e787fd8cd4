"""Values in the STR package: only first-6/last-4 card masks pass, free text and evidence are
scrubbed of card numbers, digests are left alone."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from app.services.str_report import values


@pytest.mark.parametrize(("stored", "shown"), [
    ("411111******1111", "411111******1111"),  # 16 digits
    ("411111**1111", "411111**1111"),  # 12 digits, the shortest PAN
    ("411111*********1111", "411111*********1111"),  # 19 digits, the longest
    ("4111111111111111", values.REDACTED),  # a full number
    ("4111111******111", values.REDACTED),  # seven leading digits shown
    ("411111*1111", values.REDACTED),  # 11 digits: not a PAN mask
    ("411111**********1111", values.REDACTED),  # 20 digits
    ("************1111", values.REDACTED),
    (None, None),
])
def test_only_first_six_last_four_masks_pass(stored, shown):
    assert values.card(stored) == shown


def test_evidence_is_scrubbed_but_digests_are_kept():
    digest = "4111111111111111" + "a" * 48  # a hex digest that starts with a Luhn-valid run
    tree = {"note": "kart 4111 1111 1111 1111", "card_masked": "5555555555554444",
            "sha256": digest, "transaction_id": "4111111111111111",
            "items": [{"description": "5555555555554444"}], "n": 3, "ok": True,
            "amount": Decimal("12.50"), "at": dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC)}
    out = values.evidence(tree)
    assert out["note"] == "kart 411111******1111"
    assert out["card_masked"] == values.REDACTED
    assert out["sha256"] == digest
    assert out["transaction_id"] == "411111******1111"  # digits only: may be a card number
    assert out["items"] == [{"description": "555555******4444"}]
    assert (out["n"], out["ok"], out["amount"], out["at"]) == (3, True, "12.5",
                                                               "2026-11-20T10:00:00Z")
