"""RFC 7662 introspection of merchant API tokens: the same decision as ``/api/v1/verify``,
with the request context (client IP, back URL) passed as extra parameters, and audited."""

from __future__ import annotations

import base64

import pytest
from sqlmodel import select

from app.models import AuditEvent
from tests.conftest import create_oauth_client
from tests.keys_support import CLIENT_IP, SITE, approved_merchant, issue


@pytest.fixture
def settings(settings):
    return settings.replace(key_activation_delay=0)


@pytest.fixture
def introspect(app, client):
    client_id, secret = create_oauth_client(app, "introspect", name="gateway")
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()

    def call(**form):
        return client.post("/oauth/introspect", data=form,
                           headers={"Authorization": f"Basic {basic}"})
    return call


def test_merchant_token_is_active_from_its_whitelisted_ip_and_site(api, db_session,
                                                                    introspect):
    key = issue(api, approved_merchant(api, db_session))
    body = introspect(token=key["token"], client_ip=CLIENT_IP, back_url=SITE).get_json()
    assert body["active"] is True
    assert body["reason"] == "ok" and body["key_id"] == key["key_id"]
    event = db_session.exec(select(AuditEvent).where(AuditEvent.id == body["audit_id"])).one()
    assert (event.decision, event.details["channel"]) == ("allow", "introspect")


@pytest.mark.parametrize("form, reason", [
    ({"client_ip": "198.51.100.7", "back_url": SITE}, "ip_not_allowed"),
    ({"client_ip": CLIENT_IP, "back_url": "https://evilshop.com"}, "back_url_mismatch"),
    ({}, "ip_not_allowed"),
])
def test_merchant_token_is_inactive_with_the_reason_outside_its_restrictions(
        api, db_session, introspect, form, reason):
    key = issue(api, approved_merchant(api, db_session))
    body = introspect(token=key["token"], **form).get_json()
    assert body["active"] is False and body["reason"] == reason
    assert "merchant_id" not in body


def test_forged_merchant_token_is_inactive(introspect):
    body = introspect(token="kyb_live_" + "A" * 62, client_ip=CLIENT_IP).get_json()
    assert body == {"active": False, "token_type": "kyb_api_key", "reason": "invalid_token",
                    "audit_id": body["audit_id"]}
