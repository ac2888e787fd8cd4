"""R-E5: lowering a limit applies at once; anything that loosens one waits (``loosens``),
under the strictest of old and new meanwhile (``strictest``), from its time on (``in_force``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from api_keys.limits import Limits, in_force, loosens, strictest

D = Decimal
TRY_500 = Limits("TRY", D("500"), D("2000"), frozenset({"sale"}))


@pytest.mark.parametrize(("new", "expected"), [
    (Limits("TRY", D("500"), D("2000"), frozenset({"sale"})), False),  # the same
    (Limits("TRY", D("499.99"), D("2000"), frozenset({"sale"})), False),  # just lower
    (Limits("TRY", D("500.01"), D("2000"), frozenset({"sale"})), True),  # just higher
    (Limits("TRY", D("500"), D("2000.01"), frozenset({"sale"})), True),
    (Limits("TRY", None, D("2000"), frozenset({"sale"})), True),  # limit removed
    (Limits("TRY", D("500"), None, frozenset({"sale"})), True),
    (Limits("EUR", D("10"), D("20"), frozenset({"sale"})), True),  # cannot compare currencies
    (Limits("TRY", D("500"), D("2000"), frozenset({"sale", "refund"})), True),  # more operations
    (Limits("TRY", D("500"), D("2000"), None), True),  # any operation
    (Limits("TRY", D("500"), D("2000"), frozenset({"void"})), True),  # another operation
], ids=["same", "lower", "higher-tx", "higher-daily", "no-tx-limit", "no-daily-limit",
        "other-currency", "more-operations", "any-operation", "other-operation"])
def test_what_loosens_a_limit(new, expected):
    assert loosens(TRY_500, new) is expected


def test_adding_limits_to_an_unlimited_key_is_not_an_increase():
    assert not loosens(Limits(), TRY_500)
    assert loosens(TRY_500, Limits())


def test_strictest_keeps_each_lower_limit_and_the_common_operations():
    new = Limits("TRY", D("100"), D("9000"), frozenset({"sale", "refund"}))
    assert strictest(TRY_500, new) == Limits("TRY", D("100"), D("2000"), frozenset({"sale"}))
    assert strictest(Limits(), new) == new
    other = Limits("EUR", D("1"), None, None)
    assert strictest(TRY_500, other) == TRY_500  # amounts in another currency wait whole


def test_raised_limits_apply_from_their_instant_on():
    at = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    raised = Limits("TRY", D("5000"), D("20000"), None)
    assert in_force(TRY_500, raised, at, at - timedelta(seconds=1)) == TRY_500
    assert in_force(TRY_500, raised, at, at) == raised
    assert in_force(TRY_500, None, None, at) == TRY_500
