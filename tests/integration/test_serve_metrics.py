"""``/metrics`` under ``kybgate serve`` (R-D8): gunicorn workers share their counts through
``PROMETHEUS_MULTIPROC_DIR``, which ``serve`` creates and empties at start, so every scrape,
whichever worker answers it, shows the verifications of all of them. SQLite only: the process
wiring does not depend on the database."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.test_serve import _get, _until, _verify
from tests.serve_support import BIN, verify_bearer

pytestmark = pytest.mark.slow
PORTS = range(9750, 9800)  # this helper's range on the shared machine


def _port() -> int:
    import socket
    for port in PORTS:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port")


def _count(text: str, reason: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if (sample.name == "kyb_verification_seconds_count"
                    and sample.labels.get("reason") == reason):
                return sample.value
    return 0.0


def test_metrics_sum_every_worker_and_a_restart_starts_from_an_empty_dir():
    folder = Path(tempfile.mkdtemp(prefix="kyb-m-"))
    stale = folder / "prometheus" / "histogram_99999.db"
    stale.parent.mkdir()
    stale.write_bytes(b"left over from a previous run")
    env = {**os.environ, "KYB_ENV": "testing", "KYB_INSTANCE_PATH": str(folder),
           "KYB_DATABASE_URL": f"sqlite:///{folder}/kyb.db",
           "KYB_TOKEN_PEPPER": "serve-test-pepper-0123456789",
           "KYB_SECRET_KEY": "serve-test-secret-0123456789abcdefghij"}
    for name in ("KYB_AUDIT_JOURNAL_DIR", "PROMETHEUS_MULTIPROC_DIR"):
        env.pop(name, None)
    port = _port()
    base = f"http://127.0.0.1:{port}"
    with open(folder / "server.log", "wb") as log:
        proc = subprocess.Popen([str(BIN / "kybgate"), "serve", "--bind",  # noqa: S603
                                 f"127.0.0.1:{port}", "--workers", "2", "--threads", "2"],
                                env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            _until(lambda: _get(f"{base}/readyz") == 200, 60)
            assert not stale.exists()
            bearer = verify_bearer(base, env)
            assert {_verify(base, bearer).status_code for _ in range(6)} == {200}
            for _ in range(6):  # new connections: the answers come from both workers
                text = httpx.get(f"{base}/metrics", timeout=10).text
                assert _count(text, "invalid_token") == 6
            assert list((folder / "prometheus").glob("histogram_*.db"))
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    shutil.rmtree(folder, ignore_errors=True)
