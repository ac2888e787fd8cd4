"""Scenario fidelity through the real ingest paths (issue #9 item 4): the payment-account fields
of ``POST /api/v1/transactions`` (personal data only as digests), a late day judged for its own
day, 40 sales 30 s apart, every scenario's stored verdict (API and staff page, English and
Turkish), ``occurred_at`` on alerts, and verification traffic feeding the POS scenarios."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlmodel import select

from app.dataplane.runtime import wait_idle
from app.models import Alert, AuditEvent, ScenarioResult, Transaction
from tests.factories import application
from tests.keys_support import CLIENT_IP, approved_merchant, issue, verify

IST = ZoneInfo("Europe/Istanbul")
EMAIL = "Ayse.Yilmaz@example.com"
PHONE = "+989121234567"  # an Iranian mobile: FATF black list


@pytest.fixture
def settings(settings):
    return settings.replace(key_activation_delay=0)


@pytest.fixture
def merchant_id(api) -> str:
    resp = api.post("/api/v1/merchants", json=application())
    assert resp.status_code == 201
    return resp.get_json()["id"]


def local_noon(days_ago: int) -> dt.datetime:
    """Noon in Istanbul ``days_ago`` days before the reference day: today from 15:00 local
    time, else yesterday, so that "noon of day 0 minus a few hours" is never in the future
    (the API refuses future transactions; the tests failed between midnight and 10:00)."""
    local = dt.datetime.now(IST)
    today = local.date() if local.hour >= 15 else local.date() - dt.timedelta(days=1)
    day = today - dt.timedelta(days=days_ago)
    return dt.datetime.combine(day, dt.time(12, 0), IST).astimezone(dt.UTC)


def post(api, merchant_id: str, rows: list[dict]):
    body = {"transactions": [{"merchant_id": merchant_id, "type": "sale", "currency": "TRY",
                              **row} for row in rows]}
    resp = api.post("/api/v1/transactions", json=body)
    assert resp.status_code in (200, 201), resp.get_json()
    return resp


def when(moment: dt.datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def detached(db_session, statement) -> list:
    """Rows read and let go: SQLite holds a write lock for a session's transaction, so the
    test's session must not keep one open while the app writes."""
    db_session.expire_all()
    rows = list(db_session.exec(statement).all())
    for row in rows:
        db_session.expunge(row)
    db_session.rollback()
    return rows


def scenario_alerts(db_session, merchant_id: str, scenario: str) -> list[Alert]:
    return detached(db_session, select(Alert).where(Alert.merchant_id == merchant_id,
                                                    Alert.scenario == scenario))


def test_account_fields_are_stored_with_email_and_phone_only_as_digests(app, api, db_session,
                                                                       merchant_id):
    opened = local_noon(3)
    resp = post(api, merchant_id, [{
        "external_id": "t-1", "type": "transfer", "amount": "250", "occurred_at":
        when(local_noon(0) - dt.timedelta(hours=1)), "account_ref": "acc-1",
        "account_opened_at": when(opened), "account_type": "personal",
        "account_holder_birth_year": 2001, "counterparty_ref": "cp-1", "account_email": EMAIL,
        "account_phone": PHONE, "ip_country": "TR"}])
    [item] = resp.get_json()["items"]
    assert (item["account_ref"], item["phone_country"], item["ip_country"]) == ("acc-1", "IR",
                                                                               "TR")
    assert EMAIL not in resp.get_data(True) and PHONE not in resp.get_data(True)
    [row] = detached(db_session, select(Transaction).where(Transaction.external_id == "t-1"))
    assert (row.type, row.account_ref, row.account_type) == ("transfer", "acc-1", "personal")
    assert row.account_opened_at == opened and row.counterparty_ref == "cp-1"
    assert len(row.account_email_hash) == 64 and len(row.account_phone_hash) == 64
    assert (row.phone_country, row.ip_country) == ("IR", "TR")
    dump = " ".join(str(v) for r in db_session.execute(sa.text("SELECT * FROM payment_transaction"))
                    for v in r if v is not None)
    db_session.rollback()
    assert EMAIL.lower() not in dump.lower() and "9121234567" not in dump
    assert scenario_alerts(db_session, merchant_id, "risky_country")  # the Iranian phone


