"""``kybgate serve`` as deployed: gunicorn with two workers, the host's audit writer process and
one job worker. Verifications over real HTTP are journalled by the workers and shipped by the
writer; if the writer (or the job worker) dies, gunicorn's master starts a new one and
verifications work again; on SIGTERM everything stops.
SQLite only: the process wiring is the same on PostgreSQL (the writer's own tests run on both).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.serve_support import BIN, verify_bearer

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


def _job_worker_pid(master: int) -> int | None:
    return next((pid for pid, cmd in _children(master).items() if "kybgate worker" in cmd), None)


def _gone(pid: int) -> bool:
    return not Path(f"/proc/{pid}").exists() or \
        "zombie" in Path(f"/proc/{pid}/status").read_text().lower()


def _until(predicate, seconds: float = 30.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


@pytest.fixture
def server(request) -> Iterator[tuple[subprocess.Popen, str, dict[str, str], Path]]:
    """``kybgate serve`` with ``request.param`` (a list of extra arguments) if parametrized."""
    folder = Path(tempfile.mkdtemp(prefix="kyb-s-"))
    env = {**os.environ, "KYB_ENV": "testing", "KYB_INSTANCE_PATH": str(folder),
           "KYB_DATABASE_URL": f"sqlite:///{folder}/kyb.db",
           "KYB_TOKEN_PEPPER": "serve-test-pepper-0123456789", "KYB_KEY_ACTIVATION_DELAY": "0",
           "KYB_SECRET_KEY": "serve-test-secret-0123456789abcdefghij"}
    env.pop("KYB_AUDIT_JOURNAL_DIR", None)
    port = _free_port()
    log = open(folder / "server.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([str(BIN / "kybgate"), "serve", "--bind", f"127.0.0.1:{port}",  # noqa: S603
                             "--workers", "2", "--threads", "4",
                             *getattr(request, "param", [])], env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        # gunicorn, the audit writer, the job worker and two workers import the app: on a
        # loaded 2-core CI box that took over 30 s
        _until(lambda: _get(f"{base}/readyz") == 200, seconds=120)
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



def _verify(base: str, bearer: str) -> httpx.Response:
    return httpx.post(f"{base}/api/v1/verify", headers={"Authorization": f"Bearer {bearer}"},
                      json={"token": "kyb_live_not_a_real_token", "client_ip": "93.184.216.34"},
                      timeout=10)


def _stored(folder: Path, event_id: str) -> bool:
    """Whether the event is in the chain: the writer ships journals within a second."""
    deadline = time.monotonic() + 2.0
    while True:
        with sqlite3.connect(folder / "kyb.db") as conn:
            if conn.execute("SELECT count(*) FROM audit_event WHERE id = ?",
                            (event_id,)).fetchone()[0] == 1:
                return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)


def test_serve_runs_supervises_and_stops_the_audit_writer(server):
    proc, base, env, folder = server
    ready = httpx.get(f"{base}/readyz", timeout=5).json()
    assert ready["audit_writer"]["status"] == "ok"
    writer = _writer_pid(proc.pid)
    assert writer is not None
    assert len(_children(proc.pid)) == 4  # two workers, the writer and the job worker

    bearer = verify_bearer(base, env)
    answers = [_verify(base, bearer) for _ in range(6)]  # both workers, one writer
    assert {a.status_code for a in answers} == {200}
    assert {a.json()["reason"] for a in answers} == {"invalid_token"}
    assert all(_stored(folder, a.json()["audit_id"]) for a in answers)

    os.kill(writer, signal.SIGKILL)  # the master notices and starts another
    replacement = _until(lambda: (pid := _writer_pid(proc.pid)) not in (None, writer) and pid)
    _until(lambda: _get(f"{base}/readyz") == 200, seconds=90)
    again = _verify(base, bearer)
    assert again.status_code == 200 and _stored(folder, again.json()["audit_id"])

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    assert not Path(f"/proc/{replacement}").exists() or \
        "zombie" in Path(f"/proc/{replacement}/status").read_text().lower()
    assert "audit writer exited" in (folder / "server.log").read_text()


def test_a_killed_master_leaves_no_audit_writer_behind(server):
    """``kill -9`` of gunicorn's master alone: the writer notices it was orphaned and stops,
    so that no orphan ships beside the next ``kybgate serve``'s writer."""
    proc, base, _env, folder = server
    writer, job_worker = _writer_pid(proc.pid), _job_worker_pid(proc.pid)
    workers = [pid for pid in _children(proc.pid) if pid not in (writer, job_worker)]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    _until(lambda: not Path(f"/proc/{writer}").exists()
           or "zombie" in Path(f"/proc/{writer}/status").read_text().lower(), seconds=20)
    _until(lambda: _gone(job_worker), seconds=20)  # the job worker follows its parent too
    for pid in workers:  # gunicorn's workers also leave when their master is gone
        _until(lambda pid=pid: not Path(f"/proc/{pid}").exists()
               or "zombie" in Path(f"/proc/{pid}/status").read_text().lower(), seconds=20)


def test_serve_runs_supervises_and_stops_the_job_worker(server):
    """R-D1: the jobs run without a separate process manager: the master starts one
    ``kybgate worker``, starts another if it dies, and stops it gracefully on SIGTERM."""
    proc, _base, _env, folder = server
    worker = _until(lambda: _job_worker_pid(proc.pid))
    assert "--exit-with-parent" in _children(proc.pid)[worker]
    _until(lambda: "kybgate worker: " in (folder / "server.log").read_text())
    assert (folder / "jobs.db").exists()  # SQLite queue beside the instance database

    os.kill(worker, signal.SIGKILL)
    replacement = _until(lambda: (pid := _job_worker_pid(proc.pid)) not in (None, worker)
                         and pid)
    _until(lambda: (folder / "server.log").read_text().count("kybgate worker: ") == 2)

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0
    assert _gone(replacement)
    log = (folder / "server.log").read_text()
    assert "job worker exited" in log
    assert "kybgate worker stopped after" in log  # the graceful stop's summary


@pytest.mark.parametrize("server", [["--no-worker"]], indirect=True)
def test_serve_without_a_worker_starts_none(server):
    proc, _base, _env, _folder = server
    assert _job_worker_pid(proc.pid) is None
    assert len(_children(proc.pid)) == 3  # two workers and the writer
