"""The merchant page says, in English and Turkish, what a check could not judge (issue #13
item 7): the kind of list not loaded for ``sanctions_pep`` and the lists consulted, the
countries not known for ``high_risk_country``."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po
from flask import render_template_string
from flask_babel import force_locale

from checks.facts import IbanFacts, Owner
from checks.kyb.country import high_risk_country
from checks.kyb.screening import sanctions_pep
from checks.policy import load_policy
from tests.unit.checks.conftest import NOW, clean_facts

ROOT = Path(__file__).resolve().parents[2]
PARTIAL = "templates/staff/_check_missing.html"
POLICY = load_policy()
SDN = "OFAC SDN@2026-11-20"


def _render(app, check, locale: str) -> str:
    with app.test_request_context(), force_locale(locale):
        return " ".join(render_template_string(
            '{% include "staff/_check_missing.html" %}', c=check).split())


def test_missing_pep_list_is_explained_in_english_and_turkish(app):
    facts = replace(clean_facts(), screened_lists=(SDN,), sanctions_lists=(SDN,),
                    pep_lists=())
    check = sanctions_pep(facts, POLICY, NOW)
    assert check.status == "unknown"
    assert ("No PEP list is loaded: politically exposed persons were not screened. "
            f"Lists consulted: {SDN}.") in _render(app, check, "en")
    assert ("Yüklü PEP listesi yok: siyasi nüfuz sahibi kişiler taranmadı. "
            f"Bakılan listeler: {SDN}.") in _render(app, check, "tr")


def test_missing_countries_are_explained_in_english_and_turkish(app):
    facts = replace(clean_facts(), owners=(Owner("Ali Veli"),),
                    iban=IbanFacts("TR33", False, None))
    check = high_risk_country(facts, POLICY, NOW)
    english, turkish = _render(app, check, "en"), _render(app, check, "tr")
    assert "The nationality of owner Ali Veli is not known, so it was not checked." in english
    assert "The IBAN's country is not known, so it was not checked." in english
    assert "Ali Veli adlı ortağın uyruğu bilinmiyor, bu yüzden kontrol edilmedi." in turkish
    assert "IBAN'ın ülkesi bilinmiyor, bu yüzden kontrol edilmedi." in turkish


def test_a_check_that_judged_shows_no_note(app):
    check = high_risk_country(clean_facts(), POLICY, NOW)
    assert check.status == "pass" and _render(app, check, "en") == ""


def test_every_message_of_the_note_has_a_turkish_translation():
    catalogue = read_po((ROOT / "app/translations/tr/LC_MESSAGES/messages.po").open("rb"),
                        locale="tr")
    found = [m for _l, m, _c, _x in extract_from_file("jinja2", ROOT / PARTIAL,
                                                      keywords={"_": None})]
    assert len(found) == 5
    assert [m for m in found if not (catalogue.get(m) and catalogue.get(m).string)] == []
