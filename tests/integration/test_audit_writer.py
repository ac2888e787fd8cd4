"""The host's audit writer process (``kybgate audit writer``) against real clients: events of
many threads and processes share commits and one gap-free chain; a client learns of every
failure (writer gone, batch refused) and never sees an acknowledgement without a commit; bad
frames close only their own connection; SIGTERM drains; ``/verify`` works through it.

Each test runs the real command as a subprocess on a Unix socket in a short temporary folder
(a socket path must stay under 108 bytes), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.audit.batcher import AuditUnavailable
from app.audit.trail import EventDraft, verify_trail
from app.audit.writer import AuditWriterClient, bind_socket, writer_reachable
from app.db import session_scope
from app.keys_feature import runtime
from tests.keys_support import approved_merchant, issue, verify

KYBGATE = str(Path(sys.executable).parent / "kybgate")
pytestmark = pytest.mark.slow


@pytest.fixture
def settings(settings):
    return settings.replace(key_activation_delay=0)


@pytest.fixture
def socket_path() -> Iterator[str]:
    folder = tempfile.mkdtemp(prefix="kyb-w-")
    yield os.path.join(folder, "audit.sock")
    shutil.rmtree(folder, ignore_errors=True)


def _env(settings) -> dict[str, str]:
    return {**os.environ, "KYB_ENV": "testing", "KYB_DATABASE_URL": settings.database_url,
            "KYB_INSTANCE_PATH": settings.instance_path, "KYB_SECRET_KEY": settings.secret_key}


def start_writer(settings, path: str) -> subprocess.Popen:
    """``kybgate audit writer --socket path``, once it accepts connections."""
    proc = subprocess.Popen([KYBGATE, "audit", "writer", "--socket", path],  # noqa: S603
                            env=_env(settings), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"writer exited: {proc.stdout.read()}")
        if writer_reachable(path):
            return proc
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("writer did not start")


@pytest.fixture
def writer(settings, socket_path) -> Iterator[subprocess.Popen]:
    proc = start_writer(settings, socket_path)
    yield proc
    if proc.poll() is None:
        proc.terminate()
        proc.wait(timeout=30)


def draft(n: int, **fields) -> EventDraft:
    values = {"action": "api.verify", "actor": "client:test", "amount": Decimal("149.90"),
              "currency": "TRY", "source_ip": "93.184.216.34", "customer_ref": f"cust-{n}",
              "decision": "deny", "reason": "invalid_token", "latency_ms": 1.25,
              "details": {"channel": "verify", "n": n, "name": "Çiçekçi Ş."},
              "at": dt.datetime(2026, 11, 22, 10, 0, tzinfo=dt.UTC)}
    return EventDraft(**{**values, **fields})


def _rows(app, sql: str, **params) -> list:
    with app.extensions["kyb.engine"].connect() as conn:
        return list(conn.execute(sa.text(sql), params))


def test_threads_share_commits_and_every_ack_names_its_stored_event(app, writer, socket_path):
    client = AuditWriterClient(socket_path)
    acks: list = []

    def send(worker: int) -> None:
        for n in range(40):
            acks.append((worker, n, client.append(draft(n, request_id=f"w{worker}-{n}"))))
    threads = [threading.Thread(target=send, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    client.close()
    assert len(acks) == 320
    stored = {row.id: row for row in _rows(
        app, "SELECT id, seq, hash, request_id, amount, details FROM audit_event")}
    for worker, n, event in acks:
        row = stored[event.id]
        assert (row.seq, row.hash, row.request_id) == (event.seq, event.hash, f"w{worker}-{n}")
    assert client.batches < 320  # acknowledgement frames: events shared commits
    with session_scope(app.extensions["kyb.engine"]) as session:
        report = verify_trail(session)
    assert report.ok and report.checked == len(stored), report


def _process_appends(path: str, worker: int, count: int) -> None:
    client = AuditWriterClient(path)
    for n in range(count):
        client.append(draft(n, actor=f"process:{worker}"))
    client.close()


def test_several_processes_keep_one_gapless_chain(app, writer, socket_path):
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_process_appends, args=(socket_path, w, 50))
               for w in range(3)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(timeout=120)
    assert [p.exitcode for p in workers] == [0, 0, 0]
    seqs = [r.seq for r in _rows(app, "SELECT seq FROM audit_event ORDER BY seq")]
    assert seqs == list(range(1, len(seqs) + 1))
    counts = dict(_rows(app, "SELECT actor, count(*) FROM audit_event "
                             "WHERE actor LIKE 'process:%' GROUP BY actor"))
    assert counts == {"process:0": 50, "process:1": 50, "process:2": 50}
    with session_scope(app.extensions["kyb.engine"]) as session:
        assert verify_trail(session).ok


def test_no_writer_means_audit_unavailable_and_nothing_stored(app, socket_path):
    client = AuditWriterClient(socket_path, connect_timeout=0.5)
    with pytest.raises(AuditUnavailable, match="unreachable"):
        client.append(draft(1))
    client.close()
    assert _rows(app, "SELECT count(*) FROM audit_event WHERE action = 'api.verify'")[0][0] == 0


def test_a_killed_writer_fails_the_waiting_requests_and_a_restarted_one_serves_again(
        app, settings, socket_path):
    proc = start_writer(settings, socket_path)
    client = AuditWriterClient(socket_path)
    before = client.append(draft(0))
    os.kill(proc.pid, signal.SIGSTOP)  # the writer holds the request without committing it
    waiting = client.submit(draft(1))
    time.sleep(0.2)
    assert not waiting.done()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    with pytest.raises(AuditUnavailable, match="connection lost"):
        waiting.result(timeout=10)
    with pytest.raises(AuditUnavailable):
        client.append(draft(2))  # the stale socket file is still there, nobody listens
    restarted = start_writer(settings, socket_path)  # replaces the stale socket file
    try:
        after = client.append(draft(3))  # the client reconnects by itself
    finally:
        client.close()
        restarted.terminate()
        restarted.wait(timeout=30)
    assert after.seq == before.seq + 1  # the unacknowledged event was never committed
    with session_scope(app.extensions["kyb.engine"]) as session:
        assert verify_trail(session).ok


@pytest.mark.parametrize("frame", [
    struct.pack(">I", 10_000_000),  # longer than any event may be
    struct.pack(">I", 7) + b"not-js}",
    struct.pack(">I", 29) + b'{"n": 1, "d": {"evil": true}}',
    struct.pack(">I", 8) + b'{"d": 1}',
], ids=["oversized", "not-json", "unknown-field", "no-number"])
def test_a_bad_frame_closes_only_its_own_connection(app, writer, socket_path, frame):
    good = AuditWriterClient(socket_path)
    good.append(draft(0))
    bad = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    bad.settimeout(10)
    bad.connect(socket_path)
    bad.sendall(frame)
    assert bad.recv(100) == b""  # closed by the writer without an answer
    bad.close()
    assert good.append(draft(1)).seq > 0  # the other connection is untouched
    good.close()
    assert _rows(app, "SELECT count(*) FROM audit_event WHERE action = 'api.verify'")[0][0] == 2


def test_sigterm_commits_what_connected_workers_send_then_exits(app, settings, socket_path):
    proc = start_writer(settings, socket_path)
    client = AuditWriterClient(socket_path)
    client.append(draft(0))
    proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    assert proc.poll() is None  # still serving the connected client
    assert not writer_reachable(socket_path)  # but taking no new connection
    assert client.append(draft(1)).seq == 2
    client.close()
    assert proc.wait(timeout=10) == 0
    assert "2 events in" in proc.stdout.read()
    assert not os.path.exists(socket_path)
    # On its way out the writer anchored the head it committed, outside the database.
    from app.audit.anchor import anchor_key, read_anchors
    (anchor,) = read_anchors(Path(settings.instance_path) / "audit-anchors.jsonl")
    assert anchor.seq == 2 and anchor.valid(anchor_key(settings.secret_key))


def test_socket_is_private_and_never_replaces_other_files(writer, socket_path, tmp_path):
    assert stat.S_IMODE(os.stat(socket_path).st_mode) == 0o600
    with pytest.raises(RuntimeError, match="already listens"):
        bind_socket(socket_path)
    regular = tmp_path / "not-a-socket"
    regular.write_text("keep me")
    with pytest.raises(RuntimeError, match="not a socket"):
        bind_socket(regular)
    assert regular.read_text() == "keep me"


def test_verify_through_the_writer_process(app, settings, api, db_session, writer, socket_path):
    """The verification endpoint in a worker configured with ``KYB_AUDIT_SOCKET``: the answer
    carries the id of the event the writer committed, and the key's usage counter (updated in
    the writer's batch transaction) follows."""
    from app import create_app
    worker = create_app({"TESTING": True}, settings=settings.replace(audit_socket=socket_path))
    try:
        assert "AuditWriterClient" in type(runtime(worker).batcher).__name__
        merchant_id = approved_merchant(api, db_session)
        key = issue(api, merchant_id)
        from tests.conftest import ApiClient
        worker_api = ApiClient(worker.test_client(), api.token, api.client_id,
                               api.client_secret)
        answers = [verify(worker_api, key["token"], amount="10.00", currency="TRY")
                   for _ in range(3)]
        assert all(a["allowed"] for a in answers)
        ids = {a["audit_id"] for a in answers}
        stored = _rows(app, "SELECT id, key_id, decision FROM audit_event "
                            "WHERE action = 'api.verify'")
        assert {r.id for r in stored} == ids
        assert {(r.key_id, r.decision) for r in stored} == {(key["key_id"], "allow")}
        uses = _rows(app, "SELECT use_count FROM api_key WHERE id = :k", k=key["key_id"])
        assert uses[0][0] == 3
        assert worker.test_client().get("/readyz").get_json()["audit_writer"] == "ok"
    finally:
        runtime(worker).batcher.close()
        runtime(worker).stop.set()
        worker.extensions["kyb.engine"].dispose()


