"""Several writer processes appending to the audit trail at once never fork the chain or leave
a gap: afterwards ``seq`` is 1..N, every ``prev_hash`` is unique and the chain verifies.
Runs on SQLite (a shared file) and PostgreSQL."""

from __future__ import annotations

import multiprocessing
import time

import pytest
import sqlalchemy as sa

from app.audit.trail import verify_trail
from app.db import session_scope

PROCESSES = 4
APPENDS = 50

pytestmark = pytest.mark.slow


def _writer(url: str, worker: int, appends: int, start, anchors: str, secret: str) -> None:
    """One writer process: wait for the others, then append events in separate transactions,
    each commit anchored in the shared anchor file as an app process does."""
    from decimal import Decimal

    from app.audit.anchor import AnchorSink, anchor_key, register_sink
    from app.audit.trail import EventDraft, record
    from app.db import make_engine
    engine = make_engine(url)
    register_sink(engine, AnchorSink(anchors, anchor_key(secret)))
    start.wait(timeout=60)
    for n in range(appends):
        with session_scope(engine) as session:
            record(session, EventDraft(action="verify.decision", actor=f"worker:{worker}",
                                       amount=Decimal(n), currency="TRY",
                                       details={"worker": worker, "n": n}))
        # A pause outside the transaction, as between two requests, so that the lock really
        # passes between processes: SQLite's busy handler sleeps, and a writer that loops
        # without a pause can take the lock again before a sleeping one wakes.
        time.sleep(0.002)
    engine.dispose()


def test_concurrent_writer_processes_keep_one_gapless_chain(app, db_url):
    engine = app.extensions["kyb.engine"]
    with engine.connect() as conn:
        before = conn.execute(sa.text("SELECT count(*) FROM audit_event")).scalar_one()
    engine.dispose()  # no connection of ours is inherited or held while they write
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(PROCESSES)
    from app.audit.anchor import default_anchor_file
    config = app.extensions["kyb.settings"]
    anchors = default_anchor_file(config)
    workers = [context.Process(target=_writer, args=(db_url, w, APPENDS, start, anchors,
                                                     config.secret_key))
               for w in range(PROCESSES)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(timeout=240)
    assert [p.exitcode for p in workers] == [0] * PROCESSES

    total = before + PROCESSES * APPENDS
    with engine.connect() as conn:
        seqs = list(conn.execute(sa.text("SELECT seq FROM audit_event ORDER BY seq")).scalars())
        prevs = list(conn.execute(sa.text("SELECT prev_hash FROM audit_event")).scalars())
        actors = list(conn.execute(sa.text(
            "SELECT actor FROM audit_event WHERE actor LIKE 'worker:%' ORDER BY seq")).scalars())
        per_worker = dict(conn.execute(sa.text(
            "SELECT actor, count(*) FROM audit_event WHERE actor LIKE 'worker:%' "
            "GROUP BY actor")).all())
    assert seqs == list(range(1, total + 1))
    assert len(set(prevs)) == len(prevs) == total
    assert per_worker == {f"worker:{w}": APPENDS for w in range(PROCESSES)}
    # The writers really interleaved (otherwise this test would prove nothing): one after
    # the other would give PROCESSES - 1 switches; interleaved writers give many more.
    switches = sum(1 for a, b in zip(actors, actors[1:], strict=False) if a != b)
    assert switches >= 2 * PROCESSES, switches
    with session_scope(engine) as session:
        report = verify_trail(session)
    assert report.ok, report
    assert report.checked == total
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
