"""OAuth 2.0 for back-office integrations: ``kybgate clients create``, the client-credentials
token endpoint, RFC 7662 introspection, RFC 7009 revocation, and bearer protection of /api/v1."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from tests.conftest import create_oauth_client


def _basic(client_id: str, secret: str) -> dict[str, str]:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def _token(client, client_id: str, secret: str, method: str = "basic", **form) -> object:
    data = {"grant_type": "client_credentials", **form}
    if method == "basic":
        return client.post("/oauth/token", data=data, headers=_basic(client_id, secret))
    return client.post("/oauth/token", data={**data, "client_id": client_id,
                                             "client_secret": secret})


def _dump(app, *tables: str) -> str:
    """Every value of every row of ``tables`` as one string."""
    with app.extensions["kyb.engine"].connect() as conn:
        return json.dumps([[list(r) for r in conn.execute(sa.text(f"SELECT * FROM {t}"))]  # noqa: S608
                           for t in tables], default=str)


@pytest.fixture
def reader(app):
    """(client_id, secret) of a client holding merchants:read."""
    return create_oauth_client(app, "merchants:read")


@pytest.fixture
def introspector(app):
    """(client_id, secret) of a resource server allowed to introspect."""
    return create_oauth_client(app, "introspect", name="gateway")


# --- kybgate clients create ------------------------------------------------------------

def test_clients_create_json_prints_id_and_secret_once_and_stores_a_hash(app):
    result = app.test_cli_runner().invoke(args=["clients", "create", "--name", "CRM",
                                                "--scopes", "merchants:read verify", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) >= {"client_id", "client_secret"}
    assert data["client_id"].startswith("kybc_")
    assert len(data["client_secret"]) >= 32
    assert data["scopes"] == "merchants:read verify"
    stored = _dump(app, "oauth_client", "audit_event")
    assert data["client_id"] in stored
    assert data["client_secret"] not in stored
    assert "oauth.client.created" in stored


def test_clients_create_without_json_prints_for_people(app):
    result = app.test_cli_runner().invoke(args=["clients", "create", "--name", "CRM",
                                                "--scopes", "merchants:read"])
    assert result.exit_code == 0
    assert "client_secret:" in result.output and "shown once" in result.output


@pytest.mark.parametrize("scopes", ["merchants:delete", "", "merchants:read root"])
def test_clients_create_refuses_unknown_scopes(app, scopes):
    result = app.test_cli_runner().invoke(args=["clients", "create", "--name", "CRM",
                                                "--scopes", scopes, "--json"])
    assert result.exit_code != 0
    assert "scope" in result.output
    assert _dump(app, "oauth_client") == "[[]]"


# --- token endpoint ----------------------------------------------------------------------

@pytest.mark.parametrize("method", ["basic", "post"])
def test_token_is_issued_with_client_secret_basic_and_post(client, reader, method):
    resp = _token(client, *reader, method=method)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["token_type"].lower() == "bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "merchants:read"
    assert len(body["access_token"]) >= 30
    assert resp.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("method", ["basic", "post"])
def test_wrong_secret_is_401_invalid_client(client, reader, method):
    resp = _token(client, reader[0], reader[1] + "x", method=method)
    assert resp.status_code == 401
    assert resp.get_json()["error"] == "invalid_client"


def test_unknown_client_is_401_invalid_client(client):
    resp = _token(client, "kybc_nobody", "whatever-secret")
    assert resp.status_code == 401
    assert resp.get_json()["error"] == "invalid_client"


def test_revoked_client_gets_no_token(app, client, reader):
    with app.extensions["kyb.engine"].begin() as conn:
        conn.execute(sa.text("UPDATE oauth_client SET revoked_at = :t WHERE client_id = :c"),
                     {"t": dt.datetime(2026, 1, 1), "c": reader[0]})
    assert _token(client, *reader).get_json()["error"] == "invalid_client"


@pytest.mark.parametrize("scope", ["merchants:root", "merchants:read admin"])
def test_unknown_scope_is_400_invalid_scope(client, reader, scope):
    resp = _token(client, *reader, scope=scope)
    assert resp.status_code == 400
    assert resp.get_json()["error"] == "invalid_scope"
    assert "unknown" in resp.get_json()["error_description"]


def test_scope_the_client_lacks_is_invalid_scope(client, reader):
    resp = _token(client, *reader, scope="merchants:read merchants:write")
    assert resp.status_code == 400
    assert resp.get_json()["error"] == "invalid_scope"
    assert "merchants:write" in resp.get_json()["error_description"]


def test_a_subset_of_the_client_scopes_may_be_asked_for(app, client):
    client_id, secret = create_oauth_client(app, "merchants:read merchants:write")
    resp = _token(client, client_id, secret, scope="merchants:read")
    assert resp.status_code == 200
    assert resp.get_json()["scope"] == "merchants:read"


def test_unsupported_grant_type_is_refused(client, reader):
    resp = client.post("/oauth/token", data={"grant_type": "password", "username": "a",
                                             "password": "b"}, headers=_basic(*reader))
    assert resp.status_code == 400
    assert resp.get_json()["error"] == "unsupported_grant_type"


def test_only_hashes_of_secrets_and_tokens_are_stored(app, client, reader, introspector):
    token = _token(client, *reader).get_json()["access_token"]
    client.post("/oauth/introspect", data={"token": token}, headers=_basic(*introspector))
    stored = _dump(app, "oauth_client", "oauth_token", "audit_event")
    for secret in (reader[1], introspector[1], token):
        assert secret not in stored
    assert reader[0] in stored  # the dump really holds the rows


# --- introspection and revocation -------------------------------------------------------

def test_introspection_reports_a_live_token_active(client, reader, introspector):
    token = _token(client, *reader).get_json()["access_token"]
    resp = client.post("/oauth/introspect", data={"token": token},
                       headers=_basic(*introspector))
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["active"] is True
    assert body["client_id"] == reader[0]
    assert body["scope"] == "merchants:read"
    assert body["exp"] - body["iat"] == 3600


def test_introspection_reports_a_revoked_token_inactive(client, reader, introspector):
    token = _token(client, *reader).get_json()["access_token"]
    revoked = client.post("/oauth/revoke", data={"token": token}, headers=_basic(*reader))
    assert revoked.status_code == 200
    resp = client.post("/oauth/introspect", data={"token": token},
                       headers=_basic(*introspector))
    assert resp.get_json() == {"active": False}


@pytest.mark.parametrize("garbage", ["garbage", "x" * 500, "Bearer abc", "ünïcödé"])
def test_introspection_reports_garbage_inactive(client, introspector, garbage):
    resp = client.post("/oauth/introspect", data={"token": garbage},
                       headers=_basic(*introspector))
    assert resp.status_code == 200
    assert resp.get_json() == {"active": False}


def test_introspection_reports_an_expired_token_inactive(client, reader, introspector):
    token = _token(client, *reader).get_json()["access_token"]
    with freeze_time(dt.datetime.now(dt.UTC) + dt.timedelta(hours=1, seconds=1)):
        resp = client.post("/oauth/introspect", data={"token": token},
                           headers=_basic(*introspector))
    assert resp.get_json() == {"active": False}


def test_introspection_is_refused_for_a_client_without_the_introspect_scope(client, reader):
    token = _token(client, *reader).get_json()["access_token"]
    resp = client.post("/oauth/introspect", data={"token": token}, headers=_basic(*reader))
    assert resp.status_code == 400
    assert "active" not in resp.get_json()
    assert resp.get_json()["error"] == "invalid_scope"
    assert "introspect" in resp.get_json()["error_description"]


def test_introspection_with_a_wrong_secret_is_401(client, reader, introspector):
    token = _token(client, *reader).get_json()["access_token"]
    resp = client.post("/oauth/introspect", data={"token": token},
                       headers=_basic(introspector[0], "wrong"))
    assert resp.status_code == 401
    assert "active" not in resp.get_json()


def test_a_client_cannot_revoke_another_clients_token(app, client, reader, introspector):
    token = _token(client, *reader).get_json()["access_token"]
    other = create_oauth_client(app, "merchants:read", name="other")
    client.post("/oauth/revoke", data={"token": token}, headers=_basic(*other))
    resp = client.post("/oauth/introspect", data={"token": token},
                       headers=_basic(*introspector))
    assert resp.get_json()["active"] is True


def test_issue_and_revocation_are_audited(app, client, reader):
    token = _token(client, *reader).get_json()["access_token"]
    client.post("/oauth/revoke", data={"token": token}, headers=_basic(*reader))
    stored = _dump(app, "audit_event")
    assert "oauth.token.issued" in stored and "oauth.token.revoked" in stored


# --- bearer protection of /api/v1 -------------------------------------------------------

def test_api_without_a_token_is_401_problem(client):
    resp = client.get("/api/v1/merchants")
    assert resp.status_code == 401
    assert resp.mimetype == "application/problem+json"
    assert resp.get_json()["status"] == 401
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Bearer not-a-real-token", "Basic abc", "Bearer "])
def test_api_with_an_unknown_token_is_401_problem(client, header):
    resp = client.get("/api/v1/merchants", headers={"Authorization": header})
    assert resp.status_code == 401
    assert resp.mimetype == "application/problem+json"


def test_api_with_a_revoked_token_is_401(client, reader):
    token = _token(client, *reader).get_json()["access_token"]
    client.post("/oauth/revoke", data={"token": token}, headers=_basic(*reader))
    resp = client.get("/api/v1/merchants", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 401


def test_api_with_an_expired_token_is_401(client, reader):
    token = _token(client, *reader).get_json()["access_token"]
    with freeze_time(dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)):
        resp = client.get("/api/v1/merchants", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 401


@pytest.mark.parametrize(("method", "path", "scope"), [
    ("post", "/api/v1/merchants", "merchants:write"),
    ("patch", "/api/v1/merchants/mer_x", "merchants:write"),
    ("get", "/api/v1/merchants", "merchants:read"),
])
def test_api_with_a_token_lacking_the_scope_is_403_problem(make_api, stored_merchants,
                                                           method, path, scope):
    other = "verify" if scope == "merchants:read" else "merchants:read"
    api = make_api(other)
    resp = getattr(api, method)(path, json={"reason": "x"})
    assert resp.status_code == 403
    assert resp.mimetype == "application/problem+json"
    body = resp.get_json()
    assert body["required_scope"] == scope and scope in body["detail"]
    assert stored_merchants() == 0


def test_introspect_token_is_not_an_api_token(app, client, introspector):
    token = _token(client, *introspector).get_json()["access_token"]
    resp = client.get("/api/v1/merchants", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 403


@pytest.fixture
def stored_merchants(app):
    def count() -> int:
        with app.extensions["kyb.engine"].connect() as conn:
            return conn.execute(sa.text("SELECT count(*) FROM merchant")).scalar_one()
    return count
