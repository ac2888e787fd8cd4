"""The check registry refuses duplicate codes."""

from __future__ import annotations

import pytest

import checks.kyb  # noqa: F401 - registers the KYB checks
from checks.registry import REGISTRY, CheckRegistry, DuplicateCheckError, UnknownCheckError, check

CODES = {
    "domain_age",
    "domain_dns",
    "iban_valid",
    "iban_change_frequency",
    "shared_ownership",
    "price_ticket_mismatch",
    "new_merchant_turnover",
    "sanctions_pep",
    "high_risk_country",
    "disposable_email",
    "blacklist",
}


def never_called(facts, policy, now):
    raise AssertionError("not run")


def test_every_kyb_check_is_registered_under_its_stable_code():
    assert set(REGISTRY) == CODES


def test_registry_refuses_a_second_check_with_the_same_code():
    registry = CheckRegistry()
    registry.check("domain_age")(never_called)
    with pytest.raises(DuplicateCheckError, match="already registered"):
        registry.check("domain_age")(never_called)


def test_default_registry_refuses_to_replace_a_kyb_check():
    with pytest.raises(DuplicateCheckError):
        check("domain_age")(never_called)
    assert REGISTRY.get("domain_age").__module__ == "checks.kyb.domain"


@pytest.mark.parametrize("code", ["", "Domain Age", "domain-age"])
def test_registry_refuses_codes_that_are_not_identifiers(code):
    with pytest.raises(ValueError):
        CheckRegistry().register(code, never_called)


def test_registry_reports_an_unknown_code():
    with pytest.raises(UnknownCheckError):
        CheckRegistry().get("nope")
