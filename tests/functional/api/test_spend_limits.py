"""Running totals and merchant caps on ``POST /api/v1/verify`` (R-E5; SAMA 004 §15 c, g).

Daily and monthly limits are settled where the audit event is stored, under the chain lock:
concurrent requests never take a total past its limit, the total resets at 00:00 UTC, and every
event says which limit applied and what it found (``details.charges``, ``details.limit``).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from decimal import Decimal

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from app.models import Merchant
from tests.conftest import ApiClient
from tests.keys_support import approved_merchant, issue, verify

T0 = dt.datetime(2026, 3, 2, 23, 59, 59, tzinfo=dt.UTC)  # before the test's OAuth token expires
ISSUED = T0 - dt.timedelta(hours=1)


@pytest.fixture
def settings(settings):
    return settings.replace(key_activation_delay=0)


def _events(app) -> list[dict]:
    with app.extensions["kyb.engine"].connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM audit_event WHERE action = 'api.verify' "
                                    "ORDER BY seq")).mappings().all()
    events = [dict(r) for r in rows]
    for event in events:  # raw SQL: SQLite gives the JSON column back as text
        if isinstance(event["details"], str):
            event["details"] = json.loads(event["details"])
    return events


def _totals(app) -> dict[tuple[str, str, str], tuple[Decimal, int]]:
    from app.audit.spend import spend_totals
    with app.extensions["kyb.engine"].connect() as conn:
        rows = conn.execute(sa.text("SELECT DISTINCT subject FROM spend_total")).all()
        periods = [r[0] for r in conn.execute(sa.text("SELECT DISTINCT period FROM spend_total"))]
        return spend_totals(conn, [r[0] for r in rows], periods)


def _set_limits(db_session, merchant_id: str, **limits: str) -> None:
    merchant = db_session.get(Merchant, merchant_id)
    merchant.limits = {"currency": "TRY", **limits}
    db_session.add(merchant)
    db_session.commit()


def test_tier_defaults_cap_every_live_key_per_transaction(app, api, db_session):
    """A low-tier merchant's keys with no limits of their own still get the policy's
    50,000 TRY per transaction (``[limits.low]``); foreign currencies at the policy's rate."""
    merchant_id = approved_merchant(api, db_session)
    with freeze_time(ISSUED):
        key = issue(api, merchant_id)
    with freeze_time(T0):
        assert verify(api, key["token"], amount="50000.00", currency="TRY")["allowed"]
        over = verify(api, key["token"], amount="50000.01", currency="TRY")
        assert over["reason"] == "limit_exceeded"
        assert verify(api, key["token"], amount="1030.92", currency="EUR")["allowed"]  # 49,999.62
        assert verify(api, key["token"], amount="1030.93",
                      currency="EUR")["reason"] == "limit_exceeded"  # 50,000.11 TRY
    events = _events(app)
    assert events[1]["details"]["limit"] == "merchant per-transaction limit 50000 TRY (tier:low)"
    # the evidence: this host's total after the charge, and its leased slice of the limit
    assert events[0]["details"]["charges"][0] == {
        "subject": f"merchant:{merchant_id}", "period": "day", "currency": "TRY",
        "amount": "50000.00", "limit": "250000", "key": "2026-03-02", "spent": "50000",
        "leased": "50000"}


def test_merchant_daily_cap_spans_all_its_keys_and_resets_at_midnight_utc(app, api,
                                                                          db_session):
    merchant_id = approved_merchant(api, db_session)
    _set_limits(db_session, merchant_id, daily_amount="1000", max_amount_per_tx="800")
    with freeze_time(ISSUED):
        first, second = issue(api, merchant_id), issue(api, merchant_id, name="second")
    with freeze_time(T0):
        assert verify(api, first["token"], amount="600", currency="TRY")["allowed"]
        assert verify(api, second["token"], amount="399.99", currency="TRY")["allowed"]
        assert verify(api, second["token"], amount="0.02",
                      currency="TRY")["reason"] == "limit_exceeded"
        assert verify(api, first["token"], amount="0.01", currency="TRY")["allowed"]  # = 1000
        assert verify(api, first["token"], amount="0.01",
                      currency="TRY")["reason"] == "limit_exceeded"
    with freeze_time(T0 + dt.timedelta(seconds=1)):  # 00:00:00 UTC: a new day
        assert verify(api, second["token"], amount="800", currency="TRY")["allowed"]
    refused = _events(app)[2]
    assert (refused["decision"], refused["reason"]) == ("deny", "limit_exceeded")
    assert refused["details"]["limit"] == "merchant daily limit 1000 TRY"
    assert refused["details"]["charges"][0]["spent"] == "999.99"
    subject = f"merchant:{merchant_id}"
    totals = _totals(app)
    assert totals == {(subject, "2026-03-02", "TRY"): (Decimal("1000.00"), 3),
                      (subject, "2026-03-03", "TRY"): (Decimal("800.00"), 1)}
    # (no monthly limit was set, so no monthly total is kept)


