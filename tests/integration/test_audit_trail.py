"""The audit trail is append-only in the database itself, and ``kybgate audit verify`` names the
first broken event after any edit, deletion, insertion or reordering of the stored rows.
``kybgate audit export`` writes every event. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import time
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from app.audit.chain import GENESIS_HASH, event_hash
from app.audit.trail import EventDraft, record
from app.db import session_scope

EVENTS = 6


@pytest.fixture
def engine(app):
    return app.extensions["kyb.engine"]


@pytest.fixture
def chain(engine) -> list[str]:
    """Six events, each appended in its own transaction; returns their ids in seq order."""
    ids = []
    for n in range(1, EVENTS + 1):
        with session_scope(engine) as session:
            event = record(session, EventDraft(
                action="verify.decision", actor="client:gateway", merchant_id="mer_test",
                key_id="key_1", source_ip="203.0.113.7", operation="sale",
                amount=Decimal(f"{n}99.90"), currency="TRY", card_masked="454360******3212",
                decision="allow" if n % 2 else "deny", reason="ok" if n % 2 else "ip_not_allowed",
                latency_ms=1.25 * n, details={"note": f"Şeker İşlemi #{n}", "n": n}))
            ids.append(event.id)
    return ids


def _verify(app) -> tuple[int, dict]:
    result = app.test_cli_runner().invoke(args=["audit", "verify", "--json"])
    return result.exit_code, json.loads(result.stdout)


def _verify_text(app) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    return result.exit_code, result.output


def _sql(engine, statement: str, **params) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text(statement), params)


def _drop_guards(engine) -> None:
    if engine.dialect.name == "sqlite":
        _sql(engine, "DROP TRIGGER audit_event_no_update")
        _sql(engine, "DROP TRIGGER audit_event_no_delete")
    else:
        _sql(engine, "DROP TRIGGER audit_event_no_change ON audit_event")


def _row(engine, seq: int) -> dict:
    with engine.connect() as conn:
        return dict(conn.execute(sa.text("SELECT * FROM audit_event WHERE seq = :s"),
                                 {"s": seq}).mappings().one())


# --- the database refuses changes ---------------------------------------------------------

@pytest.mark.parametrize("statement", [
    "UPDATE audit_event SET actor = 'mallory' WHERE seq = 2",
    "UPDATE audit_event SET seq = seq + 100",
    "DELETE FROM audit_event WHERE seq = 3",
    "DELETE FROM audit_event",
])
def test_database_refuses_update_and_delete_of_audit_events(engine, chain, statement):
    with pytest.raises(DBAPIError, match="append-only"):
        _sql(engine, statement)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM audit_event")).scalar_one() == EVENTS
    assert _row(engine, 2)["actor"] == "client:gateway"


def test_postgresql_also_refuses_truncate(engine, chain):
    if engine.dialect.name != "postgresql":
        pytest.skip("TRUNCATE exists only on PostgreSQL")
    with pytest.raises(DBAPIError, match="append-only"):
        _sql(engine, "TRUNCATE audit_event")


def test_an_orm_update_of_an_event_is_refused(engine, chain):
    from sqlmodel import Session

    from app.models import AuditEvent
    with Session(engine) as session:
        event = session.get(AuditEvent, chain[0])
        event.reason = "rewritten"
        session.add(event)
        with pytest.raises(DBAPIError):
            session.commit()


# --- verification ----------------------------------------------------------------------------

def test_intact_chain_verifies_and_exits_0(app, chain):
    code, report = _verify(app)
    assert code == 0
    assert report["ok"] is True
    assert report["checked"] == report["head_seq"] >= EVENTS
    assert report["first_bad_seq"] is None
    code, text = _verify_text(app)
    assert code == 0 and "intact" in text


def test_empty_trail_verifies(app, engine):
    with engine.connect() as conn:
        if conn.execute(sa.text("SELECT count(*) FROM audit_event")).scalar_one():
            pytest.skip("fixtures already wrote events")
    code, report = _verify(app)
    assert (code, report["ok"], report["head_hash"]) == (0, True, GENESIS_HASH)


def _seq_of(engine, event_id: str) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT seq FROM audit_event WHERE id = :i"),
                            {"i": event_id}).scalar_one()


@pytest.mark.parametrize(("column", "value"), [
    ("actor", "client:mallory"),
    ("decision", "allow"),
    ("reason", "ok"),
    ("source_ip", "198.51.100.1"),
    ("at", "2020-01-01 00:00:00"),
])
def test_editing_a_field_is_detected_at_that_event(app, engine, chain, column, value):
    _drop_guards(engine)
    seq = _seq_of(engine, chain[3])  # a denied call: decision deny, reason ip_not_allowed
    _sql(engine, f"UPDATE audit_event SET {column} = :v WHERE seq = :s", v=value, s=seq)  # noqa: S608
    code, report = _verify(app)
    assert code != 0
    assert report["ok"] is False
    assert report["first_bad_seq"] == seq
    assert report["first_bad_id"] == chain[3]
    assert "edited" in report["problem"]
    code, text = _verify_text(app)
    assert code != 0 and f"seq {seq}" in text and chain[3] in text


def test_editing_an_amount_is_detected(app, engine, chain):
    _drop_guards(engine)
    seq = _seq_of(engine, chain[3])
    raw = 10 if engine.dialect.name == "sqlite" else Decimal("0.0010")  # 0.001 TRY either way
    _sql(engine, "UPDATE audit_event SET amount = :v WHERE seq = :s", v=raw, s=seq)
    code, report = _verify(app)
    assert (code != 0, report["first_bad_seq"]) == (True, seq)


def test_editing_details_is_detected(app, engine, chain):
    _drop_guards(engine)
    seq = _seq_of(engine, chain[1])
    _sql(engine, "UPDATE audit_event SET details = :v WHERE seq = :s",
         v=json.dumps({"note": "harmless", "n": 2}), s=seq)
    assert _verify(app)[1]["first_bad_seq"] == seq


def test_editing_an_event_and_recomputing_its_hash_breaks_the_next_link(app, engine, chain):
    _drop_guards(engine)
    seq = _seq_of(engine, chain[2])
    row = _row(engine, seq)
    row["actor"] = "client:mallory"
    forged = event_hash(_typed(app, row))
    _sql(engine, "UPDATE audit_event SET actor = :a, hash = :h WHERE seq = :s",
         a="client:mallory", h=forged, s=seq)
    code, report = _verify(app)
    assert code != 0
    assert report["first_bad_seq"] == seq + 1
    assert "prev_hash" in report["problem"]


def test_deleting_a_middle_event_is_detected_at_the_next(app, engine, chain):
    _drop_guards(engine)
    seq = _seq_of(engine, chain[2])
    _sql(engine, "DELETE FROM audit_event WHERE seq = :s", s=seq)
    code, report = _verify(app)
    assert code != 0
    assert report["first_bad_seq"] == seq + 1
    assert report["first_bad_id"] == chain[3]
    assert report["checked"] == seq - 1


def test_deleting_a_middle_event_and_renumbering_is_detected(app, engine, chain):
    _drop_guards(engine)
    seq = _seq_of(engine, chain[2])
    _sql(engine, "DELETE FROM audit_event WHERE seq = :s", s=seq)
    _renumber(engine, above=seq, by=-1)
    code, report = _verify(app)
    assert code != 0
    assert report["first_bad_seq"] == seq
    assert report["first_bad_id"] == chain[3]


def _renumber(engine, above: int, by: int) -> None:
    """Shift the seq of every event after ``above`` by ``by`` (through a free range)."""
    _sql(engine, "UPDATE audit_event SET seq = seq + 100000 WHERE seq > :a", a=above)
    _sql(engine, "UPDATE audit_event SET seq = seq - 100000 + :b WHERE seq > 100000", b=by)


def _typed(app, row: dict) -> dict:
    """A raw row as the model reads it back (so ``event_hash`` sees what verify sees)."""
    from sqlmodel import Session

    from app.models import AuditEvent
    with Session(app.extensions["kyb.engine"]) as session:
        stored = session.get(AuditEvent, row["id"])
        data = stored.model_dump()
    data.update({k: v for k, v in row.items() if k in {"actor", "seq", "prev_hash"}})
    return data


def _insert_forged(app, engine, seq: int, prev_hash: str) -> str:
    model = _typed(app, _row(engine, 1))
    model.update(id="evt_forged0000000000000", seq=seq, prev_hash=prev_hash,
                 actor="client:mallory", action="merchant.approved",
                 at=dt.datetime(2026, 3, 1, tzinfo=dt.UTC))
    model["hash"] = event_hash(model)
    from sqlmodel import Session

    from app.models import AuditEvent
    with Session(engine) as session:
        session.add(AuditEvent(**model))
        session.commit()
    return model["id"]


def test_inserting_a_forged_event_in_the_middle_is_detected(app, engine, chain):
    _drop_guards(engine)
    seq = _seq_of(engine, chain[2])
    _renumber(engine, above=seq - 1, by=1)
    # A forger who links to a made-up hash is caught at the forged event itself.
    forged = _insert_forged(app, engine, seq, prev_hash="f" * 64)
    code, report = _verify(app)
    assert code != 0
    assert report["first_bad_seq"] == seq
    assert report["first_bad_id"] == forged


def test_a_forged_event_reusing_the_previous_hash_is_detected_at_the_next(app, engine, chain):
    """A forged event that links correctly to its predecessor, with a correct hash of its own,
    is caught at the event after it: that one still links to the predecessor's hash."""
    _drop_guards(engine)
    seq = _seq_of(engine, chain[2])
    _renumber(engine, above=seq - 1, by=1)
    _insert_forged(app, engine, seq, prev_hash=_row(engine, seq - 1)["hash"])
    code, report = _verify(app)
    assert code != 0
    assert (report["first_bad_seq"], report["first_bad_id"]) == (seq + 1, chain[2])
    assert "prev_hash" in report["problem"]


