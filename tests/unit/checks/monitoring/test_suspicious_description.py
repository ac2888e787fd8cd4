"""R-C10: descriptions with gibberish, repeated characters or betting words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from checks.monitoring.descriptions import fold

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("text", "folded"), [
    ("KAÇAK", "kacak"), ("İSTANBUL", "istanbul"), ("IĞDIR", "igdir"),
    ("Şüpheli Ödeme", "supheli odeme"),
])
def test_fold_is_turkish_aware(text, folded):
    assert fold(text) == folded


@pytest.mark.parametrize("description", [
    "kumar borcu", "KAÇAK bahis", "Kacak", "BET", "bet 365", "bhs ödemesi", "asdfg", "ASDF",
    "1111", "qwerty", "ödeme aaaa", "0000", "lkjh", "4321",
])
def test_suspicious_description_flags(run, tx, description):
    hits = run("suspicious_description", [tx(NOW, description=description)], NOW)
    assert len(hits) == 1
    assert hits[0].evidence["transactions"][0]["reasons"]


@pytest.mark.parametrize("description", [
    "alfabet kitabı", "Sipariş 10000 TL", "İstanbul teslimat", "Better shoes", "bahçe aaa",
    "111", "Fatura no 2026-11", "Kumarhane", "", None,
])
def test_suspicious_description_leaves_ordinary_text(run, tx, description):
    assert run("suspicious_description", [tx(NOW, description=description)], NOW) == ()


def test_suspicious_description_one_hit_per_local_day(run, tx):
    today = [tx(NOW - timedelta(minutes=i), description="kumar") for i in range(3)]
    yesterday = [tx(NOW - timedelta(days=1), description="1111")]
    hits = run("suspicious_description", today + yesterday, NOW)
    assert [h.dedupe_key for h in hits] == ["suspicious_description:merchant:2026-11-20",
                                            "suspicious_description:merchant:2026-11-21"]
    assert hits[1].evidence["count"] == 3
    assert hits[1].summary.startswith("3 transaction(s) on 2026-11-21")


def test_suspicious_description_same_key_when_evaluated_again_later(run, tx):
    flagged = [tx(NOW, description="kacak")]
    first = run("suspicious_description", flagged, NOW)
    later = run("suspicious_description", flagged, NOW + timedelta(hours=5))
    assert [h.dedupe_key for h in first] == [h.dedupe_key for h in later]
