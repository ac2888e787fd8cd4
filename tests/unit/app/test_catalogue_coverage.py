"""Issue #11: everything a person reads is in their language. Every message of the staff
console and of the merchant portal (each file ``babel.cfg`` maps) has a Turkish translation
that is not fuzzy, and every stored code a page shows (check, scenario, status, tier, role…)
has a label, so a new code cannot reach a Turkish reader in English."""

from __future__ import annotations

import pytest

import checks.monitoring
from checks.policy import load_policy
from tests.translation_support import extracted_everywhere, untranslated

SHARED = ("app/web/", "templates/base.html", "templates/error.html", "templates/macros/",
          "checks/", "app/services/")  # the explanations and alert summaries the console shows
AUDIENCES = {"console": ("app/staff/", "templates/staff/"),
             "portal": ("app/portal/", "templates/portal/")}


def _messages(prefixes: tuple[str, ...]) -> set[str]:
    return {message for path, found in extracted_everywhere().items()
            if path.startswith(prefixes + SHARED) for message in found}


@pytest.mark.parametrize("audience", sorted(AUDIENCES))
def test_every_message_of_the_audience_has_a_turkish_translation(audience):
    found = _messages(AUDIENCES[audience])
    assert len(found) > 100  # the extraction really read the files
    assert untranslated(found) == []


def test_every_mapped_file_is_read_by_one_audience_or_shared():
    paths = extracted_everywhere()
    every = SHARED + tuple(p for prefixes in AUDIENCES.values() for p in prefixes)
    assert [p for p in paths if not p.startswith(every)] == []


def test_every_check_and_scenario_code_has_a_label():
    from app.services.api_anomalies import IP_SCENARIO, REF_SCENARIO
    from app.services.blacklist_alerts import SCENARIO as BLACKLIST_SCENARIO
    from app.web.labels import CHECK, SCENARIO
    assert sorted({c.code for c in load_policy().checks} - set(CHECK)) == []
    codes = {*checks.monitoring.codes(), IP_SCENARIO, REF_SCENARIO, BLACKLIST_SCENARIO}
    assert sorted(codes - set(SCENARIO)) == []