def test_appending_a_forged_event_at_the_end_with_a_bad_link_is_detected(app, engine, chain):
    head = _row(engine, _seq_of(engine, chain[-1]))
    forged = _insert_forged(app, engine, head["seq"] + 1, prev_hash="e" * 64)
    code, report = _verify(app)
    assert (code != 0, report["first_bad_id"]) == (True, forged)


def test_swapping_two_events_is_detected_at_the_first(app, engine, chain):
    _drop_guards(engine)
    a, b = _seq_of(engine, chain[2]), _seq_of(engine, chain[3])
    _sql(engine, "UPDATE audit_event SET seq = -1 WHERE seq = :a", a=a)
    _sql(engine, "UPDATE audit_event SET seq = :a WHERE seq = :b", a=a, b=b)
    _sql(engine, "UPDATE audit_event SET seq = :b WHERE seq = -1", b=b)
    code, report = _verify(app)
    assert code != 0
    assert report["first_bad_seq"] == a
    assert report["first_bad_id"] == chain[3]
    code, text = _verify_text(app)
    assert f"seq {a}" in text


# --- export ------------------------------------------------------------------------------

def _all_ids(engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(sa.text("SELECT id FROM audit_event ORDER BY seq")).scalars())


def test_export_jsonl_writes_every_event_in_order(app, engine, chain):
    result = app.test_cli_runner().invoke(args=["audit", "export", "--format", "jsonl"])
    assert result.exit_code == 0
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [e["id"] for e in lines] == _all_ids(engine)
    assert [e["seq"] for e in lines] == list(range(1, len(lines) + 1))
    mine = {e["id"]: e for e in lines}
    assert mine[chain[2]]["details"]["note"] == "Şeker İşlemi #3"
    assert mine[chain[2]]["amount"] == "399.9000"
    assert mine[chain[2]]["at"].endswith("Z")
    assert all(len(e["hash"]) == 64 for e in lines)


