"""Every message of the Reports and Webhooks console pages (R-D8, R-D6) has a Turkish
translation."""

from __future__ import annotations

from tests.translation_support import extracted, untranslated

FILES = {"python": ["app/staff/report_views.py"],
         "jinja2": ["templates/staff/reports.html", "templates/staff/webhooks.html"]}


def test_every_reports_and_webhooks_message_has_a_turkish_translation():
    found = extracted(FILES)
    assert len(found) > 40
    assert untranslated(found) == []
