"""Fixtures for the monitoring scenarios: a transaction factory, an activity builder and a way
to run one scenario. Times are explicit aware UTC instants (Istanbul is UTC+3 all year)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from checks.monitoring import Activity, MonitoredTransaction, ScenarioHit, SectorAverage
from checks.monitoring.registry import get
from checks.policy import Policy


@pytest.fixture
def tx() -> Callable[..., MonitoredTransaction]:
    """``tx(at, amount="100", type="sale", **fields)``."""
    counter = iter(range(1_000_000))

    def make(at: datetime, amount: Any = "100", type: str = "sale",
             **fields: Any) -> MonitoredTransaction:
        fields.setdefault("transaction_id", f"trx_{next(counter)}")
        return MonitoredTransaction(occurred_at=at, amount_try=Decimal(str(amount)), type=type,
                                    **fields)
    return make


@pytest.fixture
def run(policy: Policy) -> Callable[..., tuple[ScenarioHit, ...]]:
    """``run(code, transactions, now, sector=None)``: the hits of one scenario."""
    def call(code: str, transactions: list[MonitoredTransaction], now: datetime,
             sector: SectorAverage | None = None) -> tuple[ScenarioHit, ...]:
        return get(code)(Activity(tuple(transactions), sector), policy, now)
    return call
