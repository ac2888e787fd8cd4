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
    "111", "Fatura no 2026-11", "", None,
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


# --- betting words inside words, leetspeak and the allow-list (issue #9) ---------------------

@pytest.mark.parametrize(("description", "term"), [
    ("bet365 yükleme", "bet"), ("1xbet para yatırma", "bet"), ("Kumarhane", "kumar"),
    ("KUMARHANE GİRİŞ", "kumar"), ("b3t bakiye", "bet"), ("k4ç4k maç", "kacak"),
    ("B E T", "bet"), ("b.e.t ödeme", "bet"), ("superbetin", "bet"), ("tipobet", "bet"),
    ("bahisçi", "bahis"), ("CASİNO", "casino"), ("c@sino", "casino"), ("alfabetbet", "bet"),
    ("BAHİS", "bahis"), ("İDDAA", "iddaa"),
])
def test_betting_words_are_found_inside_words(run, tx, description, term):
    [hit] = run("suspicious_description", [tx(NOW, description=description)], NOW)
    assert f"term:{term}" in hit.evidence["transactions"][0]["reasons"]


@pytest.mark.parametrize("description", [
    "alfabet kitabı", "Tablet kılıfı", "Betül Hanım sipariş", "sohbet kahvesi", "beton harcı",
    "Better shoes", "Muhabbet kuşu yemi", "nöbet ücreti", "diyabet çorabı", "limon sorbet",
    "BETONARME", "tabletler", "Sipariş 3365 TL", "fatura 1357",
])
def test_allowed_words_and_numbers_stay_clean(run, tx, description):
    assert run("suspicious_description", [tx(NOW, description=description)], NOW) == ()


def test_the_allow_list_and_terms_come_from_the_policy(policy):
    from checks.monitoring.descriptions import betting_terms

    params = policy.monitoring.params
    assert {"bet", "kumar", "kacak", "bhs"} <= set(params["description_terms"])
    assert "alfabet" in params["description_allow"]
    assert betting_terms("alfabet", params["description_terms"]) == ["bet"]
    assert betting_terms("alfabet", params["description_terms"],
                         params["description_allow"]) == []


def test_no_description_at_all_is_insufficient_data(run, tx):
    result = run("suspicious_description", [tx(NOW)], NOW)
    assert result == () and "description" in result.reason