def test_export_csv_writes_every_event(app, engine, chain):
    result = app.test_cli_runner().invoke(args=["audit", "export", "--format", "csv"])
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["id"] for r in rows] == _all_ids(engine)
    assert {"seq", "at", "actor", "action", "prev_hash", "hash", "details"} <= set(rows[0])
    mine = {r["id"]: r for r in rows}
    assert json.loads(mine[chain[0]]["details"])["note"] == "Şeker İşlemi #1"


def test_export_to_a_file(app, engine, chain, tmp_path):
    out = tmp_path / "audit.jsonl"
    result = app.test_cli_runner().invoke(args=["audit", "export", "-o", str(out)])
    assert result.exit_code == 0
    assert len(out.read_text(encoding="utf-8").splitlines()) == len(_all_ids(engine))


# --- anchors: the head kept outside the database ------------------------------------------

def _anchor(app) -> str:
    result = app.test_cli_runner().invoke(args=["audit", "anchor"])
    assert result.exit_code == 0, result.output
    return result.output


def _anchor_file(app) -> Path:
    return Path(app.extensions["kyb.settings"].instance_path) / "audit-anchors.jsonl"


def test_every_commit_anchors_its_newest_event_with_the_chains_name(app, engine, chain):
    from app.audit.anchor import anchor_key, read_anchors
    anchors = read_anchors(_anchor_file(app))
    assert [a.seq for a in anchors] == list(range(1, EVENTS + 1))  # one per commit
    first = _row(engine, 1)["hash"]
    assert {a.chain for a in anchors} == {first}
    assert all(a.valid(anchor_key(app.extensions["kyb.settings"].secret_key)) for a in anchors)
    code, report = _verify(app)
    assert (code, report["anchors_checked"]) == (0, EVENTS)


