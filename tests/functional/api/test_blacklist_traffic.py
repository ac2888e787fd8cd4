"""Blacklists enforced on traffic (R-E2, R-E3): ``/verify``, ``/auth`` (and the Envoy path) and
``POST /transactions`` refuse a blacklisted IP or CIDR, card, customer ref, e-mail, phone or
device with ``blacklisted``; the hit is audited and opens one ``blacklist_hit`` alert per
merchant, entry and day; adding an entry re-assesses the merchants it touches."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import select

from app.dataplane.runtime import wait_idle
from app.jobs import job_queue, run_queued_jobs
from app.models import Alert, Assessment, AuditEvent, Merchant, Transaction
from tests.keys_support import CLIENT_IP, SITE, approved_merchant, issue, verify
from tests.sealed_support import checks_of

PAN, OTHER_PAN = "4111111111111111", "5555555555554444"


@pytest.fixture
def settings(settings):
    return settings.replace(key_activation_delay=0)


@pytest.fixture
def key(api, db_session) -> dict:
    return issue(api, approved_merchant(api, db_session))


def listed(api, kind: str, value: str) -> dict:
    resp = api.post("/api/v1/blacklist", json={"kind": kind, "value": value,
                                               "reason": "fraud ring"})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def alerts(db_session) -> list[Alert]:
    """The blacklist alerts (read, then the read transaction ended: SQLite readers here
    begin IMMEDIATE and would hold off the alert writer)."""
    db_session.expire_all()
    found = list(db_session.exec(select(Alert).where(Alert.scenario == "blacklist_hit")).all())
    db_session.commit()
    return found


# (kind, listed value, request fields that hit, request fields that just miss)
CASES = [
    ("ip", "93.184.216.32/28", {"client_ip": "93.184.216.47"}, {"client_ip": "93.184.216.48"}),
    ("ip", "93.184.216.34", {"client_ip": CLIENT_IP}, {"client_ip": "93.184.216.35"}),
    ("card", PAN, {"card_number": "4111 1111 1111 1111"}, {"card_number": OTHER_PAN}),
    ("customer", "cust-77", {"customer_ref": "cust-77"}, {"customer_ref": "cust-770"}),
    ("email", "Fraud@Example.com", {"email": "fraud@example.COM"},
     {"email": "fraud@example.org"}),
    ("phone", "+90 532 123 45 67", {"phone": "0532 123 45 67"}, {"phone": "+905321234568"}),
    ("device", "DEV-1", {"device_id": " dev-1"}, {"device_id": "dev-2"}),
]


@pytest.mark.parametrize(("kind", "value", "hit", "miss"), CASES,
                         ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_verify_refuses_each_kind_and_allows_the_value_beside_it(app, api, key, db_session,
                                                                 kind, value, hit, miss):
    entry = listed(api, kind, value)
    assert verify(api, key["token"], **miss)["reason"] == "ok"
    denied = verify(api, key["token"], **hit)
    assert (denied["allowed"], denied["reason"]) == (False, "blacklisted")
    assert denied["merchant_id"] == key["merchant_id"]
    wait_idle(app)  # the alert is opened off the request path (SQLite: before we read)
    event = db_session.get(AuditEvent, denied["audit_id"])
    assert (event.decision, event.reason) == ("deny", "blacklisted")
    assert event.details["blacklist"]["entry_id"] == entry["id"]
    assert event.details["blacklist"]["kind"] == kind
    (alert,) = alerts(db_session)
    assert (alert.merchant_id, alert.severity) == (key["merchant_id"], "high")
    assert (alert.details["entry_id"], alert.details["kind"]) == (entry["id"], kind)
    assert alert.details["channel"] == "verify"


def test_the_alert_is_opened_once_per_entry_and_day_and_masks_the_value(app, api, key,
                                                                         db_session):
    entry = listed(api, "email", "fraud@example.com")
    for _ in range(3):
        assert verify(api, key["token"], email="fraud@example.com")["reason"] == "blacklisted"
    wait_idle(app)
    (alert,) = alerts(db_session)
    assert alert.details["value"] == "f***@example.com"
    assert "fraud@example.com" not in repr(alert.details) + alert.summary
    assert alert.due_at - alert.occurred_at == dt.timedelta(hours=3)
    opened = db_session.exec(select(AuditEvent).where(AuditEvent.action == "alert.opened",
                                                      AuditEvent.target_id == alert.id)).one()
    assert (opened.reason, opened.details["entry_id"]) == ("blacklist_hit", entry["id"])


def test_removal_lifts_the_block_at_once(api, key):
    entry = listed(api, "customer", "cust-9")
    assert verify(api, key["token"], customer_ref="cust-9")["reason"] == "blacklisted"
    assert api.delete(f"/api/v1/blacklist/{entry['id']}").status_code == 422  # needs a reason
    resp = api.delete(f"/api/v1/blacklist/{entry['id']}?reason=cleared+by+the+bank")
    assert resp.status_code == 200
    assert verify(api, key["token"], customer_ref="cust-9")["reason"] == "ok"


def test_a_revoked_key_reports_key_revoked_not_blacklisted(api, key):
    listed(api, "ip", CLIENT_IP)
    assert api.delete(f"/api/v1/keys/{key['key_id']}").status_code in (200, 204)
    assert verify(api, key["token"])["reason"] == "key_revoked"


def _auth(client, path="/api/v1/auth", method="GET", **headers):
    return client.open(path, method=method, headers=headers,
                       environ_base={"REMOTE_ADDR": "127.0.0.1"})


@pytest.mark.parametrize(("path", "method"), [("/api/v1/auth", "GET"),
                                              ("/api/v1/auth/payments/42", "POST")])
@pytest.mark.parametrize(("kind", "value", "header", "sent"), [
    ("ip", "93.184.216.0/30", "X-Forwarded-For", "93.184.216.3"),
    ("device", "gw-device-1", "X-Device-Id", "GW-DEVICE-1"),
    ("card", PAN, "X-Card-Number", PAN),
    ("customer", "cust-5", "X-Customer-Ref", "cust-5"),
    ("email", "mule@example.com", "X-Customer-Email", "mule@example.com"),
    ("phone", "+905321234567", "X-Customer-Phone", "+90 532 123 45 67"),
])
def test_gateway_answers_403_with_x_deny_reason_blacklisted(app, api, client, key, path,
                                                            method, kind, value, header, sent):
    app.extensions["kyb.settings"].trusted_proxies = ("127.0.0.1/32",)
    base = {"X-Api-Key": key["token"], "Origin": SITE, "X-Forwarded-For": CLIENT_IP}
    listed(api, kind, value)
    assert _auth(client, path, method, **base).status_code == 204
    denied = _auth(client, path, method, **{**base, header: sent})
    assert (denied.status_code, denied.headers["X-Deny-Reason"]) == (403, "blacklisted")
    assert denied.headers["X-Audit-Id"]


def _trx(merchant_id: str, n: int, **extra) -> dict:
    body = {"merchant_id": merchant_id, "external_id": f"t-{n}", "type": "sale",
            "amount": "120.00", "currency": "TRY", "occurred_at": "2026-11-20T10:00:00Z",
            "card_number": OTHER_PAN, "customer_ref": f"c-{n}", "client_ip": "198.51.100.7"}
    body.update(extra)
    return body


def test_a_single_blacklisted_transaction_is_refused_with_422_and_alerted(api, key,
                                                                          db_session):
    entry = listed(api, "card", PAN)
    resp = api.post("/api/v1/transactions", json=_trx(key["merchant_id"], 1, card_number=PAN))
    assert resp.status_code == 422
    problem = resp.get_json()
    assert problem["type"].endswith("/blacklisted")
    assert problem["errors"] == [{"field": "card_number", "code": "blacklisted",
                                  "message": f"card on the blacklist (entry {entry['id']})"}]
    assert db_session.exec(select(Transaction)).all() == []
    refused = db_session.exec(select(AuditEvent).where(
        AuditEvent.action == "transaction.refused")).one()
    assert (refused.reason, refused.decision, refused.card_masked) == \
        ("blacklisted", "deny", "411111******1111")
    (alert,) = alerts(db_session)
    assert (alert.details["channel"], alert.details["field"]) == ("transactions",
                                                                  "card_fingerprint")
    assert alert.occurred_at == dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC)


def test_a_batch_records_the_clean_items_and_lists_the_refused(api, key, db_session):
    listed(api, "ip", "198.51.100.0/24")
    dev = listed(api, "device", "phone-xyz")
    mid = key["merchant_id"]
    items = [_trx(mid, 1, client_ip="198.51.101.1"),  # just outside the block
             _trx(mid, 2),  # inside it
             _trx(mid, 3, client_ip="203.0.113.1", device_id="PHONE-XYZ"),
             _trx(mid, 4, client_ip="198.51.99.255"),
             _trx(mid, 5, client_ip="198.51.100.200", external_id="t-5")]
    resp = api.post("/api/v1/transactions", json={"transactions": items})
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert (body["created"], body["duplicates"]) == (2, 0)
    assert [i["external_id"] for i in body["items"]] == ["t-1", "t-4"]
    assert [(r["index"], r["field"], r["kind"]) for r in body["refused"]] == \
        [(1, "client_ip", "ip"), (2, "device_id", "device"), (4, "client_ip", "ip")]
    assert body["refused"][1]["entry_id"] == dev["id"]
    stored = db_session.exec(select(Transaction.external_id)).all()
    assert sorted(stored) == ["t-1", "t-4"]
    assert len(alerts(db_session)) == 2  # one per entry and day, not one per transaction
    again = api.post("/api/v1/transactions", json={"transactions": items[1:3]})
    assert (again.status_code, again.get_json()["created"]) == (200, 0)
    assert len(again.get_json()["refused"]) == 2 and len(alerts(db_session)) == 2


def test_adding_an_entry_reassesses_the_merchants_it_touches(app, api, db_session):
    """R-D1: the re-assessment is a job queued after the commit, not done on the request."""
    touched = api.post("/api/v1/merchants", json=_application("fraud@ring.example")).get_json()
    other = api.post("/api/v1/merchants", json=_application("clean@shop.example")).get_json()
    for merchant in (touched, other):
        assert api.post(f"/api/v1/merchants/{merchant['id']}/assessments").status_code == 201
    run_queued_jobs(app)  # the applications' own first-assessment jobs
    listed(api, "email", "FRAUD@ring.example")
    assert [type(t).__name__ for t in job_queue(app).pending()] == \
        ["reassess_blacklist_entry"]
    db_session.expire_all()
    before = db_session.get(Merchant, touched["id"]).latest_assessment_id
    assert db_session.get(Assessment, before).trigger == "api"  # nothing on the request
    db_session.rollback()  # end the read: SQLite's jobs write next
    assert run_queued_jobs(app) == ["reassess_blacklist_entry"]
    assert run_queued_jobs(app) == []
    db_session.expire_all()
    merchant = db_session.get(Merchant, touched["id"])
    latest = db_session.get(Assessment, merchant.latest_assessment_id)
    assert latest.trigger == "blacklist added: email"
    assert {c["code"]: c["status"] for c in latest.checks}["blacklist"] == "fail"
    untouched = db_session.get(Merchant, other["id"])
    assert db_session.get(Assessment, untouched.latest_assessment_id).trigger != \
        "blacklist added: email"


def test_a_device_seen_on_the_merchants_payments_fails_its_blacklist_check(app, api, key,
                                                                          db_session):
    """Issue 13 item 7: the device blacklist could never match a merchant."""
    mid = key["merchant_id"]
    resp = api.post("/api/v1/transactions", json=_trx(mid, 1, device_id="pos-terminal-9"))
    assert resp.status_code == 201, resp.get_json()
    assert api.post(f"/api/v1/merchants/{mid}/assessments").status_code == 201
    listed(api, "device", "POS-terminal-9")
    assert "reassess_blacklist_entry" in run_queued_jobs(app)
    db_session.expire_all()
    latest = db_session.get(Assessment, db_session.get(Merchant, mid).latest_assessment_id)
    check = {c["code"]: c for c in checks_of(latest)}["blacklist"]
    assert check["status"] == "fail" and check["evidence"]["hits"][0]["kind"] == "device"


def test_a_signup_ip_inside_a_listed_block_fails_the_blacklist_check(app, api, db_session):
    merchant = api.post("/api/v1/merchants",
                        json={**_application("a@b.example"), "signup_ip": "203.0.113.77"})
    mid = merchant.get_json()["id"]
    assert api.post(f"/api/v1/merchants/{mid}/assessments").status_code == 201
    listed(api, "ip", "203.0.113.64/26")
    assert "reassess_blacklist_entry" in run_queued_jobs(app)
    db_session.expire_all()
    latest = db_session.get(Assessment, db_session.get(Merchant, mid).latest_assessment_id)
    assert {c["code"]: c["status"] for c in latest.checks}["blacklist"] == "fail"


def _application(email: str) -> dict:
    from tests.factories import application
    return application(email=email)


def test_a_snoozed_blacklist_alert_is_suppressed_but_the_payment_still_refused(app, api, key,
                                                                            db_session):
    from app.audit.trail import Actor
    from app.services.alerts import snooze_scenario
    from app.services.assessments import current_policy
    now = dt.datetime.now(dt.UTC)
    snooze_scenario(db_session, merchant_id=key["merchant_id"], scenario="blacklist_hit",
                    until=now + dt.timedelta(hours=2), reason="known case, under review",
                    actor=Actor(name="staff:ayse@bank.example"), now=now,
                    policy=current_policy())
    db_session.commit()
    listed(api, "card", PAN)
    resp = api.post("/api/v1/transactions", json=_trx(key["merchant_id"], 1, card_number=PAN))
    assert resp.status_code == 422
    assert alerts(db_session) == []
    suppressed = db_session.exec(select(AuditEvent).where(
        AuditEvent.action == "alert.suppressed")).one()
    assert suppressed.reason == "blacklist_hit"


def test_the_reassessment_job_is_bounded_per_run_idempotent_and_follows_a_removal(
        app, api, db_session):
    """R-D1: one run re-assesses at most ``limit`` merchants and says more are left; a
    merchant already re-assessed for the change is skipped; a removal queues its own job."""
    from app.audit.trail import Actor
    from app.services.blacklist import reassess_touched
    ids = [api.post("/api/v1/merchants", json=_application("ring@fraud.example"))
           .get_json()["id"] for _ in range(2)]
    for mid in ids:
        assert api.post(f"/api/v1/merchants/{mid}/assessments").status_code == 201
    run_queued_jobs(app)
    entry = listed(api, "email", "ring@fraud.example")
    now, actor = dt.datetime.now(dt.UTC), Actor("job:test")
    with app.app_context():
        first = reassess_touched(db_session, entry_id=entry["id"], change="added",
                                 actor=actor, now=now, limit=1)
        second = reassess_touched(db_session, entry_id=entry["id"], change="added",
                                  actor=actor, now=now, limit=1)
        third = reassess_touched(db_session, entry_id=entry["id"], change="added",
                                 actor=actor, now=now, limit=1)
        db_session.commit()
    assert (len(first[0]), first[1], len(second[0]), second[1]) == (1, True, 1, False)
    assert set(first[0] + second[0]) == set(ids) and third == ([], False)
    assert run_queued_jobs(app) == ["reassess_blacklist_entry"]  # the request's job: no-op
    resp = api.delete(f"/api/v1/blacklist/{entry['id']}?reason=cleared")
    assert resp.status_code == 200, resp.get_json()
    assert run_queued_jobs(app) == ["reassess_blacklist_entry"]
    db_session.expire_all()
    for mid in ids:
        latest = db_session.get(Assessment, db_session.get(Merchant, mid).latest_assessment_id)
        assert latest.trigger == "blacklist removed: email"
        assert {c["code"]: c["status"] for c in latest.checks}["blacklist"] == "pass"
    events = db_session.exec(select(AuditEvent).where(
        AuditEvent.action == "assessment.completed")).all()
    assert sum(e.details.get("trigger") == "blacklist added: email" for e in events) == 2
