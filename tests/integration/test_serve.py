"""``kybgate serve`` as deployed: gunicorn with two workers and the host's audit writer process.
Verifications over real HTTP are audited by the writer; if the writer dies, gunicorn's master
starts a new one and verifications work again; on SIGTERM everything stops and the socket goes.
SQLite only: the process wiring is the same on PostgreSQL (the writer's own tests run on both).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

BIN = Path(sys.executable).parent
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _children(pid: int) -> dict[int, str]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True,  # noqa: S603, S607
                         check=False).stdout.split()
    found = {}
    for child in map(int, out):
        try:
            found[child] = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except FileNotFoundError:
            pass
    return found


def _writer_pid(master: int) -> int | None:
    return next((pid for pid, cmd in _children(master).items() if "audit writer" in cmd), None)


def _until(predicate, seconds: float = 30.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


@pytest.fixture
def server() -> Iterator[tuple[subprocess.Popen, str, dict[str, str], Path]]:
    folder = Path(tempfile.mkdtemp(prefix="kyb-s-"))  # short: it holds the writer's socket
    env = {**os.environ, "KYB_ENV": "testing", "KYB_INSTANCE_PATH": str(folder),
           "KYB_DATABASE_URL": f"sqlite:///{folder}/kyb.db",
           "KYB_TOKEN_PEPPER": "serve-test-pepper-0123456789", "KYB_KEY_ACTIVATION_DELAY": "0",
           "KYB_SECRET_KEY": "serve-test-secret-0123456789abcdefghij"}
    env.pop("KYB_AUDIT_SOCKET", None)
    port = _free_port()
    log = open(folder / "server.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([str(BIN / "kybgate"), "serve", "--bind", f"127.0.0.1:{port}",  # noqa: S603
                             "--workers", "2", "--threads", "4"], env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        _until(lambda: _get(f"{base}/readyz") == 200)
        yield proc, base, env, folder
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


def _get(url: str) -> int | None:
    try:
        return httpx.get(url, timeout=2).status_code
    except httpx.HTTPError:
        return None


def _bearer(base: str, env: dict[str, str]) -> str:
    out = subprocess.run([str(BIN / "kybgate"), "clients", "create", "--name", "gateway",  # noqa: S603
                          "--scopes", "verify", "--json"], env=env, capture_output=True,
                         text=True, check=True, timeout=60).stdout
    creds = json.loads(out)
    resp = httpx.post(f"{base}/oauth/token", data={"grant_type": "client_credentials"},
                      auth=(creds["client_id"], creds["client_secret"]), timeout=5)
    return resp.json()["access_token"]


def _verify(base: str, bearer: str) -> httpx.Response:
    return httpx.post(f"{base}/api/v1/verify", headers={"Authorization": f"Bearer {bearer}"},
                      json={"token": "kyb_live_not_a_real_token", "client_ip": "93.184.216.34"},
                      timeout=10)


def _stored(folder: Path, event_id: str) -> bool:
    with sqlite3.connect(folder / "kyb.db") as conn:
        return conn.execute("SELECT count(*) FROM audit_event WHERE id = ?",
                            (event_id,)).fetchone()[0] == 1


def test_serve_runs_supervises_and_stops_the_audit_writer(server):
    proc, base, env, folder = server
    ready = httpx.get(f"{base}/readyz", timeout=5).json()
    assert ready["audit_writer"] == "ok"
    writer = _writer_pid(proc.pid)
    assert writer is not None
    assert len(_children(proc.pid)) == 3  # two workers and the writer

    bearer = _bearer(base, env)
    answers = [_verify(base, bearer) for _ in range(6)]  # both workers, one writer
    assert {a.status_code for a in answers} == {200}
    assert {a.json()["reason"] for a in answers} == {"invalid_token"}
    assert all(_stored(folder, a.json()["audit_id"]) for a in answers)

    os.kill(writer, signal.SIGKILL)  # the master notices and starts another
    replacement = _until(lambda: (pid := _writer_pid(proc.pid)) not in (None, writer) and pid)
    _until(lambda: _get(f"{base}/readyz") == 200)
    again = _verify(base, bearer)
    assert again.status_code == 200 and _stored(folder, again.json()["audit_id"])

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    assert not Path(f"/proc/{replacement}").exists() or \
        "zombie" in Path(f"/proc/{replacement}/status").read_text().lower()
    assert not (folder / "audit-writer.sock").exists()
    assert "audit writer exited" in (folder / "server.log").read_text()


def test_a_killed_master_leaves_no_audit_writer_behind(server):
    """``kill -9`` of gunicorn's master alone: the writer notices it was orphaned and stops,
    so that the next ``kybgate serve`` can take the socket."""
    proc, base, _env, folder = server
    writer = _writer_pid(proc.pid)
    workers = [pid for pid in _children(proc.pid) if pid != writer]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    _until(lambda: not Path(f"/proc/{writer}").exists()
           or "zombie" in Path(f"/proc/{writer}/status").read_text().lower(), seconds=20)
    assert not (folder / "audit-writer.sock").exists()
    for pid in workers:  # gunicorn's workers also leave when their master is gone
        _until(lambda pid=pid: not Path(f"/proc/{pid}").exists()
               or "zombie" in Path(f"/proc/{pid}/status").read_text().lower(), seconds=20)
