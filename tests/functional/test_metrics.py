"""``GET /metrics`` (R-D8): Prometheus text, only from ``KYB_METRICS_CIDRS`` (the real client
address behind a trusted proxy), and the figures after real actions."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import select

from app.audit.anchor import anchor_key, write_anchor
from app.models import Alert, Case, Merchant, WebhookDelivery
from app.services.webhooks import secret_box_key
from tests.keys_support import approved_merchant, issue, verify

NOW = dt.datetime.now(dt.UTC)


@pytest.fixture
def settings(settings):
    return settings.replace(key_activation_delay=0, trusted_proxies=("10.0.0.0/8",))


@pytest.fixture
def api(make_api):
    return make_api("merchants:write merchants:read keys:write keys:read verify")


def scrape(client, address: str = "127.0.0.1", **headers: str):
    return client.get("/metrics", environ_base={"REMOTE_ADDR": address},
                      headers=headers or None)


def value(text: str, name: str, **labels: str) -> float:
    """The sample ``name`` with ``labels`` (0 when absent)."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v
                                           for k, v in labels.items()):
                return sample.value
    return 0.0


@pytest.mark.parametrize("address, headers, status", [
    ("127.0.0.1", {}, 200),
    ("203.0.113.9", {}, 403),
    ("10.1.1.1", {"X-Forwarded-For": "127.0.0.1"}, 200),   # a trusted proxy for a loopback client
    ("10.1.1.1", {"X-Forwarded-For": "203.0.113.9"}, 403),  # ... for an outside client
    ("203.0.113.9", {"X-Forwarded-For": "127.0.0.1"}, 403),  # an untrusted peer's header
])
def test_metrics_answer_only_inside_the_metrics_cidrs(client, address, headers, status):
    resp = scrape(client, address, **headers)
    assert resp.status_code == status
    if status == 200:
        assert resp.headers["Content-Type"].startswith("text/plain")
        assert "kyb_alerts_open" in resp.get_data(as_text=True)


def test_metrics_cidrs_setting_admits_another_network(app, client):
    app.extensions["kyb.settings"] = app.extensions["kyb.settings"].replace(
        metrics_cidrs=("203.0.113.0/24",))
    assert scrape(client, "203.0.113.9").status_code == 200
    assert scrape(client, "127.0.0.1").status_code == 403


def test_verifications_are_counted_by_reason(client, api, db_session):
    merchant_id = approved_merchant(api, db_session)
    token = issue(api, merchant_id, environment="test")["token"]
    before = scrape(client).get_data(as_text=True)
    assert verify(api, token)["reason"] == "ok"
    assert verify(api, token, client_ip="198.51.100.1")["reason"] == "ip_not_allowed"
    after = scrape(client).get_data(as_text=True)
    for reason in ("ok", "ip_not_allowed"):
        assert value(after, "kyb_verification_seconds_count", reason=reason) == value(
            before, "kyb_verification_seconds_count", reason=reason) + 1
    assert value(after, "kyb_verification_seconds_sum", reason="ok") > 0


def _alert(merchant_id: str, scenario: str, n: int, **fields) -> Alert:
    return Alert(merchant_id=merchant_id, scenario=scenario, summary="s", dedupe_key=f"d{n}",
                 opened_at=NOW - dt.timedelta(hours=5), **fields)


def test_database_figures_after_real_rows(app, client, db_session, api):
    low = approved_merchant(api, db_session)
    high = db_session.get(Merchant, approved_merchant(api, db_session, tax_id="1234567890"))
    high.tier = "high"
    # NOW is the module's import time: "soon" must stay ahead of the clock however slow the run
    late, soon = NOW - dt.timedelta(minutes=1), dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    db_session.add_all([
        _alert(low, "card_velocity", 1, due_at=late),  # overdue
        _alert(low, "card_velocity", 2, due_at=soon, status="in_review"),
        _alert(low, "card_velocity", 3, due_at=late, status="closed", closed_at=NOW,
               disposition="true_positive"),
        _alert(low, "card_velocity", 4, due_at=late, status="closed", closed_at=NOW,
               disposition="false_positive"),
        _alert(low, "night_turnover", 5, due_at=late, status="closed", closed_at=NOW,
               disposition="true_positive"),
        Case(merchant_id=low, title="t", opened_by="x", opened_at=NOW - dt.timedelta(hours=2),
             due_at=NOW, status="closed", closed_at=NOW),
        high])
    db_session.commit()
    text = scrape(client).get_data(as_text=True)
    assert value(text, "kyb_alerts_open") == 2
    assert value(text, "kyb_alerts_overdue") == 1
    assert value(text, "kyb_alert_precision", scenario="card_velocity") == 0.5
    assert value(text, "kyb_alert_precision", scenario="night_turnover") == 1.0
    assert value(text, "kyb_cases_closed") == 1
    assert value(text, "kyb_case_time_to_close_seconds_avg") == pytest.approx(7200)
    assert value(text, "kyb_merchants_high_tier_ratio") == 0.5


def test_audit_shipping_lag_is_what_the_anchors_have_not_covered(app, client, api, db_session):
    approved_merchant(api, db_session)  # audited: the trail has a head
    text = scrape(client).get_data(as_text=True)
    head = value(text, "kyb_audit_head_seq")
    assert head > 0 and value(text, "kyb_audit_unanchored_events") == 0  # each commit anchors
    s = app.extensions["kyb.settings"]
    Path(f"{s.instance_path}/audit-anchors.jsonl").unlink()  # anchors lost: nothing covered
    text = scrape(client).get_data(as_text=True)
    assert value(text, "kyb_audit_unanchored_events") == head
    assert value(text, "kyb_audit_shipping_lag_seconds") >= 0
    write_anchor(app.extensions["kyb.engine"], f"{s.instance_path}/audit-anchors.jsonl",
                 anchor_key(s.secret_key), NOW)
    text = scrape(client).get_data(as_text=True)
    assert value(text, "kyb_audit_unanchored_events") == 0
    assert value(text, "kyb_audit_shipping_lag_seconds") == 0


def test_webhook_backlog_is_reported(app, client, db_session):
    from app.audit.trail import Actor, record
    from app.services.webhooks import create_endpoint
    create_endpoint(db_session, url="http://127.0.0.1:9799/h", events=["key.frozen"],
                    key=secret_box_key("k" * 32), actor=Actor("t"), now=NOW,
                    production=False, allow_private=True)
    record(db_session, Actor("t").event("keys.frozen", merchant_id="mer_a",
                                        at=NOW - dt.timedelta(seconds=90)))
    db_session.commit()
    text = scrape(client).get_data(as_text=True)
    assert value(text, "kyb_webhook_pending") == 1
    assert value(text, "kyb_webhook_failing") == 0
    assert value(text, "kyb_webhook_oldest_pending_seconds") >= 90
    delivery = db_session.exec(select(WebhookDelivery)).one()
    delivery.attempts = 1
    db_session.add(delivery)
    db_session.commit()
    assert value(scrape(client).get_data(as_text=True), "kyb_webhook_failing") == 1
    delivery.status, delivery.delivered_at = "delivered", delivery.created_at + dt.timedelta(
        seconds=120)
    db_session.add(delivery)
    db_session.commit()
    text = scrape(client).get_data(as_text=True)
    assert value(text, "kyb_webhook_pending") == 0
    assert value(text, "kyb_webhook_lag_seconds_avg_24h") == pytest.approx(120)