def test_sqlite_wal_is_checkpointed_beside_the_writer_not_in_its_commits(app, db_url, tmp_path):
    """The writer's own commits never checkpoint (``wal_autocheckpoint=0``); the checkpointer
    thread copies the WAL into the database file, and truncates it when it stops."""
    if not db_url.startswith("sqlite"):
        pytest.skip("the WAL is SQLite's")
    from app.audit.batcher import WalCheckpointer, append_batch, sqlite_writer_engine
    path = Path(db_url.removeprefix("sqlite:///"))
    writer = sqlite_writer_engine(db_url, autocheckpoint=False)
    try:
        for n in range(60):  # well past SQLite's default autocheckpoint of 1,000 pages
            with writer.begin() as conn:
                append_batch(conn, [draft(n * 20 + i) for i in range(20)])
        with writer.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
        wal = Path(f"{path}-wal")
        assert wal.stat().st_size > 1000 * 4096  # nothing checkpointed it meanwhile
        checkpointer = WalCheckpointer(db_url, interval=0.05).start()
        busy, pages, done = checkpointer.checkpoint()
        assert (busy, done) == (0, pages) and pages > 1000
        checkpointer.stop()
        assert checkpointer.rounds >= 2 and wal.stat().st_size == 0
    finally:
        writer.dispose()
    with session_scope(app.extensions["kyb.engine"]) as session:
        assert verify_trail(session).checked == 1200


