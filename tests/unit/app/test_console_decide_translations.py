"""Every message of the merchant decision form and the work queue has a Turkish translation
(issue #11: the analyst's decision form, the four-eyes marker and filter)."""

from __future__ import annotations

from tests.translation_support import extracted, untranslated

FILES = {
    "python": ["app/staff/forms.py", "app/staff/merchant_views.py", "app/staff/queue_views.py"],
    "jinja2": ["templates/staff/queue.html"],
}


def test_every_decision_form_and_queue_message_has_a_turkish_translation():
    assert untranslated(extracted(FILES)) == []