def test_cutting_the_tail_off_is_caught_without_any_anchor_taken_by_hand(app, engine, chain):
    """Issue #13 item 6: the newest events, written after the last periodic anchor, are
    anchored by their own commit."""
    _drop_guards(engine)
    _sql(engine, "DELETE FROM audit_event WHERE seq > :s", s=EVENTS - 2)  # a valid, shorter chain
    code, report = _verify(app)
    assert code == 1 and report["ok"] is True  # the chain alone cannot tell
    assert report["anchors_problem"].startswith(f"event seq {EVENTS - 1}, anchored at ")
    assert report["anchors_problem"].endswith(
        f"cut short after seq {EVENTS - 2}; the first edited or missing event is seq "
        f"{EVENTS - 1}")
    code, text = _verify_text(app)
    assert code == 1 and "AUDIT TRAIL BROKEN" in text and "cut short" in text


def test_a_savepoint_after_an_event_neither_anchors_nor_waits_for_the_lock(app, engine):
    """A SAVEPOINT released after an event was recorded (an alert opened by the monitors)
    is not a commit: nothing is anchored until the transaction commits, and no second
    connection waits for the write lock the transaction holds (a 30 s stall on SQLite)."""
    from app.audit.anchor import read_anchors
    from app.audit.trail import record
    with session_scope(engine) as first:  # the chain's first event, so the sink knows it
        record(first, EventDraft(action="test.first", actor="system"))
    import app.audit.anchor as anchor_module
    for sink in anchor_module._sinks.values():
        sink._chain = None  # a process that has not read the chain's name yet
    started = time.monotonic()
    with session_scope(engine) as session:
        record(session, EventDraft(action="test.event", actor="system"))
        with session.begin_nested():
            pass
        assert [a.seq for a in read_anchors(_anchor_file(app))] == [1]
    assert time.monotonic() - started < 5
    assert [a.seq for a in read_anchors(_anchor_file(app))] == [1, 2]


@pytest.mark.parametrize("damage", ["delete", "empty"])
def test_a_deleted_or_emptied_anchor_file_fails_verification(app, engine, chain, damage):
    file = _anchor_file(app)
    if damage == "delete":
        file.unlink()
    else:
        file.write_text("")
    code, report = _verify(app)
    assert code == 1 and report["ok"] is True
    assert f"the trail has {EVENTS} events but the anchor file" in report["anchors_problem"]
    assert "nothing proves the trail whole" in report["anchors_problem"]
    # ... after which a full rewrite with fresh hashes does not pass either
    _drop_guards(engine)
    _sql(engine, "UPDATE audit_event SET reason = 'ok'")
    assert _verify(app)[0] == 1


def test_no_anchors_skips_the_check_loudly(app, engine, chain):
    _anchor_file(app).unlink()
    result = app.test_cli_runner().invoke(args=["audit", "verify", "--no-anchors"])
    assert result.exit_code == 0, result.output
    assert "ANCHORS NOT CHECKED" in result.output and "cut short would pass" in result.output
    code, report = _verify(app)
    assert code == 1


