"""Every message of the casework pages (alerts, cases, the portal's questions) has a Turkish
translation."""

from __future__ import annotations

from tests.translation_support import extracted, untranslated

FILES = {
    "python": ["app/staff/alert_views.py", "app/staff/case_views.py",
               "app/staff/casework_forms.py", "app/staff/casework_page.py",
               "app/portal/case_request_views.py"],
    "jinja2": ["templates/staff/alerts.html", "templates/staff/alert.html",
               "templates/staff/cases.html", "templates/staff/case.html",
               "templates/portal/questions.html"],
}


def test_every_casework_message_has_a_turkish_translation():
    assert untranslated(extracted(FILES)) == []
