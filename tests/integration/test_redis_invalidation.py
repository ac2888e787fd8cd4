"""Cache invalidation across processes through Redis pub/sub: a revocation or a freeze made in
one worker takes effect in another worker, whose cache still holds the key, within a second.

Two app instances on one database stand for two gunicorn workers: each has its own key cache,
audit writer and Redis listener. The cache TTL with Redis is 5 s, so an answer inside a second
can only come from the pub/sub message. Needs ``KYB_TEST_REDIS_URL`` (CI sets it)."""

from __future__ import annotations

import os
import time

import pytest

from app import create_app
from app.dataplane.runtime import runtime
from tests.keys_support import CLIENT_IP, SITE, approved_merchant, issue

REDIS_URL = os.environ.get("KYB_TEST_REDIS_URL")
pytestmark = pytest.mark.skipif(not REDIS_URL, reason="KYB_TEST_REDIS_URL is not set")


@pytest.fixture
def settings(settings):
    return settings.replace(key_activation_delay=0, redis_url=REDIS_URL)


@pytest.fixture
def other_worker(settings):
    second = create_app({"TESTING": True}, settings=settings)
    yield second
    runtime(second).stop.set()
    second.extensions["kyb.engine"].dispose()


def _reason(app, bearer: str, token: str) -> str:
    resp = app.test_client().post("/api/v1/verify", headers={"Authorization": f"Bearer {bearer}"},
                                  json={"token": token, "client_ip": CLIENT_IP, "origin": SITE})
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["reason"]


def _until(app, bearer: str, token: str, reason: str, limit: float = 1.0) -> float:
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if _reason(app, bearer, token) == reason:
            return time.monotonic() - started
        time.sleep(0.02)
    raise AssertionError(f"no {reason} within {limit}s")


def test_revocation_in_one_worker_reaches_another_within_a_second(app, api, db_session,
                                                                  other_worker):
    merchant_id = approved_merchant(api, db_session)
    key = issue(api, merchant_id)
    assert _reason(other_worker, api.token, key["token"]) == "ok"
    assert runtime(other_worker).cache.get(key["key_id"]) is not None  # warm cache
    assert api.delete(f"/api/v1/keys/{key['key_id']}").status_code == 204
    assert _until(other_worker, api.token, key["token"], "key_revoked") < 1.0


def test_freeze_from_the_cli_reaches_a_running_worker_within_a_second(app, api, db_session,
                                                                      other_worker):
    merchant_id = approved_merchant(api, db_session)
    key = issue(api, merchant_id)
    assert _reason(other_worker, api.token, key["token"]) == "ok"
    result = app.test_cli_runner().invoke(args=["keys", "freeze", merchant_id])
    assert result.exit_code == 0, result.output
    assert _until(other_worker, api.token, key["token"], "key_frozen") < 1.0
    app.test_cli_runner().invoke(args=["keys", "unfreeze", merchant_id])
    assert _until(other_worker, api.token, key["token"], "ok") < 1.0


def test_a_lost_listener_connection_clears_the_cache(app, api, db_session, other_worker):
    merchant_id = approved_merchant(api, db_session)
    key = issue(api, merchant_id)
    _reason(other_worker, api.token, key["token"])
    state = runtime(other_worker)
    state.apply({"m": merchant_id, "k": []})
    assert state.cache.get(key["key_id"]) is None