def test_the_writer_settles_running_totals_exactly_across_processes(app, settings, api,
                                                                    db_session, writer,
                                                                    socket_path):
    """Two worker apps (as two gunicorn workers) verify 10 TRY requests from 6 threads against
    a merchant's 50 TRY daily cap: the writer, which settles totals in its batch under the chain
    lock, lets exactly 5 through, and the other answers say ``limit_exceeded`` (R-E5, SAMA
    §15 g). The refused events name the limit."""
    from app import create_app
    from app.models import Merchant
    from tests.conftest import ApiClient
    merchant_id = approved_merchant(api, db_session)
    merchant = db_session.get(Merchant, merchant_id)
    merchant.limits = {"currency": "TRY", "daily_amount": "50"}
    db_session.add(merchant)
    db_session.commit()
    key = issue(api, merchant_id)
    workers = [create_app({"TESTING": True}, settings=settings.replace(audit_socket=socket_path))
               for _ in range(2)]
    answers: list[dict] = []

    def send(n: int) -> None:
        client = ApiClient(workers[n % 2].test_client(), api.token, api.client_id,
                           api.client_secret)
        for _ in range(4):
            answers.append(verify(client, key["token"], amount="10", currency="TRY"))
    try:
        threads = [threading.Thread(target=send, args=(n,)) for n in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    finally:
        for worker in workers:
            runtime(worker).batcher.close()
            runtime(worker).stop.set()
            worker.extensions["kyb.engine"].dispose()
    assert len(answers) == 24
    assert sum(a["allowed"] for a in answers) == 5
    assert {a["reason"] for a in answers if not a["allowed"]} == {"limit_exceeded"}
    refused = _rows(app, "SELECT details FROM audit_event WHERE action = 'api.verify' "
                         "AND decision = 'deny'")
    assert len(refused) == 19
    assert all("merchant daily limit 50 TRY" in str(r.details) for r in refused)
    totals = _rows(app, "SELECT subject, amount, count FROM spend_total")
    assert [(t.subject, t.count) for t in totals] == [(f"merchant:{merchant_id}", 5)]
