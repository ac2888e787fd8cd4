"""Every message of the merchant page's evidence, chart and network (issue #11) has a Turkish
translation."""

from __future__ import annotations

from tests.translation_support import extracted, untranslated

FILES = {"python": ["app/staff/presenters.py", "app/web/evidence.py"],
         "jinja2": ["templates/macros/evidence.html", "templates/staff/merchant.html"]}


def test_every_evidence_and_merchant_page_message_has_a_turkish_translation():
    found = extracted(FILES)
    assert len(found) > 200
    assert untranslated(found) == []
