"""R-E5 over the API: a live key's limits go down at once, but an increase waits
``KYB_LIMIT_INCREASE_DELAY`` (here one hour) under the stricter limits, is shown as pending,
is notified to the merchant with its time, and is audited; test keys change at once."""

from __future__ import annotations

import datetime as dt

import pytest
from freezegun import freeze_time
from sqlmodel import select

from app.models import AuditEvent, Notification
from tests.keys_support import approved_merchant, issue, verify

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
DELAY = 3600
LOW = {"currency": "TRY", "max_amount_per_tx": "500", "daily_amount": "100000",
       "allowed_operations": ["sale"]}


@pytest.fixture
def settings(settings):
    return settings.replace(key_activation_delay=0, limit_increase_delay=DELAY)


@pytest.fixture
def key(api, db_session) -> dict:
    with freeze_time(T0):
        return issue(api, approved_merchant(api, db_session), limits=LOW)


def _patch(api, key: dict, **limits) -> dict:
    resp = api.patch(f"/api/v1/keys/{key['key_id']}", json={"limits": {**LOW, **limits}})
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def _reason(api, key: dict, amount: str, operation: str = "sale") -> str:
    return verify(api, key["token"], amount=amount, currency="TRY",
                  operation=operation)["reason"]


def test_an_increase_waits_its_delay_to_the_second(api, key):
    with freeze_time(T0):
        body = _patch(api, key, max_amount_per_tx="5000")
        assert body["limits"]["max_amount_per_tx"] == "500"  # still in force
        assert body["limit_increase"] == {
            "limits": {**LOW, "max_amount_per_tx": "5000"},
            "effective_at": (T0 + dt.timedelta(seconds=DELAY)).isoformat()}
        assert _reason(api, key, "500") == "ok"
        assert _reason(api, key, "500.01") == "limit_exceeded"
    with freeze_time(T0 + dt.timedelta(seconds=DELAY - 1)):
        assert _reason(api, key, "4999") == "limit_exceeded"
    with freeze_time(T0 + dt.timedelta(seconds=DELAY)):
        assert _reason(api, key, "4999") == "ok"
        assert _reason(api, key, "5000.01") == "limit_exceeded"


def test_a_decrease_applies_at_once(api, key):
    with freeze_time(T0):
        body = _patch(api, key, max_amount_per_tx="100")
        assert body["limits"]["max_amount_per_tx"] == "100"
        assert body["limit_increase"] is None
        assert _reason(api, key, "100.01") == "limit_exceeded"


def test_a_mixed_change_lowers_at_once_and_raises_later(api, key):
    with freeze_time(T0):
        _patch(api, key, max_amount_per_tx="100", allowed_operations=["sale", "refund"])
        assert _reason(api, key, "100.01") == "limit_exceeded"  # the lower part: now
        assert _reason(api, key, "50", "refund") == "limit_exceeded"  # the wider part: later
    with freeze_time(T0 + dt.timedelta(seconds=DELAY)):
        assert _reason(api, key, "50", "refund") == "ok"
        assert _reason(api, key, "100.01") == "limit_exceeded"


def test_the_merchant_is_told_when_an_increase_takes_effect_and_it_is_audited(
        api, key, db_session):
    with freeze_time(T0):
        _patch(api, key, daily_amount="250000")
    db_session.rollback()
    notice = db_session.exec(select(Notification).where(
        Notification.event == "key.updated")).one()
    assert "limit increase requested" in notice.subject
    assert "take effect at 3/2/26, 1:00\u202fPM" in notice.body  # 10:00 UTC, in Istanbul
    event = db_session.exec(select(AuditEvent).where(AuditEvent.action == "key.updated")).one()
    assert event.details["after"]["limit_increase"]["limits"]["daily_amount"] == "250000"
    assert event.details["before"]["limit_increase"] is None


def test_a_later_change_settles_an_increase_whose_time_has_come(api, key):
    with freeze_time(T0):
        _patch(api, key, max_amount_per_tx="5000")
    with freeze_time(T0 + dt.timedelta(seconds=DELAY + 60)):
        body = _patch(api, key, max_amount_per_tx="5000", daily_amount="90000")
    assert body["limits"]["max_amount_per_tx"] == "5000"
    assert body["limits"]["daily_amount"] == "90000"
    assert body["limit_increase"] is None


def test_rotation_keeps_a_waiting_increase(api, key):
    with freeze_time(T0):
        _patch(api, key, max_amount_per_tx="5000")
        resp = api.post(f"/api/v1/keys/{key['key_id']}/rotate", json={"grace_seconds": 60})
        assert resp.status_code == 201, resp.get_json()
        assert resp.get_json()["limit_increase"]["limits"]["max_amount_per_tx"] == "5000"


def test_test_keys_change_their_limits_at_once(api, db_session):
    with freeze_time(T0):
        merchant_id = approved_merchant(api, db_session)
        key = issue(api, merchant_id, environment="test", limits=LOW,
                    back_urls=["https://anadolucicek.com.tr"])
        body = _patch(api, key, max_amount_per_tx="5000")
        assert body["limits"]["max_amount_per_tx"] == "5000"
        assert body["limit_increase"] is None
