"""checks.wording: a check's sentence kept as its English template and values (issue #11)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from checks.kyb.outcome import outcome
from checks.result import CheckResult
from checks.wording import says, written


def test_the_english_text_is_the_template_filled_with_the_values():
    said = says("Domain %(d)s was registered on %(on)s.", d="a.com.tr", on=date(2026, 1, 2))
    assert said.text() == "Domain a.com.tr was registered on 2026-01-02."
    assert said.to_dict() == {"template": "Domain %(d)s was registered on %(on)s.",
                              "args": {"d": "a.com.tr", "on": "2026-01-02"}}


def test_sentences_among_the_values_are_written_and_joined():
    said = says("Website check: %(problems)s.", problems=[
        says("%(d)s has no MX record", d="a.com.tr"), says("%(a)s and %(b)s", a=says("x"),
                                                         b=Decimal("0.5"))])
    assert said.text() == "Website check: a.com.tr has no MX record; x and 0.5."
    marked = written(said.to_dict(), lambda template: f"«{template}»")
    assert marked == "«Website check: «a.com.tr has no MX record»; ««x» and 0.5».»"


def test_a_result_keeps_the_wording_beside_the_english_explanation(policy):
    result = outcome(policy, "domain_age", "pass", says("Old enough: %(n)s days.", n=400), {})
    assert result.explanation == "Old enough: 400 days."
    assert result.wording == {"template": "Old enough: %(n)s days.", "args": {"n": 400}}
    assert CheckResult.from_dict(result.to_dict()) == result
    stored_before = {k: v for k, v in result.to_dict().items() if k != "wording"}
    assert CheckResult.from_dict(stored_before).wording is None
