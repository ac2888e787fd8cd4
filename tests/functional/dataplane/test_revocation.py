"""Revocation at once on one host (issue #14 item 4, R-B1): two apps on the same instance
folder stand for two worker processes; a revoke or freeze through one is refused by the
other on its very next request, long before its key cache would expire, without Redis."""

from __future__ import annotations

import pytest

from app import create_app
from app.dataplane.runtime import runtime
from tests.keys_support import CLIENT_IP, SITE, approved_merchant, issue, verify


@pytest.fixture
def settings(settings):
    return settings.replace(key_activation_delay=0)


@pytest.fixture
def other_worker(app, settings):
    """A second app on the same database and instance folder, with a key cache that would
    keep a record for an hour."""
    other = create_app({"TESTING": True}, settings=settings)
    runtime(other).cache.ttl_seconds = 3600.0
    runtime(app).cache.ttl_seconds = 3600.0
    yield other
    from app.dataplane.runtime import close
    close(other)
    other.extensions["kyb.engine"].dispose()


def _verify_on(app, bearer: str, token: str) -> dict:
    resp = app.test_client().post("/api/v1/verify", json={
        "token": token, "client_ip": CLIENT_IP, "origin": SITE},
        headers={"Authorization": f"Bearer {bearer}"})
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def test_a_revoked_key_is_refused_at_once_by_another_process(api, db_session, other_worker):
    key = issue(api, approved_merchant(api, db_session))
    assert _verify_on(other_worker, api.token, key["token"])["allowed"] is True  # cached there
    assert api.delete(f"/api/v1/keys/{key['key_id']}").status_code in {200, 204}
    body = _verify_on(other_worker, api.token, key["token"])
    assert (body["allowed"], body["reason"]) == (False, "key_revoked")


def test_a_frozen_merchant_is_refused_at_once_by_another_process(api, db_session,
                                                                   other_worker):
    merchant_id = approved_merchant(api, db_session)
    key = issue(api, merchant_id)
    assert _verify_on(other_worker, api.token, key["token"])["allowed"] is True
    resp = api.post(f"/api/v1/merchants/{merchant_id}/freeze", json={"reason": "fraud ring"})
    assert resp.status_code == 200, resp.get_json()
    body = _verify_on(other_worker, api.token, key["token"])
    assert (body["allowed"], body["reason"]) == (False, "key_frozen")


def test_without_a_change_the_other_process_keeps_its_cache(api, db_session, other_worker):
    key = issue(api, approved_merchant(api, db_session))
    verify(api, key["token"])
    _verify_on(other_worker, api.token, key["token"])
    assert runtime(other_worker).cache.get(key["key_id"]) is not None
    _verify_on(other_worker, api.token, key["token"])
    assert runtime(other_worker).cache.get(key["key_id"]) is not None


def test_a_suspended_merchant_is_refused_at_once_by_another_process(api, db_session,
                                                                     other_worker):
    merchant_id = approved_merchant(api, db_session)
    key = issue(api, merchant_id)
    assert _verify_on(other_worker, api.token, key["token"])["allowed"] is True
    resp = api.post(f"/api/v1/merchants/{merchant_id}/decisions",
                    json={"decision": "suspend", "reason": "Chargeback spike"})
    assert resp.status_code == 201, resp.get_json()
    body = _verify_on(other_worker, api.token, key["token"])
    assert (body["allowed"], body["reason"]) == (False, "merchant_not_active")
