"""The data plane in front of the Flask app (``app.dataplane.wsgi``, issue #14): which requests
it answers itself, and that every other one reaches the control plane's views unchanged."""

from __future__ import annotations

import pytest

from tests.keys_support import CLIENT_IP, SITE, approved_merchant, issue, verify


@pytest.fixture
def settings(settings):
    return settings.replace(key_activation_delay=0)


@pytest.fixture
def key(api, db_session) -> dict:
    return issue(api, approved_merchant(api, db_session))


@pytest.fixture
def views_refuse(app):
    """Make the control plane's verification views fail: what still answers is the data
    plane."""
    def broken(**_):
        raise AssertionError("the control plane answered a data-plane request")
    names = [name for name in app.view_functions
             if name.startswith(("api.verify_token", "api.gateway_auth"))]
    saved = {name: app.view_functions[name] for name in names}
    for name in names:
        app.view_functions[name] = broken
    yield
    app.view_functions.update(saved)


def test_a_bearer_not_yet_cached_is_checked_by_the_data_plane_itself(api, key, views_refuse):
    # Issuing the key validated the same bearer for another scope only: the data plane looks
    # the token up itself (no view, no ORM session, no write lock) with the validator's rules.
    resp = api.post("/api/v1/verify", json={"token": key["token"], "client_ip": CLIENT_IP,
                                            "origin": SITE})
    assert resp.status_code == 200 and resp.get_json()["allowed"] is True


def test_a_bearer_without_the_scope_is_left_to_the_view_which_says_403(make_api, key,
                                                                        views_refuse):
    resp = make_api("keys:read").post("/api/v1/verify", json={
        "token": key["token"], "client_ip": CLIENT_IP, "origin": SITE})
    assert resp.status_code == 500  # handed over: the (broken) view was asked


def test_a_revoked_or_expired_bearer_stops_at_the_data_plane_within_its_ttl(app, api, key,
                                                                             db_session):
    """R-B1 for the callers' own credentials: a revoked OAuth token is refused once its cached
    check (``TTL_SECONDS``) ends; an expired one likewise, never served from the cache."""
    import datetime as dt

    from freezegun import freeze_time
    from sqlmodel import select

    from app.api import bearer_cache
    from app.models import OAuthToken
    from app.oauth.models import digest
    body = {"token": key["token"], "client_ip": CLIENT_IP, "origin": SITE}
    assert api.post("/api/v1/verify", json=body).status_code == 200
    row = db_session.exec(select(OAuthToken).where(
        OAuthToken.access_token_hash == digest(api.token))).one()
    row.revoked_at = dt.datetime.now(dt.UTC)
    db_session.add(row)
    db_session.commit()
    assert api.post("/api/v1/verify", json=body).status_code == 200  # within the TTL
    with freeze_time(dt.datetime.now(dt.UTC) + dt.timedelta(
            seconds=bearer_cache.TTL_SECONDS + 0.1), tick=True):
        assert api.post("/api/v1/verify", json=body).status_code == 401
    row.revoked_at, row.expires_at = None, dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    db_session.add(row)
    db_session.commit()
    bearer_cache._entries.clear()  # noqa: SLF001 - a fresh process
    assert api.post("/api/v1/verify", json=body).status_code == 401


def test_a_cached_bearer_is_answered_by_the_data_plane_with_the_same_contract(
        api, key, app):
    verify(api, key["token"])  # the view validates the bearer and caches it
    saved = app.view_functions["api.verify_token"]
    app.view_functions["api.verify_token"] = None  # would fail if it were called
    try:
        resp = api.post("/api/v1/verify", json={"token": key["token"], "client_ip": CLIENT_IP,
                                                "origin": SITE},
                        headers={"X-Request-Id": "req-0123456789"})
    finally:
        app.view_functions["api.verify_token"] = saved
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    body = resp.get_json()
    assert set(body) == {"allowed", "reason", "merchant_id", "key_id", "audit_id"}
    assert (body["allowed"], body["reason"], body["key_id"]) == (True, "ok", key["key_id"])
    assert resp.headers["X-Request-Id"] == "req-0123456789"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["X-Frame-Options"] == "DENY"


def test_an_invalid_card_number_is_handed_to_the_view_which_names_the_field(api, key):
    verify(api, key["token"])
    resp = api.post("/api/v1/verify", json={"token": key["token"], "client_ip": CLIENT_IP,
                                            "origin": SITE, "card_number": "4111111111111112"})
    assert resp.status_code == 422
    assert [e["field"] for e in resp.get_json()["errors"]] == ["card_number"]


def test_an_unknown_bearer_is_refused_by_the_view(client, key):
    resp = client.post("/api/v1/verify", json={"token": key["token"], "client_ip": CLIENT_IP},
                       headers={"Authorization": "Bearer not-a-token"})
    assert resp.status_code == 401
    assert resp.mimetype == "application/problem+json"


def test_other_methods_on_the_verify_path_reach_the_router(api):
    assert api.get("/api/v1/verify").status_code == 405


def test_gateway_check_is_answered_without_the_views(client, key, views_refuse):
    resp = client.get("/api/v1/auth", headers={"X-Api-Key": key["token"], "Origin": SITE,
                                               "X-Forwarded-For": CLIENT_IP},
                      environ_base={"REMOTE_ADDR": "127.0.0.1"})
    # The peer is the gateway itself (not a trusted proxy): its address is the client's.
    assert resp.status_code == 403 and resp.headers["X-Deny-Reason"] == "ip_not_allowed"
    assert resp.headers["X-Audit-Id"] and resp.headers["X-Request-Id"]


def test_envoy_path_with_any_method_is_the_same_check(client, key, views_refuse):
    resp = client.post("/api/v1/auth/payments/42", headers={"X-Api-Key": "kyb_live_nope"},
                       environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert resp.status_code == 401 and resp.headers["X-Deny-Reason"] == "invalid_token"
    assert resp.headers["WWW-Authenticate"] == 'Bearer realm="kybgate"'


@pytest.mark.parametrize("path", ["/api/v1/auth/a%0Ab", "/api/v1/auth//x", "/api/v1/auth/"])
def test_paths_the_router_would_refuse_or_redirect_are_left_to_it(client, path):
    resp = client.get(path, environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert resp.status_code in {404, 308}


def test_a_caller_outside_the_gateway_ranges_is_refused(client, views_refuse):
    resp = client.get("/api/v1/auth", environ_base={"REMOTE_ADDR": "198.51.100.7"})
    assert resp.status_code == 403
    assert resp.headers["X-Deny-Reason"] == "gateway_not_allowed"
