"""Allowed verifications with an amount count as turnover in the running figures (policy
``[figures] count_verifications``), through the in-process audit batcher; denied ones never."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from app.dataplane.runtime import runtime
from app.models import MerchantFigures
from checks.policy import POLICY_DIR
from tests.figures_support import onboarded, read
from tests.keys_support import issue, verify


@pytest.fixture
def settings(settings, request, tmp_path):
    changes = {"key_activation_delay": 0}
    if getattr(request, "param", True) is False:
        text = (POLICY_DIR / "kyb-2026.11.2.toml").read_text(encoding="utf-8")
        policy = tmp_path / "kyb-2026.11.2.toml"
        policy.write_text(text.replace("count_verifications = true",
                                       "count_verifications = false", 1), encoding="utf-8")
        changes["policy_path"] = str(policy)
    return settings.replace(**changes)


def test_allowed_verifications_with_an_amount_are_sales_denied_ones_are_not(app, api,
                                                                           db_session):
    merchant_id = onboarded(api, db_session,
                            activated_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
    key = issue(api, merchant_id)
    assert verify(api, key["token"], amount="120.50", currency="TRY")["allowed"]
    assert verify(api, key["token"], amount="10", currency="USD")["allowed"]  # 420 TRY
    assert verify(api, key["token"])["allowed"]  # no amount: nothing to count
    denied = verify(api, key["token"], amount="60000", currency="TRY")  # over 50,000 a payment
    assert not denied["allowed"]
    assert runtime(app).figures.drain()
    row = read(db_session, lambda s: s.get(MerchantFigures, merchant_id))
    assert (row.sales_count, row.sales_try) == (2, Decimal("540.50"))
    assert Decimal(row.window_turnover["30"]) == Decimal("540.50")


@pytest.mark.parametrize("settings", [False], indirect=True)
def test_the_policy_can_leave_verification_traffic_out(app, api, db_session):
    merchant_id = onboarded(api, db_session,
                            activated_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
    key = issue(api, merchant_id)
    assert verify(api, key["token"], amount="120.50", currency="TRY")["allowed"]
    assert runtime(app).figures.drain()
    assert read(db_session, lambda s: s.get(MerchantFigures, merchant_id)) is None
