"""Webhooks to the back office (R-D6) against a real receiver on 127.0.0.1: Standard Webhooks
signatures checked with the ``standardwebhooks`` package, at least once with the same
webhook-id, exponential backoff under frozen time, dead letters, secret rotation, the SSRF
rules, and the secret shown once and stored encrypted."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from freezegun import freeze_time
from sqlmodel import select

from app.audit.trail import Actor, record
from app.models import AuditEvent, WebhookDelivery, WebhookEndpoint
from app.services.webhook_delivery import (
    Target,
    backoff,
    deliver_due_webhooks,
    target_from_settings,
)
from app.services.webhooks import decrypt_secret, enqueue_for_events, secret_box_key
from checks.policy import WebhooksPolicy
from tests.integration.webhook_receiver import Receiver
from tests.keys_support import approved_merchant, issue

T0 = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)
SCOPES = "webhooks:write merchants:write merchants:read keys:write keys:read decisions:write"
POLICY = WebhooksPolicy(max_attempts=3, backoff_base_seconds=30, backoff_cap_seconds=45,
                        timeout_seconds=5, rotation_overlap_hours=24)


@pytest.fixture
def settings(settings):
    return settings.replace(webhook_allow_private=True, key_activation_delay=0)


@pytest.fixture
def api(make_api):
    return make_api(SCOPES)


def register(api, url: str, events: list[str]) -> dict:
    resp = api.post("/api/v1/webhooks", json={"url": url, "events": events})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def deliver(app, policy: WebhooksPolicy = POLICY):
    return deliver_due_webhooks(app.extensions["kyb.engine"],
                                target=target_from_settings(app.extensions["kyb.settings"]),
                                policy=policy)


def freeze_event(db_session, merchant_id: str, at: dt.datetime) -> None:
    record(db_session, Actor("staff:ayse@bank.example").event(
        "keys.frozen", target_type="merchant", target_id=merchant_id,
        merchant_id=merchant_id, reason="case cas_1", at=at))
    db_session.commit()


def test_first_delivery_fails_and_the_retry_carries_the_same_signed_webhook_id(
        app, api, db_session):
    with Receiver(statuses=[500, 200]) as hook, freeze_time(T0) as clock:
        created = register(api, hook.url, ["key.created", "key.frozen"])
        hook.secrets = [created["secret"]]
        merchant_id = approved_merchant(api, db_session)
        key = issue(api, merchant_id, environment="test")
        first = deliver(app)
        assert (first.attempted, first.delivered, first.retrying) == (1, 0, 1)
        clock.tick(dt.timedelta(seconds=29))
        assert deliver(app).attempted == 0  # backoff not over: 30 s after the first attempt
        clock.tick(dt.timedelta(seconds=2))
        assert deliver(app).delivered == 1
    assert [r.answered for r in hook.received] == [500, 200]
    ids = {r.headers["webhook-id"] for r in hook.received}
    assert len(ids) == 1
    for seen in hook.received:
        assert seen.verified_with == [created["secret"]]
        body = json.loads(seen.body)
        assert body["type"] == "key.created"
        assert body["data"]["key_id"] == key["key_id"]
        assert body["data"]["merchant_id"] == merchant_id
        assert set(body) == {"type", "timestamp", "data"}
    assert hook.received[1].headers["webhook-timestamp"] == str(int(T0.timestamp()) + 31)
    row = db_session.exec(select(WebhookDelivery)).one()
    assert (row.id, row.status, row.attempts) == (ids.pop(), "delivered", 2)


def test_backoff_doubles_up_to_the_cap_and_the_last_attempt_makes_a_dead_letter(
        app, api, db_session):
    assert [backoff(n, POLICY).total_seconds() for n in (1, 2, 3)] == [30, 45, 45]
    with Receiver(statuses=[503, 503, 503]) as hook, freeze_time(T0) as clock:
        created = register(api, hook.url, ["key.frozen"])
        hook.secrets = [created["secret"]]
        freeze_event(db_session, "mer_x", T0)
        deliver(app)
        clock.tick(dt.timedelta(seconds=30))
        deliver(app)
        clock.tick(dt.timedelta(seconds=44))
        assert deliver(app).attempted == 0  # capped at 45 s, not 60
        clock.tick(dt.timedelta(seconds=1))
        last = deliver(app)
        clock.tick(dt.timedelta(days=1))
        assert deliver(app).attempted == 0
    assert last.dead == 1
    db_session.expire_all()
    row = db_session.exec(select(WebhookDelivery)).one()
    assert (row.status, row.attempts, row.last_error) == ("dead", 3, "HTTP 503")
    assert len(hook.received) == 3 and all(r.verified_with for r in hook.received)


def test_rotation_overlap_signs_with_both_secrets_then_only_the_new_one(app, api, db_session):
    with Receiver() as hook, freeze_time(T0) as clock:
        created = register(api, hook.url, ["key.frozen"])
        resp = api.post(f"/api/v1/webhooks/{created['id']}/rotate")
        assert resp.status_code == 201
        new = resp.get_json()["secret"]
        assert new.startswith("whsec_") and new != created["secret"]
        hook.secrets = [created["secret"], new]
        freeze_event(db_session, "mer_x", T0)
        deliver(app)
        clock.tick(dt.timedelta(hours=24))  # the policy's overlap is over
        freeze_event(db_session, "mer_y", T0 + dt.timedelta(hours=24))
        deliver(app)
    during, after = hook.received
    assert during.verified_with == [created["secret"], new]
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    assert after.verified_with == [new]


def test_secret_is_shown_once_and_stored_encrypted(app, api, db_session):
    created = register(api, "http://127.0.0.1:9799/hook", ["case.opened"])
    assert created["secret"].startswith("whsec_")
    listing = api.get("/api/v1/webhooks").get_json()
    assert created["secret"] not in json.dumps(listing)
    assert "secret" not in listing["items"][0]
    assert listing["items"][0]["events"] == ["case.opened"]
    row = db_session.get(WebhookEndpoint, created["id"])
    assert created["secret"] not in row.secret_encrypted
    assert created["secret"][6:] not in row.secret_encrypted
    key = secret_box_key(app.extensions["kyb.settings"].secret_key)
    assert decrypt_secret(key, row.id, row.secret_encrypted) == created["secret"]
    with pytest.raises(ValueError):
        decrypt_secret(key, "whe_other", row.secret_encrypted)  # bound to its endpoint
    trail = db_session.exec(select(AuditEvent).where(AuditEvent.action == "webhook.created")
                            ).one()
    assert created["secret"] not in json.dumps(trail.details)


@pytest.mark.parametrize("url, why", [
    ("http://10.1.2.3/hook", "private address"),
    ("http://169.254.169.254/latest", "cloud metadata address"),
    ("http://127.0.0.1/hook", "loopback address"),
    ("http://93.184.216.34:8080/hook", "port 8080 is not allowed"),
    ("ftp://example.com/hook", "scheme"),
])
def test_ssrf_rules_refuse_private_targets_without_the_flag(app, make_api, url, why):
    app.extensions["kyb.settings"] = app.extensions["kyb.settings"].replace(
        webhook_allow_private=False)
    resp = make_api("webhooks:write").post("/api/v1/webhooks",
                                           json={"url": url, "events": ["case.opened"]})
    assert resp.status_code == 422
    error = resp.get_json()["errors"][0]
    assert error["field"] == "url" and why in error["message"]


def test_production_refuses_http_at_registration_and_at_delivery(app, make_api, db_session):
    app.extensions["kyb.settings"] = app.extensions["kyb.settings"].replace(env="production")
    api = make_api("webhooks:write")
    resp = api.post("/api/v1/webhooks", json={"url": "http://127.0.0.1:9702/hook",
                                              "events": ["key.frozen"]})
    assert resp.status_code == 422
    assert "https" in resp.get_json()["errors"][0]["message"]
    # an endpoint registered before the switch to production is not delivered over http
    db_session.add(WebhookEndpoint(id="whe_old", url="http://127.0.0.1:9702/hook",
                                   events=["key.frozen"], secret_encrypted="v1:x",
                                   created_by="test"))
    db_session.commit()
    freeze_event(db_session, "mer_x", T0)
    report = deliver_due_webhooks(app.extensions["kyb.engine"],
                                  target=Target(key=b"k" * 32, production=True,
                                                allow_private=True), policy=POLICY)
    assert report.retrying == 1 and "http URL in production" in report.errors[0]


def test_an_event_is_enqueued_once_with_its_change_and_not_after_a_rollback(
        app, api, db_session):
    register(api, "http://127.0.0.1:9799/hook", ["key.frozen", "case.opened"])
    actor = Actor("staff:x")
    record(db_session, actor.event("keys.frozen", merchant_id="mer_a", at=T0))
    db_session.rollback()
    assert db_session.exec(select(WebhookDelivery)).all() == []
    event = record(db_session, actor.event("keys.frozen", merchant_id="mer_a", at=T0))
    record(db_session, actor.event("merchant.note_added", merchant_id="mer_a", at=T0))
    db_session.commit()
    rows = db_session.exec(select(WebhookDelivery)).all()
    assert [(r.event_type, r.audit_event_id) for r in rows] == [("key.frozen", event.id)]
    with pytest.raises(Exception):  # noqa: B017 - the unique constraint, whatever the driver
        enqueue_for_events(db_session, [event])
        db_session.flush()
    db_session.rollback()


def test_status_change_event_names_old_and_new_status_and_skips_non_changes(
        app, api, db_session):
    register(api, "http://127.0.0.1:9799/hook", ["kyb.merchant.status_changed"])
    actor = Actor("staff:x")
    record(db_session, actor.event("decision.approve", merchant_id="mer_a", at=T0,
                                   details={"before": {"status": None},
                                            "after": {"status": None}, "stage": "first"}))
    record(db_session, actor.event("decision.suspend", merchant_id="mer_a", at=T0,
                                   details={"before": {"status": "approved"},
                                            "after": {"status": "suspended"}}))
    db_session.commit()
    row = db_session.exec(select(WebhookDelivery)).one()
    assert row.payload["type"] == "kyb.merchant.status_changed"
    assert (row.payload["data"]["old_status"], row.payload["data"]["new_status"]) == (
        "approved", "suspended")


def test_deleting_an_endpoint_stops_its_deliveries(app, api, db_session):
    created = register(api, "http://127.0.0.1:9799/hook", ["key.frozen"])
    freeze_event(db_session, "mer_x", T0)
    assert api.delete(f"/api/v1/webhooks/{created['id']}").status_code == 204
    assert api.delete(f"/api/v1/webhooks/{created['id']}").status_code == 404
    assert api.get("/api/v1/webhooks").get_json()["items"] == []
    db_session.expire_all()
    row = db_session.exec(select(WebhookDelivery)).one()
    assert (row.status, row.last_error) == ("dead", "endpoint deleted")


def test_unknown_event_type_is_refused_naming_the_field(api):
    resp = api.post("/api/v1/webhooks", json={"url": "http://127.0.0.1:9799/h",
                                              "events": ["kyb.nonsense"]})
    assert resp.status_code == 422
    assert resp.get_json()["errors"][0]["field"] == "events"


def test_webhooks_need_their_scope(make_api):
    resp = make_api("merchants:read").get("/api/v1/webhooks")
    assert resp.status_code == 403


def test_a_four_eyes_approval_emits_one_status_change_at_the_second_approver(
        app, api, db_session):
    from tests.functional.api.test_decisions import _decide, _merchant_with_tier
    register(api, "http://127.0.0.1:9799/hook", ["kyb.merchant.status_changed"])
    merchant_id = _merchant_with_tier(api, db_session, "high")
    first = _decide(api, merchant_id, decision="approve", approver="ayse@bank.example")
    assert first.get_json()["status"] == "pending_second"
    assert db_session.exec(select(WebhookDelivery)).all() == []
    db_session.rollback()
    second = _decide(api, merchant_id, decision="approve", approver="can@bank.example")
    assert second.status_code == 201
    row = db_session.exec(select(WebhookDelivery)).one()
    assert row.payload["data"]["merchant_id"] == merchant_id
    assert (row.payload["data"]["old_status"], row.payload["data"]["new_status"]) == (
        "applied", "approved")


def test_cli_delivers_lists_dead_letters_and_retries(app, api, db_session):
    runner = app.test_cli_runner()
    assert "--loop" in runner.invoke(args=["webhooks", "deliver", "--help"]).output
    with Receiver(statuses=[500]) as hook:
        created = register(api, hook.url, ["key.frozen"])
        hook.secrets = [created["secret"]]
        freeze_event(db_session, "mer_x", dt.datetime.now(dt.UTC))
        result = runner.invoke(args=["webhooks", "deliver", "--json"])
        assert result.exit_code == 0, result.output
        assert json.loads(result.output.splitlines()[-1])["retrying"] == 1
        delivery = db_session.exec(select(WebhookDelivery)).one()
        delivery.status = "dead"
        db_session.add(delivery)
        db_session.commit()
        dead = json.loads(runner.invoke(args=["webhooks", "dead", "--json"]).output)
        assert [d["id"] for d in dead] == [delivery.id]
        assert runner.invoke(args=["webhooks", "retry", delivery.id]).exit_code == 0
        result = runner.invoke(args=["webhooks", "deliver", "--json"])
        assert json.loads(result.output.splitlines()[-1])["delivered"] == 1
    assert [r.answered for r in hook.received] == [500, 200]
    assert hook.received[0].headers["webhook-id"] == hook.received[1].headers["webhook-id"]
    assert all(r.verified_with for r in hook.received)
    assert runner.invoke(args=["webhooks", "retry", "msg_nope"]).exit_code == 1


def test_an_action_that_is_no_webhook_costs_no_query(app, api, db_session):
    from sqlalchemy import event
    register(api, "http://127.0.0.1:9799/hook", ["key.frozen"])
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args):
        statements.append(statement)
    engine = app.extensions["kyb.engine"]
    event.listen(engine, "before_cursor_execute", seen)
    try:
        record(db_session, Actor("staff:x").event("merchant.note_added", merchant_id="mer_a"))
        quiet = list(statements)
        record(db_session, Actor("staff:x").event("keys.frozen", merchant_id="mer_a"))
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    db_session.commit()
    assert not any("webhook" in s for s in quiet)
    assert any("webhook_endpoint" in s for s in statements[len(quiet):])


def test_a_monitoring_alert_is_announced_when_opened_and_when_closed(app, api, db_session):
    from app.services.alerts import close_alert
    from app.services.monitoring import evaluate_merchant
    from tests.functional.test_monitoring_alerts import NOW, POLICY, card_burst, merchant
    with Receiver() as hook:
        created = register(api, hook.url, ["aml.alert.opened", "aml.alert.closed"])
        hook.secrets = [created["secret"]]
        m = merchant(db_session)
        card_burst(db_session, m.id)
        actor = Actor("test:monitoring")
        [alert] = evaluate_merchant(db_session, merchant_id=m.id, actor=actor, now=NOW,
                                    policy=POLICY)
        close_alert(db_session, alert=alert, disposition="not_suspicious",
                    reason="Customer confirmed the purchases", actor=actor, now=NOW)
        db_session.commit()
        report = deliver_due_webhooks(app.extensions["kyb.engine"],
                                      target=target_from_settings(app.extensions["kyb.settings"]),
                                      policy=POLICY.webhooks)
    assert report.delivered == 2
    assert all(r.verified_with == [created["secret"]] for r in hook.received)
    bodies = [json.loads(r.body) for r in hook.received]
    assert [b["type"] for b in bodies] == ["aml.alert.opened", "aml.alert.closed"]
    assert {b["data"]["target_id"] for b in bodies} == {alert.id}
    assert bodies[0]["data"]["details"]["scenario"] == "card_velocity"
    assert bodies[1]["data"]["details"]["disposition"] == "not_suspicious"
