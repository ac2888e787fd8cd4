"""The suite's PostgreSQL test databases (``tests/conftest.py``, ``_PgPool``): after each test
a database is renamed (so what the test left running cannot reach it), reset to the freshly
migrated template and reused; one whose shape a test changed is dropped instead. Every test
starts from the template's rows and shape."""

from __future__ import annotations

import psycopg
import pytest

from tests.conftest import PG_URL, _pg_connect

pytestmark = pytest.mark.skipif(not PG_URL, reason="KYB_TEST_POSTGRES_URL is not set")

_AUDIT_ROW = ("INSERT INTO audit_event (id, seq, at, actor, action, details, prev_hash, hash) "
              "VALUES ('evt_1', 1, now(), 'tester', 'test', '{}', 'a', 'b')")


def _exists(name: str) -> bool:
    with _pg_connect() as conn:
        return conn.execute("SELECT count(*) FROM pg_database WHERE datname = %s",
                            (name,)).fetchone()[0] == 1


def _state(name: str) -> tuple:
    with _pg_connect(name) as conn:
        return (conn.execute("SELECT count(*) FROM audit_event").fetchone()[0],
                conn.execute("SELECT id, generation FROM blacklist_state").fetchall(),
                conn.execute("SELECT last_value, is_called FROM idempotency_record_id_seq"
                             ).fetchone(),
                conn.execute("SELECT count(*) FROM alembic_version").fetchone()[0])


def test_a_reset_brings_back_the_templates_rows_and_sequences(pg_pool):
    name = pg_pool.take()
    fresh = _state(name)
    with _pg_connect(name) as conn:
        conn.execute(_AUDIT_ROW)  # the append-only trail is emptied too
        conn.execute("UPDATE blacklist_state SET generation = 7")
        conn.execute("SELECT nextval('idempotency_record_id_seq')")
        conn.execute("DELETE FROM alembic_version")
    assert _state(name) != fresh
    pg_pool.give_back(name)

    again = pg_pool.take()
    try:
        assert again != name and _exists(again) and not _exists(name)  # renamed
        assert _state(again) == fresh
        assert fresh[0] == 0 and fresh[1] == [(1, 0)] and fresh[3] == 1
        with _pg_connect(again) as conn, pytest.raises(Exception, match="append-only"):
            conn.execute(_AUDIT_ROW)
            conn.execute("DELETE FROM audit_event")  # the guards are on again
    finally:
        pg_pool.give_back(again)


def test_a_database_whose_shape_a_test_changed_is_dropped(pg_pool):
    name = pg_pool.take()
    with _pg_connect(name) as conn:
        conn.execute("ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_change")
    pg_pool.give_back(name)

    other = pg_pool.take()
    try:
        assert other != name and not _exists(name)
        assert pg_pool._all == {other}  # the changed copy (renamed first) is gone
    finally:
        pg_pool.give_back(other)


def test_what_a_test_left_running_can_no_longer_reach_its_database(pg_pool):
    name = pg_pool.take()
    leftover = _pg_connect(name)
    leftover.autocommit = False
    leftover.execute("LOCK TABLE blacklist_state IN ACCESS EXCLUSIVE MODE")
    pg_pool.give_back(name)  # would wait on the lock forever, were the session left alive
    with pytest.raises(psycopg.OperationalError):
        leftover.execute("SELECT 1")
    leftover.close()
    with pytest.raises(psycopg.OperationalError, match="does not exist"):
        _pg_connect(name)  # a left-over thread reconnecting: not into the next test's data
    again = pg_pool.take()
    try:
        assert _state(again)[1] == [(1, 0)]
    finally:
        pg_pool.give_back(again)