def test_rewriting_from_a_middle_event_names_the_first_edited_event(app, engine, chain):
    """A rewrite that recomputes every hash from seq 3 on keeps a valid chain; the anchors of
    seq 1 and 2 still hold, so the first edited event is named exactly."""
    _drop_guards(engine)
    prev = _row(engine, 2)["hash"]
    for seq in range(3, EVENTS + 1):
        row = {**_typed(app, _row(engine, seq)), "prev_hash": prev}
        if seq == 3:
            row["reason"] = "edited"
        row["hash"] = event_hash(row)
        _sql(engine, "UPDATE audit_event SET reason = :r, prev_hash = :p, hash = :h "
                     "WHERE seq = :s", r=row["reason"], p=prev, h=row["hash"], s=seq)
        prev = row["hash"]
    code, report = _verify(app)
    assert code == 1 and report["ok"] is True  # the chain alone cannot tell
    assert report["anchors_problem"].startswith("event seq 3 no longer has the hash anchored")
    assert report["anchors_problem"].endswith("the first edited or missing event is seq 3")


def test_two_databases_sharing_one_anchor_file_keep_their_own_anchors(
        app, engine, chain, settings, tmp_path):
    """Anchors name their chain: a second database appending to the same file neither
    breaks the first one's verification nor is broken by it."""
    from app import create_app
    from app.migrate import upgrade
    shared = _anchor_file(app)
    other_url = f"sqlite:///{tmp_path}/other.db"
    upgrade(other_url)
    other = create_app({"TESTING": True}, settings=settings.replace(
        database_url=other_url, audit_anchor_file=str(shared),
        secret_key="another-secret-key-0123456789abcdef"))
    try:
        with session_scope(other.extensions["kyb.engine"]) as session:
            record(session, EventDraft(action="staff.login", actor="staff:x@bank.test"))
        mine = app.test_cli_runner().invoke(args=["audit", "verify", "--json",
                                                  "--anchors", str(shared)])
        theirs = other.test_cli_runner().invoke(args=["audit", "verify", "--json"])
    finally:
        other.extensions["kyb.engine"].dispose()
    assert mine.exit_code == 0, mine.output
    assert json.loads(mine.stdout)["anchors_of_other_chains"] == 1
    assert theirs.exit_code == 0, theirs.output
    assert json.loads(theirs.stdout)["anchors_checked"] == 1


def test_rewriting_the_tail_with_fresh_hashes_is_caught_by_an_anchor(app, engine, chain):
    _drop_guards(engine)
    head = _row(engine, EVENTS)
    row = {**_typed(app, head), "reason": "ok", "decision": "allow"}
    row["hash"] = event_hash(row)
    _sql(engine, "UPDATE audit_event SET decision = 'allow', reason = 'ok', hash = :h "
                 "WHERE seq = :s", h=row["hash"], s=EVENTS)
    code, report = _verify(app)
    assert code == 1 and report["ok"] is True
    assert "no longer has the hash anchored" in report["anchors_problem"]


def test_a_forged_anchor_is_refused_and_a_broken_file_named(app, chain):
    assert f"anchored seq {EVENTS} " in _anchor(app)
    file = _anchor_file(app)
    line = json.loads(file.read_text().splitlines()[-1])
    file.write_text(json.dumps({**line, "seq": 1}) + "\n")  # moved, but signed for another seq
    code, report = _verify(app)
    assert code == 1 and "bad signature" in report["anchors_problem"]
    file.write_text("{not json\n")
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and "line 1 is not an anchor" in result.output
    assert "Traceback" not in result.output


def test_an_unchanged_head_is_anchored_once_by_the_writer_thread(app, engine, chain):
    from app.audit.anchor import Anchorer, anchor_key, read_anchors
    file = _anchor_file(app)
    file.unlink()  # only what this anchorer writes
    anchorer = Anchorer(engine, file, anchor_key("k" * 32), interval=0.05).start()
    time.sleep(0.3)
    anchorer.stop()
    anchors = read_anchors(file)
    assert [a.seq for a in anchors] == [EVENTS]  # written once, not every interval
    assert anchors[0].valid(anchor_key("k" * 32)) and not anchors[0].valid(anchor_key("x" * 32))


def test_verify_names_a_missing_anchor_file_given_on_the_command_line(app, chain, tmp_path):
    result = app.test_cli_runner().invoke(args=["audit", "verify", "--anchors",
                                                str(tmp_path / "nope.jsonl")])
    assert result.exit_code == 1 and "no anchor file at" in result.output