@pytest.mark.parametrize(("field", "value"), [
    ("account_email", "not-an-email"), ("account_phone", "12"), ("ip_country", "ZZZ"),
    ("account_type", "joint"), ("account_opened_at", "2026-01-01T00:00:00"),
])
def test_bad_account_fields_are_refused_one_entry_per_field(api, merchant_id, field, value):
    body = {"merchant_id": merchant_id, "external_id": "x", "type": "transfer", "amount": "1",
            "currency": "TRY", "occurred_at": when(local_noon(1)), field: value}
    resp = api.post("/api/v1/transactions", json=body)
    assert resp.status_code == 422
    assert any(field in str(e) for e in resp.get_json()["errors"])


def test_a_late_day_is_judged_for_that_day(api, db_session, merchant_id):
    """A 10x day posted after local midnight still opens the turnover-jump alert of its day."""
    post(api, merchant_id, [{"external_id": "base", "amount": "1000",
                             "occurred_at": when(local_noon(2))}])
    late = local_noon(1)
    post(api, merchant_id, [{"external_id": "late", "amount": "10000",
                             "occurred_at": when(late)}])
    [alert] = scenario_alerts(db_session, merchant_id, "turnover_jump")
    assert alert.dedupe_key.endswith(f":{late.astimezone(IST).date()}")
    assert alert.occurred_at == late
    assert alert.details["occurred_at"] == late.isoformat()


def test_forty_sales_thirty_seconds_apart_open_a_bot_alert(api, db_session, merchant_id):
    # 11:00-11:20 in Istanbul: the run stays in one local day whenever the test runs
    start = local_noon(0) - dt.timedelta(hours=1)
    post(api, merchant_id, [{"external_id": f"b{i}", "amount": "49.90", "occurred_at":
                             when(start + dt.timedelta(seconds=30 * i))} for i in range(40)])
    [alert] = scenario_alerts(db_session, merchant_id, "bot_intervals")
    assert alert.details["sales_in_run"] == 40
    assert alert.occurred_at == start


def test_every_scenario_verdict_is_stored_and_served(api, make_api, db_session, merchant_id):
    post(api, merchant_id, [{"external_id": "one", "amount": "100",
                             "occurred_at": when(local_noon(0) - dt.timedelta(hours=2))}])
    rows = detached(db_session, select(ScenarioResult).where(
        ScenarioResult.merchant_id == merchant_id))
    by_code = {r.scenario: r for r in rows if r.stream == "transactions"}
    assert by_code["turnover_jump"].status == "insufficient_data"
    assert "no base day" in by_code["turnover_jump"].reason
    assert by_code["young_account"].status == "insufficient_data"
    reader = make_api("merchants:read")
    body = reader.get(f"/api/v1/merchants/{merchant_id}/monitoring").get_json()
    results = {(r["stream"], r["scenario"]): r for r in body["results"]}
    assert results[("transactions", "night_turnover")]["status"] == "insufficient_data"
    assert results[("transactions", "night_turnover")]["reason"].startswith("1 sales")
    assert results[("verifications", "card_velocity")]["status"] == "not_evaluated"
    assert all(r["status"] != "insufficient_data" or r["reason"] for r in body["results"])
    assert reader.get("/api/v1/merchants/mer_nope/monitoring").status_code == 404
    no_scope = make_api("transactions:write")
    assert no_scope.get(f"/api/v1/merchants/{merchant_id}/monitoring").status_code == 403


def test_a_status_change_is_audited_once(api, db_session, merchant_id):
    for n in range(2):
        post(api, merchant_id, [{"external_id": f"o{n}", "amount": "100",
                                 "occurred_at": when(local_noon(0) - dt.timedelta(hours=n))}])
    events = detached(db_session, select(AuditEvent).where(
        AuditEvent.action == "monitoring.judged", AuditEvent.merchant_id == merchant_id,
        AuditEvent.reason == "turnover_jump"))
    assert len(events) == 1 and events[0].details["new"] == "insufficient_data"


def test_identity_reused_across_accounts_opens_an_alert(api, db_session, merchant_id):
    other = api.post("/api/v1/merchants", json=application(
        legal_name="Başka Ticaret A.Ş.")).get_json()["id"]
    post(api, other, [{"external_id": "o1", "amount": "10", "account_ref": "acc-a",
                       "account_email": EMAIL, "occurred_at": when(local_noon(40))}])
    assert not scenario_alerts(db_session, merchant_id, "identity_reuse")
    post(api, merchant_id, [{"external_id": "m1", "amount": "10", "account_ref": "acc-b",
                             "account_email": EMAIL.upper(),
                             "occurred_at": when(local_noon(0) - dt.timedelta(hours=1))}])
    [alert] = scenario_alerts(db_session, merchant_id, "identity_reuse")
    assert alert.details["accounts"] == ["acc-a", "acc-b"]


