"""Shared fixtures for api_keys tests: peppers, a fixed ``now`` and a key-record factory."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from api_keys.backurls import SiteSet, parse_back_urls
from api_keys.tokens import Peppers, generate, hash_token
from api_keys.verification import KeyRecord, Limits
from api_keys.whitelist import NetworkSet, parse_whitelist

NOW = datetime(2026, 3, 2, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def now() -> datetime:
    return NOW


@pytest.fixture
def peppers() -> Peppers:
    return Peppers({1: b"old-pepper-0123456789abcdef", 2: b"new-pepper-0123456789abcdef"}, 2)


@pytest.fixture
def make_key(peppers):
    """Return ``(token, record)`` for a fresh key; keyword arguments override record fields."""

    def factory(environment: str = "live", **overrides):
        issued = generate(environment)
        version, digest = hash_token(issued.token, peppers)
        record = KeyRecord(
            key_id=issued.key_id,
            merchant_id="m-1",
            environment=environment,
            token_hash=digest,
            pepper_version=version,
            status="active",
            activates_at=datetime(2026, 3, 1, tzinfo=UTC),
            networks=NetworkSet(parse_whitelist(["8.8.8.0/24"], environment).networks),
            back_urls=SiteSet(parse_back_urls(["https://shop.com"], environment), environment),
            limits=Limits(
                currency="TRY",
                max_amount_per_tx=Decimal("1000.00"),
                daily_amount=Decimal("5000.00"),
                allowed_operations=frozenset({"sale", "refund"}),
            ),
        )
        return issued.token, replace(record, **overrides)

    return factory