def test_monthly_cap_from_the_approval_decision(app, api, db_session):
    merchant_id = approved_merchant(api, db_session)
    _set_limits(db_session, merchant_id, monthly_amount="1500")
    with freeze_time(dt.datetime(2026, 2, 1, tzinfo=dt.UTC)):
        key = issue(api, merchant_id)
    with freeze_time(dt.datetime(2026, 2, 3, 12, tzinfo=dt.UTC)):
        assert verify(api, key["token"], amount="1000", currency="TRY")["allowed"]
    with freeze_time(dt.datetime(2026, 2, 28, 23, 59, 59, tzinfo=dt.UTC)):
        assert verify(api, key["token"], amount="500.01",
                      currency="TRY")["reason"] == "limit_exceeded"
        assert verify(api, key["token"], amount="500", currency="TRY")["allowed"]
    with freeze_time(dt.datetime(2026, 3, 1, tzinfo=dt.UTC)):
        assert verify(api, key["token"], amount="1500", currency="TRY")["allowed"]
    assert _events(app)[1]["details"]["limit"] == "merchant monthly limit 1500 TRY"


def test_key_daily_limit_and_merchant_cap_both_hold(app, api, db_session):
    merchant_id = approved_merchant(api, db_session)
    _set_limits(db_session, merchant_id, daily_amount="5000")
    with freeze_time(ISSUED):
        key = issue(api, merchant_id, limits={"currency": "TRY", "daily_amount": "300"})
    with freeze_time(T0):
        assert verify(api, key["token"], amount="300", currency="TRY")["allowed"]
        assert verify(api, key["token"], amount="1", currency="TRY")["reason"] == \
            "limit_exceeded"
    assert _events(app)[1]["details"]["limit"] == "key daily limit 300 TRY"
    # The refused request took nothing from the merchant's total.
    assert _totals(app)[(f"merchant:{merchant_id}", "2026-03-02", "TRY")] == \
        (Decimal("300.00"), 1)


def test_denied_and_non_monetary_requests_are_not_counted(app, api, db_session):
    merchant_id = approved_merchant(api, db_session)
    _set_limits(db_session, merchant_id, daily_amount="100")
    key = issue(api, merchant_id)
    assert verify(api, key["token"], amount="50", currency="TRY",
                  client_ip="198.51.100.1")["reason"] == "ip_not_allowed"
    assert verify(api, key["token"], operation="refund")["allowed"]  # no amount
    assert verify(api, key["token"], amount="100", currency="TRY")["allowed"]
    assert list(_totals(app).values()) == [(Decimal("100.00"), 1)]


def test_test_keys_have_no_merchant_caps(app, api, db_session):
    from tests.keys_support import CLIENT_IP, SITE
    merchant_id = approved_merchant(api, db_session)
    key = issue(api, merchant_id, environment="test", ip_whitelist=[CLIENT_IP],
                back_urls=[SITE])
    assert verify(api, key["token"], amount="1000000", currency="TRY")["allowed"]
    assert _totals(app) == {}