def test_verifications_with_an_amount_feed_the_pos_scenarios(app, api, db_session):
    merchant = approved_merchant(api, db_session)
    key = issue(api, merchant)
    for n in range(5):
        verify(api, key["token"], amount="120.00", currency="TRY", operation="sale",
               card_number="4111111111111111", customer_ref=f"v-{n}")
    wait_idle(app)
    [alert] = scenario_alerts(db_session, merchant, "card_velocity")
    assert f"{merchant}:verify:card_velocity:" in alert.dedupe_key
    assert alert.details["stream"] == "verifications" and alert.occurred_at is not None
    stored = {r.scenario: r for r in detached(db_session, select(ScenarioResult).where(
        ScenarioResult.merchant_id == merchant, ScenarioResult.stream == "verifications"))}
    assert stored["card_velocity"].status == "hit"
    assert stored["bot_intervals"].status == "insufficient_data"  # 5 sales: no run of 6
    assert CLIENT_IP  # every request came from the whitelisted address


def test_verifications_without_an_amount_feed_nothing(app, api, db_session):
    merchant = approved_merchant(api, db_session)
    key = issue(api, merchant)
    for n in range(5):
        verify(api, key["token"], customer_ref=f"v-{n}")
    wait_idle(app)
    assert not detached(db_session, select(ScenarioResult).where(
        ScenarioResult.merchant_id == merchant, ScenarioResult.stream == "verifications"))


def test_api_anomaly_alerts_carry_their_first_request(app, api, db_session):
    merchant = approved_merchant(api, db_session)
    key = issue(api, merchant)
    audit_ids = [verify(api, key["token"], customer_ref=f"c-{n}")["audit_id"] for n in range(5)]
    wait_idle(app)
    [alert] = scenario_alerts(db_session, merchant, "api_ip_many_customers")
    [first] = detached(db_session, select(AuditEvent).where(AuditEvent.id == audit_ids[0]))
    assert alert.occurred_at == first.at


def test_verification_scenarios_are_throttled_per_merchant(app, api, db_session):
    import time

    from app.dataplane.runtime import runtime

    monitor = runtime(app).monitor
    merchant = approved_merchant(api, db_session)
    key = issue(api, merchant)
    verify(api, key["token"], amount="10.00", currency="TRY", operation="sale")
    wait_idle(app)  # the first one runs at once
    assert merchant in monitor._scenario_last and merchant not in monitor._scenario_due
    verify(api, key["token"], amount="10.00", currency="TRY", operation="sale")
    deadline = time.monotonic() + 5
    while merchant not in monitor._scenario_due and time.monotonic() < deadline:
        time.sleep(0.02)
    # The second waits for its turn: the policy's interval after the first evaluation.
    due = monitor._scenario_due[merchant]
    assert due >= monitor._scenario_last[merchant] + monitor.scenario_interval - 0.001
    assert merchant not in monitor._due()


def test_in_the_audit_writer_the_scenarios_are_a_job_of_the_job_worker(app, api, db_session,
                                                                      tmp_path):
    """Issue #14: an evaluation costs ~30 µs per verification of the trailing days, seconds
    for a busy merchant; the host's audit writer queues ``evaluate_verification_scenarios``
    (``app.jobs.monitoring``) instead of holding its own interpreter that long."""
    from app.dataplane.runtime import runtime, writer_shipper
    from app.jobs import run_queued_jobs

    merchant = approved_merchant(api, db_session)
    key = issue(api, merchant)
    shipper, observers = writer_shipper(app, app.extensions["kyb.engine"], str(tmp_path))
    assert observers is runtime(app) and observers.monitor.run_scenarios is not None
    for n in range(5):
        verify(api, key["token"], amount="120.00", currency="TRY", operation="sale",
               card_number="4111111111111111", customer_ref=f"v-{n}")
    wait_idle(app)
    assert not scenario_alerts(db_session, merchant, "card_velocity")  # queued, not judged
    assert "evaluate_verification_scenarios" in run_queued_jobs(app)
    [alert] = scenario_alerts(db_session, merchant, "card_velocity")
    assert alert.details["stream"] == "verifications"
    stored = {r.scenario: r.status for r in detached(db_session, select(ScenarioResult).where(
        ScenarioResult.merchant_id == merchant, ScenarioResult.stream == "verifications"))}
    assert stored["card_velocity"] == "hit" and stored["bot_intervals"] == "insufficient_data"
