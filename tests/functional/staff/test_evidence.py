"""Evidence rendered as readable facts (issue #11, templates/macros/evidence.html): one renderer
per check, links to linked merchants, dates in the reader's locale, a sanctions hit's list entry,
alias and per-feature explanation, both people of an identity conflict, and a readable key/value
list for a kind of fact no renderer knows. Never JSON, never ``\\u`` escapes."""

from __future__ import annotations

import re
from html import unescape

import pytest
from flask import render_template_string

HIT = {"kind": "sanctions", "list_name": "OFAC SDN", "list_version": "sha256:" + "a8443a91" * 8,
       "entry_id": "11600", "entry_name": "Murat KARAYILAN", "matched_alias": "Murat KARAYILAN",
       "subject": "Murat Karayılan", "subject_role": "owner", "score": 100.0,
       "birth_date_match": True, "nationality_match": None, "programs": ["SDNTK"],
       "identifier_match": False,
       "explanation": {"method": "phonetic", "name_parts": ["murat = murat",
                                                           "karayilan ~ karajilan"],
                       "unmatched": ["bey"], "subject_script": "Latin",
                       "alias_script": "Cyrillic", "weak_alias": True,
                       "identifier": "the tax number differs from the entry's"}}
PEP = {**HIT, "kind": "pep", "list_name": "OpenSanctions PEP", "entry_name": "Ayşe Çelik",
       "matched_alias": "Ayse Celik", "subject": "Ayşe Çelik", "score": 84.0,
       "position": "Belediye Başkanı", "explanation": None,
       "dismissal": {"dismissal_id": "dis_1", "status": "active", "reason": "other person",
                     "dismissed_by": "staff:ayse", "dismissed_at": "2026-11-20T09:15:00+00:00",
                     "confirmed_by": "staff:mehmet",
                     "confirmed_at": "2026-11-20T10:00:00+00:00"}}
POLICY = {"version": "kyb-2026.11.2", "points": 30, "min_age_days": 90}
CHECKS = [
    {"code": "domain_age", "evidence": {"domain": "sansoyun-bonus.com", "created_on": "2026-11-13",
                                        "source": "rdap", "age_days": 14, "min_age_days": 90,
                                        "policy": POLICY}},
    {"code": "sanctions_pep", "evidence": {
        "screened_lists": ["OFAC SDN@sha256:" + "a8443a91" * 8, "UN Consolidated@2026-02-27"],
        "strong": [HIT], "possible": [], "dismissed": [PEP], "below_threshold": 2,
        "matcher": {"screened_with": 2, "scores_calibrated_for": 2}, "policy": POLICY}},
    {"code": "shared_ownership", "evidence": {
        "linked": [{"merchant_id": "mer_linked1", "name": "Kripto Hızlı Transfer Ltd. Şti.",
                    "status": "suspended", "shares": ["owner", "signup_ip"]}],
        "merchants_per_owner": [{"owner_name": "Deniz Koç", "merchants": 3}],
        "identity_conflicts": [{"national_id_masked": "*******4571",
                                "submitted_name": "Deniz Koç", "submitted_birth_date": "2006-03-01",
                                "on_file_name": "Deniz Kocaman",
                                "on_file_birth_date": "1971-08-09",
                                "merchant_ids": ["mer_onfile1"]}],
        "capital": {"amount": "10000.0000", "currency": "TRY"},
        "factors": [{"finding": "capital is low", "points": 10}], "policy": POLICY}},
    {"code": "blacklist", "evidence": {"hits": [{"kind": "ip", "value": "198.51.100.66",
                                                 "reason": "card testing"}], "policy": POLICY}},
    {"code": "high_risk_country", "evidence": {
        "countries": [{"role": "registration", "country": "TR"}],
        "hits": [{"role": "IBAN", "country": "IR", "list": "black"}], "not_checked": [],
        "fatf_as_of": "2025-10-24", "policy": POLICY}},
    {"code": "new_merchant_turnover", "evidence": {
        "activated_at": "2026-10-21T15:49:07.506602+00:00",
        "windows": [{"days": 30, "start": "2026-10-21T15:49:07+00:00",
                     "end": "2026-11-20T15:49:07+00:00", "complete": True,
                     "turnover_try": "700429.4700", "cap_try": "250000", "reached": True}],
        "policy": POLICY}},
    {"code": "iban_change_frequency", "evidence": {
        "changes_in_window": ["2026-09-08T15:49:07+00:00"], "count": 1,
        "window_start": "2026-08-29T14:49:07+00:00", "window_days": 90, "flag_at_changes": 3,
        "total_changes": 1, "policy": POLICY}},
    {"code": "price_ticket_mismatch", "evidence": {
        "sales": 1162, "reference_try": "40.0000",
        "prices": [{"source": "declared_max", "amount": "40.0000", "currency": "TRY",
                    "amount_try": "40.0000"}], "median_try": "736.8750", "p90_try": "947.96",
        "median_ratio": "18.42", "p90_ratio": "23.70", "policy": POLICY}},
    {"code": "device_reputation", "evidence": {
        "device_id": "dev-Çağrı", "seen_at": "2026-11-02", "flags": ["emulator", "rooted"],
        "details": {"vendor_score": "0.93", "vendor": "Örnek"}}},
]
TEMPLATE = ('{% from "macros/evidence.html" import evidence %}'
            '{% for c in checks %}<article id="{{ c.code }}">{{ evidence(c) }}</article>'
            '{% endfor %}')


