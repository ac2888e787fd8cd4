"""The console writes a check's explanation in the reader's language from its stored wording
(issue #11); English readers, and results stored before the wording, get the stored text."""

from __future__ import annotations

import pytest
from flask_babel import force_locale

from app.web.filters import explanation
from checks.wording import says

SAID = says("Website check: %(problems)s.", problems=[
    says("%(domain)s has no MX record", domain="a.com.tr"),
    says("the contact e-mail uses a free mailbox (%(d)s)", d="gmail.com")])
CHECK = {"code": "domain_dns", "explanation": SAID.text(), "wording": SAID.to_dict()}


@pytest.mark.parametrize("lang,text", [
    ("en", "Website check: a.com.tr has no MX record; the contact e-mail uses a free mailbox "
           "(gmail.com)."),
    ("tr", "Web sitesi kontrolü: a.com.tr için MX kaydı yok; iletişim e-postası ücretsiz bir "
           "posta kutusu kullanıyor (gmail.com)."),
])
def test_an_explanation_reads_in_the_readers_language(app, lang, text):
    with app.test_request_context(), force_locale(lang):
        assert explanation(CHECK) == text


def test_a_result_stored_without_wording_shows_its_english_text(app):
    with app.test_request_context(), force_locale("tr"):
        assert explanation({"explanation": "Old text."}) == "Old text."
