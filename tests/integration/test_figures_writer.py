"""Verification traffic in the running figures, through the real audit writer process: allowed
verifications with an amount are journalled by the worker and counted in the writer's commit
(R-A4, R-A5), the crossing is re-judged in the writer after its commit (alert + assessment),
and the move to the high tier blocks the merchant's keys. SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal

import pytest
from sqlmodel import select

from app.dataplane.runtime import runtime
from app.models import Alert, Assessment, Merchant, MerchantFigures
from tests.figures_support import onboarded, read
from tests.integration.test_audit_journal import start_writer, stop_writer
from tests.keys_support import issue, verify
from tests.sealed_support import checks_of

pytestmark = pytest.mark.slow


@pytest.fixture
def settings(settings):
    return settings.replace(key_activation_delay=0)


@pytest.fixture
def worker(settings, tmp_path):
    """An app process that journals its verifications, and ``kybgate audit writer`` shipping
    them (and running the figures' monitors after its commits)."""
    from app import create_app
    journals = str(tmp_path / "journal")
    proc = start_writer(settings, journals)
    app = create_app({"TESTING": True}, settings=settings.replace(audit_journal_dir=journals))
    try:
        yield app
    finally:
        runtime(app).batcher.close()
        runtime(app).stop.set()
        app.extensions["kyb.engine"].dispose()
        print(stop_writer(proc))  # the writer's log, shown if the test fails


def eventually(probe, timeout: float = 15.0):
    """``probe()`` once it is truthy (the writer process works off the request path)."""
    deadline = time.monotonic() + timeout
    while not (value := probe()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return value


def test_verifications_crossing_250k_in_the_first_month_open_alert_and_flag_assessment(
        api, db_session, worker):
    from tests.conftest import ApiClient
    # Declared prices up to 20,000 TRY: tickets of 50,000 stay under the R-A5 ratios.
    merchant_id = onboarded(api, db_session, declared_max="20000",
                            activated_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
    key = issue(api, merchant_id)
    client = ApiClient(worker.test_client(), api.token, api.client_id, api.client_secret)
    # 249,999.99 TRY (the low tier allows 50,000 per payment and 250,000 a day).
    for amount in ["50000", "50000", "50000", "50000", "49999.99"]:
        assert verify(client, key["token"], amount=amount, currency="TRY")["allowed"]
    assert eventually(lambda: turnover(db_session, merchant_id) == Decimal("249999.99"))
    assert alerts(db_session, merchant_id) == []
    assert verify(client, key["token"], amount="0.01", currency="TRY")["allowed"]
    found = eventually(lambda: alerts(db_session, merchant_id))
    assert [(a.scenario, a.dedupe_key) for a in found] == [
        ("new_merchant_turnover", f"{merchant_id}:figures:new_merchant_turnover:30d")]
    assessment = eventually(lambda: (a := latest(db_session, merchant_id))
                            and a.trigger.startswith("figures:") and a)
    assert assessment.trigger == "figures:new_merchant_turnover"
    result = next(c for c in checks_of(assessment) if c["code"] == "new_merchant_turnover")
    assert result["status"] == "flag"
    assert (assessment.tier, assessment.recommended_action) == ("medium", "request_info")


def test_a_crossing_to_the_high_tier_blocks_the_keys(api, db_session, worker):
    from tests.conftest import ApiClient
    merchant_id = onboarded(api, db_session,
                            activated_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
    key = issue(api, merchant_id)
    client = ApiClient(worker.test_client(), api.token, api.client_id, api.client_secret)
    for _ in range(4):  # 4 tickets: fewer than min_sales, R-A5 cannot judge yet
        assert verify(client, key["token"], amount="50000", currency="TRY")["allowed"]
    assert eventually(lambda: turnover(db_session, merchant_id) == Decimal("200000"))
    assert alerts(db_session, merchant_id) == []
    # The 5th: 250,000 TRY (R-A4) and 5 tickets 250x the 200 TRY price (R-A5) at once.
    assert verify(client, key["token"], amount="50000", currency="TRY")["allowed"]
    assert eventually(lambda: len(alerts(db_session, merchant_id)) == 2)
    assert sorted(a.scenario for a in alerts(db_session, merchant_id)) == [
        "new_merchant_turnover", "price_ticket_mismatch"]
    assessment = eventually(lambda: (a := latest(db_session, merchant_id)) and a.tier == "high"
                            and a)
    eventually(lambda: verify(client, key["token"], amount="1", currency="TRY")[
        "reason"] == "merchant_not_active", timeout=5)
    assert assessment.trigger == "figures:new_merchant_turnover,price_ticket_mismatch"
    assert assessment.tier == "high"  # 30 + 35 points
    answer = verify(client, key["token"], amount="1", currency="TRY")
    assert (answer["allowed"], answer["reason"]) == (False, "merchant_not_active")


def turnover(db_session, merchant_id: str) -> Decimal | None:
    row = read(db_session, lambda s: s.get(MerchantFigures, merchant_id))
    return Decimal(row.window_turnover["30"]) if row and row.window_turnover else None


def latest(db_session, merchant_id: str) -> Assessment:
    return read(db_session, lambda s: s.get(
        Assessment, s.get(Merchant, merchant_id).latest_assessment_id))


def alerts(db_session, merchant_id: str) -> list[Alert]:
    return read(db_session, lambda s: list(s.exec(select(Alert).where(
        Alert.merchant_id == merchant_id)).all()))