def test_concurrent_requests_never_take_a_total_past_its_limit(app, api, db_session):
    """40 requests of 100 TRY from 8 threads against a 1,000 TRY daily cap: exactly 10 are
    allowed, whatever the interleaving (SAMA §15 g: blocked as soon as the limit is reached)."""
    merchant_id = approved_merchant(api, db_session)
    _set_limits(db_session, merchant_id, daily_amount="1000")
    key = issue(api, merchant_id)
    answers: list[dict] = []
    lock = threading.Lock()

    def send(n: int) -> None:
        client = ApiClient(app.test_client(), api.token, api.client_id, api.client_secret)
        for _ in range(5):
            body = verify(client, key["token"], amount="100", currency="TRY")
            with lock:
                answers.append(body)
    threads = [threading.Thread(target=send, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(answers) == 40
    assert sum(a["allowed"] for a in answers) == 10
    assert {a["reason"] for a in answers if not a["allowed"]} == {"limit_exceeded"}
    day = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")
    assert _totals(app)[(f"merchant:{merchant_id}", day, "TRY")] == (Decimal("1000.00"), 10)
    stored = [e for e in _events(app) if e["decision"] == "allow"]
    assert len(stored) == 10


def _notes(db_session, event: str) -> list:
    from sqlmodel import select

    from app.models import Notification
    db_session.expire_all()
    rows = list(db_session.exec(select(Notification).where(Notification.event == event)))
    db_session.commit()  # end the read: SQLite's transactions take the write lock here
    return rows


def _caps_events(db_session) -> list:
    from sqlmodel import select

    from app.models import AuditEvent
    db_session.expire_all()
    rows = list(db_session.exec(select(AuditEvent).where(
        AuditEvent.action == "keys.caps_changed").order_by(AuditEvent.seq)))
    db_session.commit()  # end the read: SQLite's transactions take the write lock here
    return rows


def test_a_re_approval_with_lower_caps_applies_to_keys_at_once_and_is_announced(
        app, api, db_session):
    from app.models import Assessment
    from tests.keys_support import add_approver, approver_proof
    merchant_id = approved_merchant(api, db_session)
    assessment = Assessment(merchant_id=merchant_id, policy_version="kyb-2026.11.1",
                            policy_digest="0" * 64, score=10, tier="low",
                            recommended_action="approve")
    db_session.add(assessment)
    merchant = db_session.get(Merchant, merchant_id)
    merchant.latest_assessment_id = assessment.id
    db_session.add(merchant)
    db_session.commit()
    approver = add_approver(db_session)
    key = issue(api, merchant_id)
    assert verify(api, key["token"], amount="30000", currency="TRY")["allowed"]  # tier:low
    resp = api.post(f"/api/v1/merchants/{merchant_id}/decisions", json={
        "decision": "suspend", "reason": "Chargebacks rising", **approver_proof(approver)})
    assert resp.status_code == 201, resp.get_json()
    resp = api.post(f"/api/v1/merchants/{merchant_id}/decisions", json={
        "decision": "approve_with_limits", "reason": "Back, with a lower cap",
        **approver_proof(approver, step=1), "limits": {"max_amount_per_tx": "20000"}})
    assert resp.status_code == 201, resp.get_json()
    refused = verify(api, key["token"], amount="20000.01", currency="TRY")
    assert refused["reason"] == "limit_exceeded"  # no wait for a cache to expire
    assert verify(api, key["token"], amount="20000", currency="TRY")["allowed"]
    (event,) = _caps_events(db_session)
    assert event.details["before"]["per_transaction"] == "50000"
    assert event.details["after"] == {"currency": "TRY", "per_transaction": "20000",
                                      "daily": "250000", "monthly": None,
                                      "source": "decision over tier:low"}
    (note,) = _notes(db_session, "keys.caps_changed")
    assert note.subject == "Your payment limits changed"
    assert "Per transaction: 50,000.00 TRY → 20,000.00 TRY" in note.body
    last = _events(app)[-2]
    assert last["details"]["limit"] == ("merchant per-transaction limit 20000 TRY "
                                        "(decision over tier:low)")


def test_a_move_to_the_medium_tier_lowers_default_caps_and_back_raises_them(
        app, api, db_session):
    from app.audit.trail import Actor
    from app.services import hooks
    merchant_id = approved_merchant(api, db_session)
    key = issue(api, merchant_id)

    def move(old: str, new: str) -> None:
        with app.app_context():  # the cache of this app's workers is dropped on commit
            merchant = db_session.get(Merchant, merchant_id)
            merchant.tier = new
            hooks.tier_changed(db_session, merchant=merchant, old_tier=old, new_tier=new,
                               assessment=None, actor=Actor("system:test"),
                               now=dt.datetime.now(dt.UTC))
            db_session.add(merchant)
            db_session.commit()
    move("low", "medium")
    assert verify(api, key["token"], amount="20000.01", currency="TRY")["reason"] == \
        "limit_exceeded"
    move("medium", "low")
    assert verify(api, key["token"], amount="20000.01", currency="TRY")["allowed"]
    lowered, raised = _notes(db_session, "keys.caps_changed")
    assert lowered.subject == "Your payment limits changed"
    assert lowered.body.startswith("Per transaction: 50,000.00 TRY → 20,000.00 TRY\n\n"
                                   "Per day: 250,000.00 TRY → 100,000.00 TRY")
    assert raised.subject == "Your payment limits were raised"
    assert raised.body.startswith("Per transaction: 20,000.00 TRY → 50,000.00 TRY")
    assert [e.reason for e in _caps_events(db_session)] == ["tier_medium", "tier_low"]


def test_the_limits_endpoint_shows_caps_and_what_is_used(app, api, db_session, make_api):
    merchant_id = approved_merchant(api, db_session)
    _set_limits(db_session, merchant_id, daily_amount="1000")
    with freeze_time(ISSUED):
        key = issue(api, merchant_id)
    with freeze_time(T0):
        assert verify(api, key["token"], amount="250.50", currency="TRY")["allowed"]
        resp = api.get(f"/api/v1/merchants/{merchant_id}/limits")
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json() == {
        "merchant_id": merchant_id, "currency": "TRY", "per_transaction": "50000",
        "source": "decision over tier:low", "policy_version": "kyb-2026.11.3",
        "timezone": "UTC",
        "day": {"period": "day", "key": "2026-03-02", "limit": "1000", "spent": "250.5",
                "remaining": "749.5", "count": 1, "resets_at": "2026-03-03T00:00:00Z"},
        "month": {"period": "month", "key": "2026-03", "limit": None, "spent": "250.5",
                  "remaining": None, "count": 1, "resets_at": "2026-04-01T00:00:00Z"}}
    assert api.get("/api/v1/merchants/mer_nope/limits").status_code == 404
    assert make_api("merchants:read").get(
        f"/api/v1/merchants/{merchant_id}/limits").status_code == 403


def _app_with_policy(settings, tmp_path, *replacements: tuple[str, str]):
    """An app running a copy of the active policy with ``replacements`` applied."""
    from pathlib import Path

    from app import create_app
    from checks.policy import ACTIVE_POLICY_FILE
    text = Path(ACTIVE_POLICY_FILE).read_text(encoding="utf-8")
    for old, new in replacements:
        assert old in text
        text = text.replace(old, new, 1)
    policy = tmp_path / "policy.toml"
    policy.write_text(text, encoding="utf-8")
    return create_app({"TESTING": True}, settings=settings.replace(policy_path=str(policy)))


def _close(other) -> None:
    from app.dataplane.runtime import close
    close(other)
    other.extensions["kyb.engine"].dispose()


def test_caps_come_from_the_policy_the_app_runs_with(app, api, db_session, settings, tmp_path):
    """``KYB_POLICY`` decides the caps for verification and the limits view alike."""
    strict = _app_with_policy(
        settings, tmp_path,
        ('[limits.low]\nper_transaction_try = "50000"',
         '[limits.low]\nper_transaction_try = "100"'),
        ('version = "kyb-2026.11.3"', 'version = "kyb-2026.11.3-strict"'))
    try:
        client = ApiClient(strict.test_client(), api.token, api.client_id, api.client_secret)
        key = issue(client, approved_merchant(client, db_session))
        assert verify(client, key["token"], amount="100", currency="TRY")["allowed"]
        assert verify(client, key["token"], amount="100.01",
                      currency="TRY")["reason"] == "limit_exceeded"
        view = client.get(f"/api/v1/merchants/{key['merchant_id']}/limits").get_json()
        assert (view["per_transaction"], view["policy_version"]) == (
            "100", "kyb-2026.11.3-strict")
    finally:
        _close(strict)


def test_a_local_calendar_in_the_policy_resets_daily_caps_at_local_midnight(
        app, api, db_session, settings, tmp_path):
    """With ``[keys] limit_timezone = "Europe/Istanbul"`` (UTC+3) the day ends at 21:00 UTC:
    a cap used up at 23:59:59 local time is fresh again one second later."""
    local = _app_with_policy(settings, tmp_path, (
        "max_grace_seconds = 86400",
        'max_grace_seconds = 86400\nlimit_timezone = "Europe/Istanbul"'))
    try:
        client = ApiClient(local.test_client(), api.token, api.client_id, api.client_secret)
        merchant_id = approved_merchant(client, db_session)
        _set_limits(db_session, merchant_id, daily_amount="1000")
        with freeze_time(ISSUED - dt.timedelta(hours=6)):
            key = issue(client, merchant_id)
        last_second = dt.datetime(2026, 3, 2, 20, 59, 59, tzinfo=dt.UTC)  # 23:59:59 local
        with freeze_time(last_second):
            assert verify(client, key["token"], amount="1000", currency="TRY")["allowed"]
            assert verify(client, key["token"], amount="0.01",
                          currency="TRY")["reason"] == "limit_exceeded"
        with freeze_time(last_second + dt.timedelta(seconds=1)):  # 00:00:00 on 3 March
            assert verify(client, key["token"], amount="1000", currency="TRY")["allowed"]
            view = client.get(f"/api/v1/merchants/{merchant_id}/limits").get_json()
        assert view["timezone"] == "Europe/Istanbul"
        assert (view["day"]["key"], view["day"]["spent"]) == ("2026-03-03", "1000")
        assert view["day"]["resets_at"] == "2026-03-04T00:00:00+03:00"
        assert view["month"]["resets_at"] == "2026-04-01T00:00:00+03:00"
        subject = f"merchant:{merchant_id}"
        totals = _totals(app)
        assert totals[(subject, "2026-03-02", "TRY")] == (Decimal("1000.00"), 1)
        assert totals[(subject, "2026-03-03", "TRY")] == (Decimal("1000.00"), 1)
    finally:
        _close(local)
