"""The Alembic migrations build exactly the schema the models declare (an autogenerate compare
finds nothing to do), on SQLite and PostgreSQL, and go down to base and up again."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

import app.models  # noqa: F401 - registers every table on SQLModel.metadata
from app.db import make_engine
from app.migrate import alembic_config, upgrade
from tests.conftest import BACKENDS, _pg_admin_url, _pg_exec


@pytest.fixture(params=BACKENDS)
def empty_url(request, tmp_path) -> Iterator[str]:
    """A database with no schema at all."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    name = f"kyb_mig_{uuid.uuid4().hex[:12]}"
    _pg_exec(f'CREATE DATABASE "{name}"')
    yield sa.engine.make_url(_pg_admin_url()).set(database=name).render_as_string(
        hide_password=False)
    _pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def engine_for():
    engines = []

    def make(url: str):
        engines.append(make_engine(url))
        return engines[-1]
    yield make
    for engine in engines:
        engine.dispose()


def _diff(engine) -> list:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True,
                                                         "compare_server_default": False})
        return compare_metadata(context, SQLModel.metadata)


def _tables(engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}


def test_migrations_have_a_single_head():
    assert len(ScriptDirectory.from_config(alembic_config()).get_heads()) == 1


def test_upgrade_head_matches_the_models_exactly(empty_url, engine_for):
    upgrade(empty_url)
    engine = engine_for(empty_url)
    assert _diff(engine) == []
    assert _tables(engine) == set(SQLModel.metadata.tables)


def test_downgrade_to_base_then_upgrade_to_head_works(empty_url, engine_for):
    config = alembic_config(empty_url)
    command.upgrade(config, "head")
    command.downgrade(config, "base")
    engine = engine_for(empty_url)
    assert _tables(engine) == set()
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            assert conn.execute(sa.text(
                "SELECT count(*) FROM pg_proc WHERE proname = 'audit_event_refuse'")
            ).scalar_one() == 0
    engine.dispose()
    command.upgrade(config, "head")
    assert _diff(engine) == []
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_heads() == tuple(
            ScriptDirectory.from_config(config).get_heads())


def test_append_only_guards_are_back_after_downgrade_and_upgrade(empty_url, engine_for):
    config = alembic_config(empty_url)
    command.upgrade(config, "head")
    command.downgrade(config, "base")
    command.upgrade(config, "head")
    engine = engine_for(empty_url)
    row = {"id": "evt_x", "seq": 1, "at": "2026-01-01 00:00:00", "actor": "t", "action": "t",
           "details": "{}", "prev_hash": "0" * 64, "hash": "1" * 64}
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO audit_event (id, seq, at, actor, action, details, "
                             "prev_hash, hash) VALUES (:id, :seq, :at, :actor, :action, "
                             ":details, :prev_hash, :hash)"), row)
    for statement in ("UPDATE audit_event SET actor = 'x'", "DELETE FROM audit_event"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(sa.text(statement))


def test_upgrade_is_idempotent(empty_url, engine_for):
    upgrade(empty_url)
    upgrade(empty_url)
    assert _diff(engine_for(empty_url)) == []


def test_0003_keeps_every_event_and_the_append_only_guards(empty_url, engine_for):
    """Dropping the hash indexes rebuilds SQLite's table: the events, the chain and the
    triggers that refuse UPDATE and DELETE all survive it."""
    from app.audit.trail import EventDraft, append_events, verify_trail
    from app.db import session_scope
    upgrade(empty_url, "0002_keys")
    engine = engine_for(empty_url)
    with session_scope(engine) as session:
        append_events(session, [EventDraft(action="test.event", actor=f"actor:{n}")
                                for n in range(5)])
    engine.dispose()
    upgrade(empty_url)
    with session_scope(engine) as session:
        report = verify_trail(session)
    assert report.ok and report.checked == 5, report
    for statement in ("UPDATE audit_event SET actor = 'x'", "DELETE FROM audit_event"):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), engine.begin() as conn:
            conn.execute(sa.text(statement))
    uniques = {tuple(u["column_names"]) for u in sa.inspect(engine).get_unique_constraints(
        "audit_event")}
    assert uniques == {("seq",)}
