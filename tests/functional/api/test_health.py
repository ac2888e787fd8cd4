"""``/healthz`` (alive) and ``/readyz`` (database reachable and migrated to head)."""

from __future__ import annotations

import pytest
from alembic.script import ScriptDirectory

from app import create_app
from app.migrate import alembic_config


def test_healthz_is_200(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.get_json() == {"status": "ok"}


def test_readyz_is_200_at_the_head_migration(client):
    resp = client.get("/readyz")
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["status"] == "ok" and body["database"] == "ok"
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert body["migrations"]["head"] == sorted(heads)


@pytest.fixture
def app_on(settings):
    apps = []

    def build(url: str):
        application = create_app({"TESTING": True}, settings=settings.replace(database_url=url))
        apps.append(application)
        return application.test_client()
    yield build
    for application in apps:
        application.extensions["kyb.engine"].dispose()


def test_readyz_is_503_on_an_unmigrated_database(app_on, tmp_path):
    resp = app_on(f"sqlite:///{tmp_path / 'empty.db'}").get("/readyz")
    assert resp.status_code == 503
    body = resp.get_json()
    assert body["status"] == "unavailable"
    assert body["migrations"]["current"] == []
    assert body["migrations"]["head"]


def test_readyz_is_503_when_the_database_is_unreachable(app_on):
    client = app_on("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
    resp = client.get("/readyz")
    assert resp.status_code == 503
    assert resp.get_json()["database"] == "unreachable"
    assert client.get("/healthz").status_code == 200
