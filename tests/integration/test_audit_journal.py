"""Journal-first audit (issue #14 item 2, R-B5): workers journal each verification event and
the host's audit writer (``kybgate audit writer``) ships the journals into one gap-free chain,
each event exactly once, whatever stops when: threads and processes, a restarted writer, a torn
last record, a corrupt record (stops only its journal, loudly), an event the database refuses
(stored without the refused values, never blocking its journal), rotation and removal of
shipped files, ``/verify`` answered from the journal, ``/readyz`` on the writer's state.
SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.audit.batcher import AuditUnavailable
from app.audit.trail import EventDraft, verify_trail
from app.dataplane.journal import Journal
from app.dataplane.runtime import runtime
from app.dataplane.shipper import Shipper, read_status
from app.db import session_scope
from app.models import SpendTotal
from tests.conftest import TEST_DATA_KEYS
from tests.keys_support import approved_merchant, issue, verify

KYBGATE = str(Path(sys.executable).parent / "kybgate")
pytestmark = pytest.mark.slow


@pytest.fixture
def settings(settings):
    return settings.replace(key_activation_delay=0)


@pytest.fixture
def journals(tmp_path) -> str:
    return str(tmp_path / "journal")


def _env(settings) -> dict[str, str]:
    return {**os.environ, "KYB_ENV": "testing", "KYB_DATABASE_URL": settings.database_url,
            "KYB_INSTANCE_PATH": settings.instance_path, "KYB_SECRET_KEY": settings.secret_key,
            "KYB_DATA_KEYS": TEST_DATA_KEYS}


def start_writer(settings, journal_dir: str) -> subprocess.Popen:
    """``kybgate audit writer --journal-dir``, once it ships (its status names it)."""
    proc = subprocess.Popen([KYBGATE, "audit", "writer", "--journal-dir", journal_dir],  # noqa: S603
                            env=_env(settings), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"writer exited: {proc.stdout.read()}")
        status = read_status(journal_dir)
        if status and status.get("pid") == proc.pid:
            return proc
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("writer did not start")


def stop_writer(proc: subprocess.Popen) -> str:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    return out


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


def shipper(app, journals: str, **options) -> Shipper:
    return Shipper(app.extensions["kyb.engine"], journals, **options)


def ship_all(ship: Shipper) -> int:
    total = 0
    while (n := ship.ship_once()):
        total += n
    return total


def _chain_ok(app, count: int | None = None) -> None:
    with session_scope(app.extensions["kyb.engine"]) as session:
        report = verify_trail(session)
    assert report.ok, report
    if count is not None:
        assert report.checked == count


def test_threads_journal_and_the_writer_chains_every_event_once(app, journals):
    journal = Journal(journals, fsync="always")
    answers: list = []

    def send(worker: int) -> None:
        for n in range(40):
            answers.append((worker, n, journal.append(draft(n, request_id=f"w{worker}-{n}"))))
    threads = [threading.Thread(target=send, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    ship = shipper(app, journals, max_batch=100)
    assert ship_all(ship) == 320 and ship.batches >= 4  # large batches, not one per event
    stored = {row.id: row for row in _rows(app, "SELECT id, request_id FROM audit_event")}
    assert len(stored) == 320
    for worker, n, event in answers:  # the answer's id is the stored event's, at once
        assert stored[event.id].request_id == f"w{worker}-{n}"
    _chain_ok(app, 320)
    assert ship_all(shipper(app, journals)) == 0  # a restarted writer ships nothing twice
    positions = _rows(app, "SELECT name, position, events FROM audit_journal")
    assert [(r.position, r.events) for r in positions] == [
        (os.path.getsize(journal.path), 320)]


def _process_appends(journal_dir: str, worker: int, count: int) -> None:
    journal = Journal(journal_dir, fsync="off")
    for n in range(count):
        journal.append(draft(n, actor=f"process:{worker}"))
    os._exit(0)  # as a killed worker: no close, nothing flushed by us


def test_processes_journal_and_the_writer_process_keeps_one_gapless_chain(app, settings,
                                                                          journals):
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_process_appends, args=(journals, w, 50))
               for w in range(3)]
    for process in workers:
        process.start()
    writer = start_writer(settings, journals)  # ships while the workers write
    for process in workers:
        process.join(timeout=120)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if _rows(app, "SELECT count(*) FROM audit_event")[0][0] == 150:
            break
        time.sleep(0.05)
    out = stop_writer(writer)
    seqs = [r.seq for r in _rows(app, "SELECT seq FROM audit_event ORDER BY seq")]
    assert seqs == list(range(1, 151)), out
    counts = dict(_rows(app, "SELECT actor, count(*) FROM audit_event "
                             "WHERE actor LIKE 'process:%' GROUP BY actor"))
    assert counts == {"process:0": 50, "process:1": 50, "process:2": 50}
    _chain_ok(app)
    # the workers are gone and everything is shipped: their files and rows went with them
    assert [n for n in os.listdir(journals) if n.endswith(".kjl")] == []
    assert _rows(app, "SELECT count(*) FROM audit_journal")[0][0] == 0
    assert "audit writer stopped: 150 events" in out


def test_a_torn_last_record_waits_and_a_corrupt_one_stops_only_its_journal(app, journals,
                                                                            caplog):
    good, bad = Journal(journals), Journal(journals)
    good.append(draft(1))
    bad.append(draft(2))  # a file of its own (two journals of one process, as two workers)
    with open(bad.path, "ab") as fh:  # a writer stopped in mid-record: a torn tail
        fh.write(b"KJ\x40\x00\x00\x00")
    ship = shipper(app, journals)
    assert ship_all(ship) == 2 and not ship.stopped
    with open(bad.path, "ab") as fh:  # the rest arrives, but damaged
        fh.write(b"\x00" * 4 + b"x" * 0x40)
    good.append(draft(3))
    assert ship_all(ship) == 1
    assert list(ship.stopped) == [os.path.basename(bad.path)]
    assert "checksum mismatch" in caplog.text
    good.append(draft(4))
    assert ship_all(ship) == 1  # the healthy journal goes on
    ship._write_status(ship._journals(), force=True)  # noqa: SLF001
    status = read_status(journals)
    assert list(status["stopped"]) == [os.path.basename(bad.path)]
    _chain_ok(app, 4)


def test_shipped_journals_are_removed_once_their_process_moved_on(app, journals):
    journal = Journal(journals, max_bytes=2000)
    for n in range(30):
        journal.append(draft(n))
    files = sorted(n for n in os.listdir(journals) if n.endswith(".kjl"))
    assert len(files) > 3
    ship = shipper(app, journals)
    assert ship_all(ship) == 30
    ship.ship_once()
    left = sorted(n for n in os.listdir(journals) if n.endswith(".kjl"))
    assert left == [os.path.basename(journal.path)]  # the one still written stays
    assert [r.name for r in _rows(app, "SELECT name FROM audit_journal")] == left


def test_an_event_the_database_refuses_is_stored_salvaged_and_never_blocks_its_journal(
        app, journals):
    journal = Journal(journals)
    for n in range(30):
        journal.append(draft(n, amount=BAD_AMOUNT if n % 10 == 3 else Decimal("10")))
    ship = shipper(app, journals)
    assert ship_all(ship) == 30 and not ship.stopped
    rows = _rows(app, "SELECT amount, details FROM audit_event ORDER BY seq")
    salvaged = [r for r in rows if "salvaged" in (r.details or {})]
    assert len(salvaged) == 3 and all(r.amount is None for r in salvaged)
    assert all("amount_problem" in r.details for r in salvaged)
    _chain_ok(app, 30)


def test_fsync_modes_answer_and_a_full_disk_is_audit_unavailable(app, journals, tmp_path):
    for mode in ("off", "batch", "always"):
        Journal(journals, fsync=mode).append(draft(1))
    with pytest.raises(ValueError, match="KYB_AUDIT_FSYNC"):
        Journal(journals, fsync="sometimes")
    broken = Journal(str(tmp_path / "journal-file"))
    (tmp_path / "journal-file").write_text("a file, not a folder")
    with pytest.raises(AuditUnavailable):
        broken.append(draft(1))
    assert ship_all(shipper(app, journals)) == 3


def test_verify_answers_from_the_journal_and_the_writer_ships_it(app, settings, api,
                                                                  db_session, journals):
    """A worker configured as ``kybgate serve`` configures it (``KYB_AUDIT_JOURNAL_DIR``): the
    answer's ``audit_id`` is the event the writer process chains within a second, the key's
    usage counter follows, and ``/readyz`` reports the writer."""
    from app import create_app
    from tests.conftest import ApiClient
    worker = create_app({"TESTING": True}, settings=settings.replace(audit_journal_dir=journals))
    writer = None
    try:
        assert isinstance(runtime(worker).batcher, Journal)
        ready = worker.test_client().get("/readyz")
        assert (ready.status_code, ready.get_json()["audit_writer"]["status"]) == (
            503, "unreachable")
        merchant_id = approved_merchant(api, db_session)
        key = issue(api, merchant_id)
        worker_api = ApiClient(worker.test_client(), api.token, api.client_id,
                               api.client_secret)
        answers = [verify(worker_api, key["token"], amount="10.00", currency="TRY")
                   for _ in range(3)]
        assert all(a["allowed"] for a in answers)
        assert _rows(app, "SELECT count(*) FROM audit_event WHERE action = 'api.verify'"
                     )[0][0] == 0  # journalled, not shipped: no writer yet
        writer = start_writer(settings, journals)
        started = time.monotonic()
        ids = {a["audit_id"] for a in answers}
        while time.monotonic() - started < 1.0:
            stored = _rows(app, "SELECT id, key_id, decision FROM audit_event "
                                "WHERE action = 'api.verify'")
            if len(stored) == 3:
                break
            time.sleep(0.02)
        assert {r.id for r in stored} == ids  # within the documented second
        assert {(r.key_id, r.decision) for r in stored} == {(key["key_id"], "allow")}
        uses = _rows(app, "SELECT use_count FROM api_key WHERE id = :k", k=key["key_id"])
        assert uses[0][0] == 3
        ready = worker.test_client().get("/readyz").get_json()["audit_writer"]
        assert ready["status"] == "ok" and ready["stopped"] == []
    finally:
        if writer is not None:
            stop_writer(writer)
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


BAD_AMOUNT = Decimal("1e20")  # beyond what either backend stores (issue #13 item 1)


def _mixed_load(append) -> tuple[list, list]:
    """8 threads, each 30 events of which every 10th carries an amount no database stores."""
    stored, refused = [], []

    def send(worker: int) -> None:
        for n in range(30):
            bad = n % 10 == 3
            try:
                event = append(draft(n, request_id=f"w{worker}-{n}",
                                     amount=BAD_AMOUNT if bad else Decimal("10")))
            except AuditUnavailable:
                refused.append((worker, n, bad))
            else:
                stored.append((worker, n, bad, event))
    threads = [threading.Thread(target=send, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return stored, refused


def _assert_only_the_bad_events_failed(app, stored, refused) -> None:
    assert sorted((w, n) for w, n, bad in refused) == sorted(
        (w, n) for w in range(8) for n in (3, 13, 23))
    assert all(bad for *_, bad in refused) and not any(bad for _, _, bad, _ in stored)
    assert len(stored) == 8 * 27
    rows = _rows(app, "SELECT count(*) AS n FROM audit_event")
    assert rows[0].n == len(stored)
    with session_scope(app.extensions["kyb.engine"]) as session:
        assert verify_trail(session).ok


def test_an_event_the_database_refuses_fails_alone_in_a_process_batcher(app):
    from app.audit.batcher import AuditBatcher
    batcher = AuditBatcher(app.extensions["kyb.engine"], idle_seconds=0.5)
    stored, refused = _mixed_load(batcher.append)
    _assert_only_the_bad_events_failed(app, stored, refused)


def test_two_workers_decide_running_totals_exactly_and_the_writer_records_them(
        app, settings, api, db_session, journals):
    """Two worker apps of one host (as two gunicorn workers: one instance folder, so one
    ``spend.map``) verify 10 TRY requests from 6 threads against a merchant's 50 TRY daily cap:
    exactly 5 are allowed, the others say ``limit_exceeded`` and their events name the limit
    (R-E5, SAMA §15 g); the writer then records the spent total of the 5 it stored."""
    from app import create_app
    from app.models import Merchant
    from tests.conftest import ApiClient
    merchant_id = approved_merchant(api, db_session)
    merchant = db_session.get(Merchant, merchant_id)
    merchant.limits = {"currency": "TRY", "daily_amount": "50"}
    db_session.add(merchant)
    db_session.commit()
    key = issue(api, merchant_id)
    workers = [create_app({"TESTING": True},
                          settings=settings.replace(audit_journal_dir=journals))
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
    assert ship_all(shipper(app, journals)) == 24
    refused = _rows(app, "SELECT details FROM audit_event WHERE action = 'api.verify' "
                         "AND decision = 'deny'")
    assert len(refused) == 19
    assert all("merchant daily limit 50 TRY" in str(r.details) for r in refused)
    with app.extensions["kyb.engine"].connect() as conn:  # Money read back by its type
        totals = list(conn.execute(sa.select(SpendTotal.subject, SpendTotal.amount,
                                             SpendTotal.count)))
    assert [(t.subject, t.amount, t.count) for t in totals] == [
        (f"merchant:{merchant_id}", Decimal(50), 5)]


def test_the_writer_reads_in_chunks_and_ships_records_longer_than_a_chunk(app, journals,
                                                                          monkeypatch):
    import app.dataplane.shipper as shipper_module
    monkeypatch.setattr(shipper_module, "_MIN_READ", 512)
    monkeypatch.setattr(shipper_module, "_RECORD_ESTIMATE", 64)
    journal = Journal(journals, fsync="off")
    for n in range(30):  # every fifth record is longer than a chunk, others end mid-chunk
        details = {"channel": "verify", "n": n, "note": "x" * (3000 if n % 5 == 0 else 10)}
        journal.append(draft(n, request_id=f"r{n:02d}", details=details))
    with open(journal.path, "ab") as fh:  # and a torn tail after them
        fh.write(b"KJ\x40\x00\x00\x00")
    ship = shipper(app, journals, max_batch=4)
    assert ship_all(ship) == 30 and ship.batches == 8 and not ship.stopped
    stored = [row.request_id for row in _rows(app, "SELECT request_id FROM audit_event "
                                                   "ORDER BY seq")]
    assert stored == [f"r{n:02d}" for n in range(30)]
    _chain_ok(app, 30)
    assert ship.positions[os.path.basename(journal.path)] == os.path.getsize(journal.path) - 6


def test_the_writer_publishes_its_lag_and_a_journalled_verifier_waits_on_it(
        app, settings, api, db_session, journals, monkeypatch):
    """Pacing (app.dataplane.pacing): each round publishes how long its oldest event waited;
    a worker's verification sleeps while that passes KYB_AUDIT_MAX_LAG."""
    import app.dataplane.pacing as pacing_module
    from app import create_app
    from app.db import utcnow
    from tests.conftest import ApiClient
    worker = create_app({"TESTING": True}, settings=settings.replace(audit_journal_dir=journals))
    try:
        pacing = runtime(worker).pacing
        assert pacing is not None and pacing.max_lag == 1.0
        journal = Journal(journals)
        journal.append(draft(1, at=utcnow() - dt.timedelta(seconds=3)))
        ship = shipper(app, journals)
        ship.ship_once()
        published_at, lag = ship.clock.read()
        assert lag == pytest.approx(3.0, abs=0.5) and abs(time.time() - published_at) < 2
        assert runtime(worker).verifier.pacing is pacing
        slept = []  # the waits the verifications asked for (not slept: the test's time)
        monkeypatch.setattr(pacing, "wait", lambda: slept.append(pacing.delay()))
        merchant_id = approved_merchant(api, db_session)
        key = issue(api, merchant_id)
        worker_api = ApiClient(worker.test_client(), api.token, api.client_id,
                               api.client_secret)
        assert verify(worker_api, key["token"], amount="10.00", currency="TRY")["allowed"]
        assert slept and slept[0] == pytest.approx((lag - 1.0) * pacing_module.GAIN, rel=0.3)
        ship.ship_once()  # caught up: the oldest waiting is the one just answered
        slept.clear()
        ship_all(ship)
        ship.ship_once()
        assert ship.clock.read()[1] == 0.0
        assert verify(worker_api, key["token"], amount="10.00", currency="TRY")["allowed"]
        assert slept == [0.0]
        journal.close()
    finally:
        runtime(worker).batcher.close()
        runtime(worker).stop.set()
        worker.extensions["kyb.engine"].dispose()
