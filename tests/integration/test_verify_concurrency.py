"""Concurrent verifications from two app instances (two workers, two group-commit writers) over
real HTTP: every answer has exactly its own committed audit event, events are batched, and the
hash chain stays intact."""

from __future__ import annotations

import http.client
import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from app import create_app
from app.audit.trail import verify_trail
from app.dataplane.runtime import runtime
from tests.integration.app_server import serve
from tests.keys_support import CLIENT_IP, SITE, approved_merchant, issue

THREADS = 12
PER_THREAD = 25


@pytest.fixture
def settings(settings):
    return settings.replace(key_activation_delay=0)


def _post(port: int, bearer: str, body: dict) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("POST", "/api/v1/verify", body=json.dumps(body),
                 headers={"Authorization": f"Bearer {bearer}",
                          "Content-Type": "application/json"})
    resp = conn.getresponse()
    data = json.loads(resp.read())
    conn.close()
    assert resp.status == 200, data
    return data


def test_concurrent_verifications_each_have_one_event_and_the_chain_holds(app, api, db_session,
                                                                          settings):
    merchant_id = approved_merchant(api, db_session)
    token = issue(api, merchant_id)["token"]
    second = create_app({"TESTING": True}, settings=settings)
    answers: list[dict] = []
    lock = threading.Lock()

    def worker(port: int, n: int) -> None:
        for i in range(PER_THREAD):
            ip = CLIENT_IP if (n + i) % 3 else "8.8.8.8"  # a third are denied
            data = _post(port, api.token, {"token": token, "client_ip": ip, "origin": SITE,
                                           "customer_ref": f"c{i % 4}"})
            with lock:
                answers.append(data)

    with serve(app) as port_a, serve(second) as port_b:
        with ThreadPoolExecutor(THREADS) as pool:
            for n in range(THREADS):
                pool.submit(worker, port_a if n % 2 else port_b, n)
    total = THREADS * PER_THREAD
    assert len(answers) == total
    ids = [a["audit_id"] for a in answers]
    assert len(set(ids)) == total
    with app.extensions["kyb.engine"].connect() as conn:
        rows = dict(conn.execute(sa.text(
            "SELECT id, decision FROM audit_event WHERE action = 'api.verify'")).all())
    assert set(rows) == set(ids)
    assert all(rows[a["audit_id"]] == ("allow" if a["allowed"] else "deny") for a in answers)
    batches = runtime(app).batcher.batches + runtime(second).batcher.batches
    assert batches < total  # group commit: requests shared transactions
    db_session.rollback()
    report = verify_trail(db_session)
    assert report.ok, report
    second.extensions["kyb.engine"].dispose()
