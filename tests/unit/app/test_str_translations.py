"""Every message of the STR panel and views has a Turkish translation (and is not fuzzy), and
the catalogue has no duplicate entries."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.translation_support import PO, catalogue, extracted

FILES = {"python": ["app/staff/str_views.py"],
         "jinja2": ["templates/staff/_case_str.html", "templates/staff/case_str.html"]}


@pytest.mark.parametrize("message", sorted(extracted(FILES)))
def test_str_message_has_a_turkish_translation(message):
    entry = catalogue()[message]
    assert entry is not None, message
    assert entry.string and not entry.fuzzy


def test_catalogue_has_no_duplicate_msgid():
    ids = [line for line in PO.read_text(encoding="utf-8").splitlines()
           if line.startswith("msgid ") and line != 'msgid ""']  # "" starts a multi-line id
    assert [m for m, n in Counter(ids).items() if n > 1] == []
