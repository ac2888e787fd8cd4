"""Fixtures for the pure KYB checks: the bundled policy, a frozen ``now`` and a facts factory."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from checks.facts import (
    DnsFacts,
    DomainRegistration,
    IbanFacts,
    MerchantFacts,
    Money,
    Owner,
    PriceRange,
    Sale,
    SharedOwnership,
    SitePrice,
    TransactionsSummary,
    WebsitePrices,
)
from checks.policy import Policy, load_policy

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def policy() -> Policy:
    return load_policy()


@pytest.fixture
def now() -> datetime:
    """The frozen assessment instant every check test uses."""
    return NOW


def clean_facts(now: datetime = NOW) -> MerchantFacts:
    """A merchant on which every lookup was made and every check passes."""
    activated = now - timedelta(days=200)
    return MerchantFacts(
        merchant_id="m-1",
        legal_name="Örnek Ticaret A.Ş.",
        trade_name="Örnek Shop",
        country="TR",
        capital=Money(Decimal("500000.00"), "TRY"),
        founded_on=date(2019, 3, 4),
        email="info@shop-example.com.tr",
        email_domain="shop-example.com.tr",
        phone="+905551112233",
        website="https://www.shop-example.com.tr/",
        website_domain="shop-example.com.tr",
        iban=IbanFacts("TR330006100519786457841326", True, "TR", "00061"),
        iban_changes=(),
        domain_registration=DomainRegistration("shop-example.com.tr", date(2019, 3, 1), "rdap"),
        dns=DnsFacts(a=("203.0.113.10",), mx=("mx.shop-example.com.tr",)),
        website_prices=WebsitePrices((SitePrice(Decimal("120.00"), "TRY", "jsonld"),)),
        declared_prices=PriceRange(Decimal("10"), Decimal("200"), "TRY"),
        transactions=TransactionsSummary(
            activated_at=activated,
            sales=tuple(Sale(activated + timedelta(days=i), Decimal("150.00")) for i in range(10)),
        ),
        owners=(Owner("Ayşe Yılmaz", "123******90", date(1980, 5, 1), "TR", Decimal("100")),),
        shared_ownership=SharedOwnership(),
        screened_lists=("OFAC SDN@2026-11-20", "UN Consolidated@2026-11-19"),
        email_disposable=False,
        blacklist_hits=(),
    )


@pytest.fixture
def make_facts() -> Callable[..., MerchantFacts]:
    """``make_facts(**changes)``: the clean merchant with some facts replaced."""

    def make(**changes: Any) -> MerchantFacts:
        return dataclasses.replace(clean_facts(), **changes)

    return make
