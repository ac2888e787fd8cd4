"""The job worker runs the operations nobody should have to start by hand (R-C1, R-D6):
a change that produces a webhook queues a delivery run that reaches a real receiver on
127.0.0.1; overdue alerts are escalated by the periodic job; every periodic job is declared
on the app's queue."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import select

from app.audit.trail import Actor
from app.jobs import job_queue, run_queued_jobs
from app.jobs.operations import escalate_overdue
from app.models import Alert
from tests.integration.webhook_receiver import Receiver
from tests.keys_support import approved_merchant, issue

SCOPES = "webhooks:write merchants:write merchants:read keys:write keys:read"


@pytest.fixture
def settings(settings):
    return settings.replace(webhook_allow_private=True, key_activation_delay=0)


def test_a_change_with_a_webhook_queues_one_delivery_run_that_reaches_the_receiver(
        app, make_api, db_session):
    api = make_api(SCOPES)
    with Receiver(statuses=[200, 200]) as hook:
        created = api.post("/api/v1/webhooks", json={"url": hook.url, "events": ["key.created"]})
        assert created.status_code == 201, created.get_json()
        hook.secrets = [created.get_json()["secret"]]
        merchant_id = approved_merchant(api, db_session)
        run_queued_jobs(app)  # the application's own assessment job, if any
        issue(api, merchant_id, environment="test")
        ran = run_queued_jobs(app)
    assert ran.count("deliver_webhooks") == 1
    assert [r.answered for r in hook.received] == [200]
    assert hook.received[0].verified_with == [created.get_json()["secret"]]


def test_the_periodic_jobs_are_on_the_queue(app):
    names = set(job_queue(app)._registry._registry)
    for name in ("escalate_overdue_alerts", "deliver_webhooks_periodically",
                 "deliver_notifications", "deliver_webhooks", "prune_spend_leases"):
        assert any(name in known for known in names), (name, names)


def test_the_escalation_job_marks_an_overdue_alert_once(app, api, db_session):
    merchant_id = approved_merchant(api, db_session)
    opened = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)
    alert = Alert(merchant_id=merchant_id, scenario="card_velocity", severity="high",
                  summary="5 sales of one card", dedupe_key=f"{merchant_id}:t", status="open",
                  occurred_at=opened, opened_at=opened, due_at=opened + dt.timedelta(hours=3))
    db_session.add(alert)
    db_session.commit()
    actor = Actor("system:jobs")
    for at, escalated in ((opened + dt.timedelta(hours=3), False),
                          (opened + dt.timedelta(hours=3, seconds=1), True)):
        escalate_overdue(db_session, now=at, actor=actor)
        db_session.commit()
        db_session.refresh(alert)
        assert (alert.escalated_at is not None) is escalated, at
    first = alert.escalated_at
    escalate_overdue(db_session, now=opened + dt.timedelta(hours=5), actor=actor)
    db_session.commit()
    assert db_session.exec(select(Alert)).one().escalated_at == first
