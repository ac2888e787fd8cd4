# ruff: noqa: F811 - pytest fixtures imported from tests.world are test arguments
"""A real assessment (local RDAP, WHOIS, DNS and website servers) is counted in ``/metrics``
(R-D8) and queued as a ``kyb.assessment.completed`` webhook in its own transaction (R-D6)."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import select

from app.audit.trail import Actor
from app.db import utcnow
from app.models import WebhookDelivery
from app.services.webhooks import create_endpoint, secret_box_key
from tests.factories import application
from tests.world import frozen, lookup_world, settings, world_app  # noqa: F401


@pytest.fixture(autouse=True)
def _frozen_first(frozen):
    return frozen


def _sample(text: str, name: str, **labels: str) -> float:
    return sum(s.value for f in text_string_to_metric_families(text) for s in f.samples
               if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()))


def test_assessment_is_counted_and_queued_as_a_webhook(world_app, api, lookup_world,
                                                        db_session, client):
    create_endpoint(db_session, url="http://127.0.0.1:9799/h",
                    events=["kyb.assessment.completed"], key=secret_box_key("k" * 32),
                    actor=Actor("t"), now=utcnow(), production=False, allow_private=True)
    db_session.commit()
    body = application(website=lookup_world.site(), email="finans@anadolucicek.com.tr")
    merchant_id = api.post("/api/v1/merchants", json=body).get_json()["id"]
    before = client.get("/metrics").get_data(as_text=True)
    resp = api.post(f"/api/v1/merchants/{merchant_id}/assessments")
    assert resp.status_code == 201, resp.get_json()
    tier = resp.get_json()["tier"]
    after = client.get("/metrics").get_data(as_text=True)
    assert _sample(after, "kyb_assessments_total", tier=tier) == _sample(
        before, "kyb_assessments_total", tier=tier) + 1
    assert _sample(after, "kyb_assessment_seconds_count") == _sample(
        before, "kyb_assessment_seconds_count") + 1
    row = db_session.exec(select(WebhookDelivery)).one()
    assert row.event_type == "kyb.assessment.completed"
    assert row.payload["data"]["target_id"] == resp.get_json()["id"]
    assert row.payload["data"]["merchant_id"] == merchant_id
