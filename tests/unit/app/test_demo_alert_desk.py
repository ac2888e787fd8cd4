"""The demo analyst's conclusions (``app.demo.alert_desk``; issue #11): every scenario monitoring
can raise gets a disposition ``close_alert`` accepts and a reason a reviewer would write, and
the demo's risk stories are confirmed, not waved through."""

from __future__ import annotations

import pytest

import checks.monitoring  # noqa: F401 - registers the scenarios
from app.demo.alert_desk import CASE_NOTES, CASE_PATTERNS, CONCLUSIONS, conclusion
from app.services.alerts import DISPOSITIONS, REASON_MAX
from checks.monitoring.registry import codes

PATTERNS = ("", "night", "round", "front", "jump", "stolen_card")


@pytest.mark.parametrize("pattern", PATTERNS)
def test_every_scenario_gets_a_disposition_and_a_reason(pattern):
    others = ("blacklist_hit", "api_ip_many_customers", "price_ticket_mismatch",
              "new_merchant_turnover")  # raised outside the transaction scenarios
    for scenario in [*codes(), *others]:
        disposition, reason = conclusion(scenario, pattern)
        assert disposition in DISPOSITIONS
        # the longest reason with the case reference appended still fits
        assert 40 <= len(reason) <= REASON_MAX - 40
        assert reason[0].isupper() and reason.endswith(".")


def test_the_risk_stories_are_confirmed_the_benign_ones_explained():
    assert conclusion("night_turnover", "night")[0] == "true_positive"
    assert conclusion("price_ticket_mismatch", "front")[0] == "true_positive"
    assert conclusion("night_turnover", "")[0] == "false_positive"
    assert conclusion("round_amounts", "round")[0] == "not_suspicious"
    assert {pattern for _scenario, pattern in CONCLUSIONS} - {None} <= set(PATTERNS)
    assert set(CASE_PATTERNS) == set(CASE_NOTES) == {"night", "front"}
