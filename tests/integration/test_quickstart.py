"""The README's "API in one minute" works as written (issue #11): ``scripts/quickstart.sh`` —
the same steps — runs against a real ``kybgate serve`` on a fresh instance folder with the demo
loaded, and ends with one allowed and one refused ``POST /api/v1/verify``.
The demo's assessments go through its 127.0.0.1 sandbox; no lookup leaves the machine.
SQLite only: the script speaks HTTP and the CLI, whatever the database.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ready(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def demo_server() -> Iterator[tuple[str, dict[str, str]]]:
    """``kybgate demo`` loaded into a fresh folder, then ``kybgate serve`` on a free port."""
    folder = Path(tempfile.mkdtemp(prefix="kyb-q-"))  # short: it holds the writer's socket
    env = {**os.environ, "KYB_ENV": "testing", "KYB_INSTANCE_PATH": str(folder),
           "KYB_DATABASE_URL": f"sqlite:///{folder}/kyb.db",
           "KYB_SECRET_KEY": "quickstart-test-secret-0123456789abcdef"}
    for name in ("KYB_AUDIT_JOURNAL_DIR", "KYB_REDIS_URL", "KYB_KEY_ACTIVATION_DELAY"):
        env.pop(name, None)
    for args in (["db", "upgrade"], ["demo"]):
        subprocess.run([str(BIN / "kybgate"), *args], env=env, check=True,  # noqa: S603
                       capture_output=True, timeout=120)
    port = _free_port()
    log = open(folder / "server.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([str(BIN / "kybgate"), "serve", "--bind", f"127.0.0.1:{port}",  # noqa: S603
                             "--workers", "1", "--threads", "4", "--no-worker"], env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while not _ready(f"{base}/readyz"):
            assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)
        yield base, env
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=15)
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


def _readme_block() -> str:
    """The shell block of the README's "API in one minute", as a newcomer pastes it."""
    section = (ROOT / "README.md").read_text().split("## API in one minute", 1)[1]
    return section.split("```sh\n", 1)[1].split("\n```", 1)[0]


def test_quickstart_script_ends_with_one_allowed_and_one_refused_verify(demo_server):
    base, env = demo_server
    run = subprocess.run(["bash", str(ROOT / "scripts" / "quickstart.sh")],  # noqa: S603, S607
                         env={**env, "KYB_URL": base, "KYBGATE": str(BIN / "kybgate"),
                              "PY": sys.executable},
                         capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    _assert_allowed_then_refused(run.stdout)

    # The README's block, pasted as is (the server's URL and this venv's binaries put in).
    block = _readme_block()
    assert "KYB_URL=http://127.0.0.1:8000\n" in block
    block = block.replace("KYB_URL=http://127.0.0.1:8000", f"KYB_URL={base}")
    block = block.replace(".venv/bin/", f"{BIN}/")
    pasted = subprocess.run(["bash", "-euo", "pipefail", "-c", block],  # noqa: S603, S607
                            env=env, cwd=ROOT, capture_output=True, text=True, timeout=60,
                            check=False)
    assert pasted.returncode == 0, pasted.stdout + pasted.stderr
    answers = [json.loads(line) for line in pasted.stdout.splitlines() if line.startswith("{")]
    assert [(a["allowed"], a["reason"]) for a in answers] == [(True, "ok"),
                                                             (False, "ip_not_allowed")]
    assert pasted.stdout.startswith("client id: kybc_")
    assert "access token: " in pasted.stdout


def _assert_allowed_then_refused(stdout: str) -> None:
    lines = stdout.splitlines()
    # the client id and the token are shown, never the client secret
    assert lines[0].startswith("client id: kybc_") and lines[1].startswith("access token: ")
    assert lines[2].startswith("merchant: ")
    answers = [json.loads(line) for line in lines if line.startswith("{")]
    assert len(answers) == 2, stdout
    allowed, refused = answers
    merchant_id = lines[2].removeprefix("merchant: ")
    assert allowed["allowed"] is True and allowed["reason"] == "ok", stdout
    assert allowed["merchant_id"] == merchant_id
    assert refused["allowed"] is False and refused["reason"] == "ip_not_allowed"
    assert refused["key_id"] == allowed["key_id"] and allowed["audit_id"] != refused["audit_id"]
