"""``kybgate serve`` keeps no full card number in its logs or its audit trail (issue #13 item
4): a card number sent in the ``/api/v1/auth/…`` path (plain or percent-encoded), the query,
the ``Referer``, ``X-Customer-Ref`` / ``X-Operation`` and the ``/verify`` body is masked in
gunicorn's access log, the stored events and ``kybgate audit export``. SQLite (the process
wiring; the database channels are hunted on both backends in tests/functional)."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.pan_hunt import leaks
from tests.serve_support import BIN, verify_bearer

PORT = 9811  # this helper's port range (9800-9899)
pytestmark = pytest.mark.slow
PANS = ("4111111111111111", "5555555555554444", "378282246310005", "6011000990139424")


@pytest.fixture
def served() -> Iterator[tuple[str, dict[str, str], Path]]:
    folder = Path(tempfile.mkdtemp(prefix="kyb-p-"))
    env = {**os.environ, "KYB_ENV": "testing", "KYB_INSTANCE_PATH": str(folder),
           "KYB_DATABASE_URL": f"sqlite:///{folder}/kyb.db",
           "KYB_TOKEN_PEPPER": "serve-test-pepper-0123456789", "KYB_KEY_ACTIVATION_DELAY": "0",
           "KYB_SECRET_KEY": "serve-test-secret-0123456789abcdefghij"}
    env.pop("KYB_AUDIT_JOURNAL_DIR", None)
    log = open(folder / "server.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([str(BIN / "kybgate"), "serve", "--bind", f"127.0.0.1:{PORT}",  # noqa: S603
                             "--workers", "1", "--threads", "2", "--no-worker"], env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{PORT}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        yield base, env, folder
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        log.close()
        shutil.rmtree(folder, ignore_errors=True)



def test_card_numbers_in_urls_headers_and_bodies_are_masked(served):
    base, env, folder = served
    gateway = {"Authorization": "Bearer kyb_live_not_a_real_token",
               "X-Customer-Ref": "cust 3782 822463 10005", "X-Operation": "pay 6011000990139424"}
    answers = [
        httpx.get(f"{base}/api/v1/auth/pay/4111111111111111", timeout=10,
                  headers={**gateway, "Referer": "https://shop.test/checkout?card=5555-5555-5555-4444"}),
        httpx.get(f"{base}/api/v1/auth/pay/4111%201111%201111%201111?c=5555+5555+5555+4444",
                  timeout=10, headers={**gateway, "Referer": "https://shop.test/4111.1111.1111.1111"}),
        httpx.post(f"{base}/api/v1/verify", timeout=10,
                   headers={"Authorization": f"Bearer {verify_bearer(base, env)}"},
                   json={"token": "kyb_live_not_a_real_token", "client_ip": "93.184.216.34",
                         "customer_ref": "qty 3 4111111111111111",
                         "operation": "5555 5555 5555 4444"}),
    ]
    assert all(a.status_code < 500 for a in answers), [a.status_code for a in answers]
    time.sleep(1.0)  # the access log line is written after the answer
    server_log = (folder / "server.log").read_text(errors="replace")
    assert "/api/v1/auth/pay/411111******1111" in server_log  # the request is still logged
    assert "555555******4444" in server_log  # the Referer too, masked
    for line in server_log.splitlines():
        assert not leaks(line, PANS), line

    with sqlite3.connect(folder / "kyb.db") as conn:
        rows = conn.execute("SELECT operation, customer_ref, site, reason, details FROM "
                            "audit_event WHERE action = 'api.verify'").fetchall()
    assert len(rows) == 3
    assert not [(row, leaks(str(row), PANS)) for row in rows if leaks(str(row), PANS)]
    exported = subprocess.run([str(BIN / "kybgate"), "audit", "export", "--format", "jsonl"],  # noqa: S603
                              env=env, capture_output=True, text=True, check=True,
                              timeout=60).stdout
    assert "411111******1111" in exported
    assert not leaks(exported, PANS)
