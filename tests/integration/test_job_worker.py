"""A real ``kybgate worker`` process runs the job a submitted application queued (R-D1): on the
embedded SQLite queue, and on Redis (``KYB_TEST_REDIS_URL``), with every lookup going to the
sandbox Internet of ``tests.world`` on 127.0.0.1 (the worker gets its addresses through the
same ``KYB_*`` variables a deployment uses)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from app import create_app
from app.config import Settings
from app.jobs import job_queue
from app.models import Assessment
from tests.conftest import TEST_DATA_KEYS, TEST_PEPPER, create_oauth_client
from tests.factories import application
from tests.world import start_world

BIN = Path(sys.executable).parent
REDIS_URL = os.environ.get("KYB_TEST_REDIS_URL")
pytestmark = pytest.mark.slow


def _env(db_url: str, folder: Path, world, queue: str) -> dict[str, str]:
    env = {**os.environ, "KYB_ENV": "testing", "KYB_DATABASE_URL": db_url,
           "KYB_INSTANCE_PATH": str(folder / "instance"), "KYB_TOKEN_PEPPER": TEST_PEPPER,
           "KYB_DATA_KEYS": TEST_DATA_KEYS,
           "KYB_SECRET_KEY": "worker-test-secret-0123456789abcdefgh", "KYB_JOBS_QUEUE": queue,
           "KYB_RDAP_BOOTSTRAP": str(world.bootstrap),
           "KYB_WHOIS_SERVER": f"127.0.0.1:{world.whois.port}",
           "KYB_DNS_NAMESERVERS": f"127.0.0.1:{world.dns.port}", "KYB_FETCH_ALLOW_PRIVATE": "1"}
    env.pop("KYB_REDIS_URL", None)
    return env


def _submit(app, world) -> str:
    client_id, secret = create_oauth_client(app, "merchants:write")
    client = app.test_client()
    token = client.post("/oauth/token", data={"grant_type": "client_credentials"},
                        auth=(client_id, secret)).get_json()["access_token"]
    resp = client.post("/api/v1/merchants", headers={"Authorization": f"Bearer {token}"},
                       json=application(website=world.site(),
                                        email="finans@anadolucicek.com.tr"))
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["id"]


def _assessment(engine: sa.Engine, merchant_id: str, seconds: float = 60) -> Assessment:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with Session(engine) as session:
            row = session.exec(select(Assessment)
                               .where(Assessment.merchant_id == merchant_id)).first()
        if row is not None:
            return row
        time.sleep(0.2)
    raise AssertionError("the worker stored no assessment in time")


@pytest.mark.parametrize("store", ["sqlite", "redis"])
def test_a_worker_process_assesses_a_submitted_application(store, db_url, tmp_path):
    if store == "redis" and not REDIS_URL:
        pytest.skip("KYB_TEST_REDIS_URL is not set")
    with start_world(tmp_path) as world:
        env = _env(db_url, tmp_path, world, f"kyb-test-{uuid.uuid4().hex[:8]}")
        if store == "redis":
            env["KYB_REDIS_URL"] = REDIS_URL
        app = create_app({"TESTING": True}, settings=Settings.from_env(env))
        huey = job_queue(app)
        try:
            merchant_id = _submit(app, world)
            assert huey.pending_count() == 1
            if store == "sqlite":
                assert (tmp_path / "instance" / "jobs.db").exists()
            log = open(tmp_path / "worker.log", "wb")  # noqa: SIM115 - closed below
            worker = subprocess.Popen([str(BIN / "kybgate"), "worker", "--workers", "1",  # noqa: S603
                                       "--max-delay", "0.2", "--no-periodic"], env=env,
                                      stdout=log, stderr=subprocess.STDOUT)
            try:
                row = _assessment(app.extensions["kyb.engine"], merchant_id)
            finally:
                worker.send_signal(signal.SIGTERM)
                assert worker.wait(timeout=60) == 0
                log.close()
            output = (tmp_path / "worker.log").read_text()
            assert row.trigger == "application_submitted"
            assert row.created_by == "job:assess_application"
            assert next(c for c in row.checks if c["code"] == "domain_age")["status"] == "pass"
            assert "kybgate worker stopped after" in output
            assert "1 jobs done, 0 failed" in output
            assert huey.pending_count() == 0
        finally:
            huey.flush()  # this test's queue only (its own name)
            app.extensions["kyb.engine"].dispose()
