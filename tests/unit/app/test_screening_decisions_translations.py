"""Every message of the screening decisions (the sanctions row's hits, "not this person", the
four-eyes confirmation; issue #12 items 3 and 4) has a Turkish translation."""

from __future__ import annotations

from tests.translation_support import extracted, untranslated

FILES = {"python": ["app/staff/screening_views.py"],
         "jinja2": ["templates/staff/_screening_hits.html"]}


def test_every_screening_decision_message_has_a_turkish_translation():
    found = extracted(FILES)
    assert len(found) > 15
    assert untranslated(found) == []
