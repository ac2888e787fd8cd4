"""A scenario's summary keeps its English template and values (``checks.wording``), so the
console can write it in Turkish (issue #11); the English text is the template filled in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from checks.wording import written
from tests.translation_support import catalogue

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def _turkish(template: str) -> str:
    message = catalogue().get(template)
    assert message is not None and message.string, template
    return message.string


def test_a_hit_keeps_the_template_of_its_summary(run, tx):
    used = [tx(NOW - timedelta(minutes=50 - 10 * i), "99.90", card_fingerprint="c" * 64)
            for i in range(5)]
    (hit,) = run("card_velocity", used, NOW)
    assert hit.wording["template"].startswith("Card …%(card)s was used %(uses)s times")
    assert written(hit.wording, lambda t: t) == hit.summary  # the English text, unchanged
    turkish = written(hit.wording, _turkish)
    assert "kartı" in turkish and "times" not in turkish and "cccccccc" in turkish