def _render(app, lang: str) -> dict[str, str]:
    with app.test_request_context(f"/staff/?lang={lang}"):
        html = render_template_string(TEMPLATE, checks=CHECKS)
    return {m.group(1): m.group(2) for m in re.finditer(
        r'<article id="([a-z_]+)">(.*?)</article>', html, re.S)}


@pytest.fixture
def english(app) -> dict[str, str]:
    return _render(app, "en")


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def test_every_check_gets_readable_facts_never_json(english):
    assert set(english) == {c["code"] for c in CHECKS}
    for html in english.values():
        assert '{"' not in html and "\\u" not in html and "{'" not in html
        assert "<dl" in html or "<table" in html


def test_a_sanctions_hit_shows_its_list_entry_alias_and_each_feature(english):
    text = _text(english["sanctions_pep"])
    for fact in ("List entry", "Murat KARAYILAN", "OFAC SDN #11600", "Alias matched",
                 "a weak alias", "100 / 100", "SDNTK", "Birth date matches",
                 "Nationality not on both sides", "none shared", "they sound alike",
                 "karayilan ~ karajilan", "Words left unmatched: bey",
                 "Written in Latin and Cyrillic", "Candidates below the threshold 2",
                 "the tax number differs from the entry's"):
        assert fact in text, fact
    assert "sha256:a8443a91a844…" in text and "a8443a91" * 8 not in text.replace(
        'title="', "")


def test_a_dismissed_pep_hit_shows_position_and_who_dismissed_it(english):
    text = _text(english["sanctions_pep"])
    assert "Dismissed: not this person" in text and "Belediye Başkanı" in text
    assert "staff:ayse on 20/11/2026" in text or "staff:ayse on 11/20/26" in text
    assert "confirmed by staff:mehmet" in text


def test_linked_merchants_are_links_and_an_identity_conflict_shows_both_people(english):
    html = english["shared_ownership"]
    assert 'href="/staff/merchants/mer_linked1"' in html
    assert 'href="/staff/merchants/mer_onfile1"' in html
    text = _text(html)
    assert "shares owner, sign-up IP" in text and "suspended" in text
    assert "Deniz Koç" in text and "Deniz Kocaman" in text
    assert "Mar 1, 2006" in text and "Aug 9, 1971" in text
    assert "10,000.00 TRY" in text


def test_dates_and_amounts_follow_the_locale(app, english):
    turkish = _render(app, "tr")
    assert "Nov 13, 2026" in _text(english["domain_age"])
    assert "13 Kas 2026" in _text(turkish["domain_age"])
    assert "700,429.47 TRY" in _text(english["new_merchant_turnover"])
    assert "700.429,47 TRY" in _text(turkish["new_merchant_turnover"])
    assert "Türkiye (TR)" in _text(turkish["high_risk_country"])
    assert "İran (IR)" in _text(turkish["high_risk_country"])
    assert "Eşleşen ad" in _text(turkish["sanctions_pep"])


def test_an_unknown_kind_of_fact_falls_back_to_a_readable_key_value_list(english):
    html = english["device_reputation"]
    text = _text(html)
    assert "Device id dev-Çağrı" in text
    assert "Seen at Nov 2, 2026" in text
    assert "emulator" in text and "rooted" in text
    assert "Vendor score 0.93" in text and "Örnek" in text
    assert html.count("<dl") == 2  # the nested facts as a nested list, not JSON


def test_a_renderer_still_shows_keys_it_does_not_know(app):
    check = {"code": "domain_age", "evidence": {"domain": "x.com", "created_on": "2020-01-01",
                                                "source": "whois", "registrar": "Örnek Registrar"}}
    with app.test_request_context("/staff/"):
        html = render_template_string('{% from "macros/evidence.html" import evidence %}'
                                      "{{ evidence(c) }}", c=check)
    assert "Registrar" in html and "Örnek Registrar" in html


@pytest.mark.parametrize("evidence", [{"linked": 2}, {"linked": ["mer_1"]}, ["a", "b"], "text"])
def test_evidence_of_another_shape_falls_back_to_the_key_value_list(app, evidence):
    check = {"code": "shared_ownership", "evidence": evidence}
    with app.test_request_context("/staff/"):
        html = render_template_string('{% from "macros/evidence.html" import evidence %}'
                                      "{{ evidence(c) }}", c=check)
    assert "Linked merchants" not in html  # not the renderer's labels
    assert '{"' not in html and "[" not in _text(html)
