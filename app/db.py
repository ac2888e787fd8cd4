"""Database engine, sessions and the column types every model shares.

SQLite is the embedded default (WAL, foreign keys on, ``BEGIN IMMEDIATE`` so that writers queue
instead of failing); PostgreSQL is reached through psycopg 3. Services take a ``Session`` and only
flush; the request or CLI command that opened the session commits once.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session

MONEY_SCALE = Decimal("0.0001")
# Both backends store |amount| < 10^14 exactly (SQLite as 1/10,000 units in a 64-bit integer).
MONEY_LIMIT = Decimal(10) ** 14


def utcnow() -> dt.datetime:
    """The current time, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)


def as_utc(moment: dt.datetime) -> dt.datetime:
    """``moment`` made aware: a naive datetime is taken as UTC (how SQLite stores and older
    inputs give them); an aware one is returned as it is."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


class UTCDateTime(sa.types.TypeDecorator):
    """A timestamp that is always timezone-aware UTC in Python, on SQLite and PostgreSQL alike."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):  # noqa: D102
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are refused; use timezone-aware UTC")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):  # noqa: D102
        if value is None:
            return None
        return as_utc(value).astimezone(dt.UTC)


class Money(sa.types.TypeDecorator):
    """A money amount as ``Decimal``: NUMERIC on PostgreSQL, scaled integers on SQLite.

    SQLite has no exact decimal type (NUMERIC is stored as a float), so amounts are kept there as
    integers of 1/10,000 of the unit; sums in SQL stay exact and come back as ``Decimal``.
    """

    impl = sa.Numeric(20, 4)
    cache_ok = True

    def load_dialect_impl(self, dialect):  # noqa: D102
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.BigInteger())
        return dialect.type_descriptor(sa.Numeric(20, 4))

    def process_bind_param(self, value, dialect):  # noqa: D102
        if value is None:
            return None
        amount = Decimal(value)
        if not amount.is_finite() or abs(amount) >= MONEY_LIMIT:
            # Refused here, by name, rather than as an integer overflow deep in the driver.
            raise ValueError(f"amount {amount:.6g} is outside the storable range "
                             f"(below {MONEY_LIMIT:,} in absolute value)")
        amount = amount.quantize(MONEY_SCALE)
        return int(amount * 10000) if dialect.name == "sqlite" else amount

    def process_result_value(self, value, dialect):  # noqa: D102
        if value is None:
            return None
        if dialect.name == "sqlite":
            return (Decimal(int(value)) / 10000).quantize(MONEY_SCALE)
        return Decimal(value).quantize(MONEY_SCALE)


def make_engine(url: str) -> Engine:
    """Create the engine for ``url`` with the pragmas and pool settings kybgate relies on."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, pool_pre_ping=True
        )
        _configure_sqlite(engine)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy, not pysqlite, emit BEGIN, so that it can be BEGIN IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=30000")
        # Switching to WAL needs an exclusive lock; asking again on a WAL file would make
        # concurrent new connections fight over it, so only switch when not already WAL.
        if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        # Writers take the write lock up front: a deferred transaction that reads and then writes
        # can fail with SQLITE_BUSY instead of waiting, which would lose an audit event.
        _begin_immediate(connection.connection.dbapi_connection)


def _begin_immediate(dbapi_connection, patience: float = 30.0) -> None:
    """``BEGIN IMMEDIATE``, retried: while another process recovers the WAL index SQLite answers
    SQLITE_BUSY after about a second without calling the busy handler. The busy timeout
    already waits for ordinary writers, so the whole wait stays within ``patience`` seconds."""
    deadline = time.monotonic() + patience
    pause = 0.05
    while True:
        try:
            dbapi_connection.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() + pause > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.5)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits once on success and rolls back on any error."""
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
