"""Shared fixtures: a fresh migrated database per test (SQLite always; PostgreSQL too when
``KYB_TEST_POSTGRES_URL`` is set), the app, an HTTP test client, and OAuth API clients.

The schema always comes from ``alembic upgrade head``: once per test session into a template
(a SQLite file, or a PostgreSQL template database). A SQLite test gets a copy of the file; a
PostgreSQL test gets a copy of the template that is reset to the template's rows after the
test and reused by the next (``_PgPool``).
"""

from __future__ import annotations

import base64
import ipaddress
import os
import shutil
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import freezegun
import psycopg
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from psycopg import sql
from sqlmodel import Session

from app import create_app
from app.config import Settings
from app.migrate import upgrade

PG_URL = os.environ.get("KYB_TEST_POSTGRES_URL")
TEST_PEPPER = "test-pepper-0123456789abcdef"
TEST_DATA_KEYS = ("2:" + base64.b64encode(b"k" * 32).decode() + ","
                  "1:" + base64.b64encode(b"j" * 32).decode())
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


def _pg_admin_url() -> str:
    url = sa.engine.make_url(PG_URL)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return url.render_as_string(hide_password=False)


def _pg_connect(name: str | None = None) -> psycopg.Connection:
    """An autocommit connection to database ``name`` (default: the admin URL's own)."""
    url = sa.engine.make_url(_pg_admin_url())
    return psycopg.connect(host=url.host, port=url.port or 5432, user=url.username,
                           password=url.password, dbname=name or url.database, autocommit=True,
                           connect_timeout=30)


def _pg_exec(statement: str) -> None:
    """Run ``statement`` (CREATE or DROP DATABASE) on the admin database."""
    with _pg_connect() as conn:
        conn.execute(statement)


def _reuse_url_builders() -> None:
    """Each test builds its own app, and werkzeug compiles two URL-builder functions per
    route (an AST compiled with ``compile``): ~45 ms per app for kybgate's routes, a tenth of
    the suite. A builder depends only on its rule's text, trace, defaults and converter types
    (it takes the rule as its first argument), so this test process compiles each once and
    every later app's rule reuses it. The served app is unchanged; if werkzeug's internals
    differ from what this expects, nothing is patched."""
    from werkzeug.routing.rules import Rule
    compile_builder = getattr(Rule, "_compile_builder", None)
    if compile_builder is None or getattr(compile_builder, "kyb_reused", False):
        return
    builders: dict[tuple, Any] = {}

    def reused(self: Rule, append_unknown: bool = True) -> Any:
        try:
            key = (self.rule, tuple(self._trace), append_unknown,
                   repr(sorted((self.defaults or {}).items())),
                   tuple((name, type(c)) for name, c in self._converters.items()))
        except (AttributeError, TypeError):
            return compile_builder(self, append_unknown)
        builder = builders.get(key)
        if builder is None:
            builder = builders[key] = compile_builder(self, append_unknown)
        return builder

    reused.kyb_reused = True  # type: ignore[attr-defined]
    Rule._compile_builder = reused  # type: ignore[method-assign]


_reuse_url_builders()


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing() -> Iterator[None]:
    """argon2id at the smallest cost in this test process. With the production parameters one
    hash or check takes ~0.15 s of CPU here, a fifth of the staff and portal tests' time; the
    code path is the same (``$argon2id$`` hashes, rehash on login when the parameters differ).
    ``tests/unit/app/test_passwords.py`` pins the production parameters. Servers the tests
    start as subprocesses keep them."""
    from argon2 import PasswordHasher

    from app.web import passwords
    saved = passwords._hasher
    passwords._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    yield
    passwords._hasher = saved


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


# psycopg keeps the real clock while a test freezes it (freezegun): with a frozen clock it gave
# up connecting ("connection timeout expired").
freezegun.configure(extend_ignore_list=["psycopg"])
_ATTEMPTS = 50  # to rename a database whose sessions keep coming back

# What a test could change in a database's shape: tables, columns and their types, indexes,
# constraints, triggers (with their enabled state), schemas and functions. A database whose
# shape differs from the template's after a test is dropped, not reused.
_SHAPE_SQL = """
SELECT md5(concat_ws('|',
  (SELECT string_agg(n.nspname || '.' || c.relname || ':' || c.relkind::text || ':'
                     || a.attname || ':' || format_type(a.atttypid, a.atttypmod) || ':'
                     || a.attnotnull,
                     ',' ORDER BY n.nspname, c.relname, a.attnum)
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
      AND n.nspname NOT LIKE 'pg_temp%' AND n.nspname NOT LIKE 'pg_toast_temp%'),
  (SELECT string_agg(conname || ':' || pg_get_constraintdef(oid), ',' ORDER BY conname, oid)
     FROM pg_constraint WHERE connamespace = 'public'::regnamespace),
  (SELECT string_agg(tgname || ':' || tgenabled::text, ',' ORDER BY tgname)
     FROM pg_trigger WHERE NOT tgisinternal),
  (SELECT string_agg(proname || ':' || md5(prosrc), ',' ORDER BY proname)
     FROM pg_proc WHERE pronamespace = 'public'::regnamespace)))
"""


def _new_name() -> str:
    return f"kyb_t_{uuid.uuid4().hex[:12]}"


class _PgPool:
    """This test process's PostgreSQL databases: copies of the migrated template, reset to the
    template's rows after each test instead of dropped. ``CREATE DATABASE … TEMPLATE`` plus
    ``DROP DATABASE`` cost ~0.5 s per test on a quiet server and 4–5 s under the suite's load
    (mostly disk waits); a reset costs a few milliseconds.

    After a test its database is renamed, its sessions ended first, so nothing the test left
    running can reach it any more; then every row is deleted with triggers off (the audit
    trail's append-only guards included), the rows the migrations seed are loaded back and the
    sequences set back. Each test therefore still starts from a
    freshly migrated database: a database whose reset fails, or whose shape (tables, columns,
    indexes, constraints, triggers, functions) a test changed, is dropped and a new copy made."""

    def __init__(self, template: str) -> None:
        self.template = template
        self._free: list[str] = []
        self._all: set[str] = set()
        with _pg_connect(template) as conn:
            self._shape = conn.execute(_SHAPE_SQL).fetchone()[0]
            self._tables = [sql.Identifier("public", row[0]) for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")]
            self._rows: list[tuple[sql.Identifier, bytes]] = []
            for table in self._tables:
                if conn.execute(sql.SQL("SELECT EXISTS (SELECT FROM {})").format(table)
                                ).fetchone()[0]:
                    with conn.cursor().copy(sql.SQL("COPY {} TO STDOUT").format(table)) as copy:
                        self._rows.append((table, b"".join(bytes(chunk) for chunk in copy)))
            self._sequences = conn.execute(
                "SELECT format('%I.%I', schemaname, sequencename), "
                "coalesce(last_value, start_value), last_value IS NOT NULL "
                "FROM pg_sequences WHERE schemaname = 'public'").fetchall()

    def take(self) -> str:
        """A database with the freshly migrated template's shape and rows, for one test."""
        if self._free:
            return self._free.pop()
        name = _new_name()
        _pg_exec(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        self._all.add(name)
        return name

    def give_back(self, name: str) -> None:
        """Rename ``name`` and reset it for the next test, or drop it should that not be
        sure."""
        try:
            fresh = self._rename(name)
        except Exception:
            self._drop(name)
            return
        try:
            self._reset(fresh)
        except Exception:
            self._drop(fresh)
        else:
            self._free.append(fresh)

    def _rename(self, name: str) -> str:
        """Give ``name`` a new name, its sessions ended first: a thread or server the test
        left running can then no longer reach it (its database "does not exist", as when
        each test's copy was dropped), so it cannot write into the next test's data."""
        fresh = _new_name()
        with _pg_connect() as conn:
            for attempt in range(_ATTEMPTS):
                conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                             "WHERE datname = %s", (name,))
                try:
                    conn.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                        sql.Identifier(name), sql.Identifier(fresh)))
                    break
                except psycopg.errors.ObjectInUse:  # a session came back meanwhile
                    if attempt == _ATTEMPTS - 1:
                        raise
                    time.sleep(0.05)
        self._all.discard(name)
        self._all.add(fresh)
        return fresh

    def _reset(self, name: str) -> None:
        with _pg_connect(name) as conn:
            if conn.execute(_SHAPE_SQL).fetchone()[0] != self._shape:
                raise RuntimeError(f"a test changed the shape of {name}")
            with conn.transaction():
                conn.execute("SET LOCAL session_replication_role = replica")
                conn.execute(sql.SQL("; ").join(
                    sql.SQL("DELETE FROM {}").format(table) for table in self._tables))
                for table, rows in self._rows:
                    with conn.cursor().copy(sql.SQL("COPY {} FROM STDIN").format(table)) as copy:
                        copy.write(rows)
                for sequence, value, called in self._sequences:
                    conn.execute("SELECT setval(%s, %s, %s)", (sequence, value, called))

    def _drop(self, name: str) -> None:
        self._all.discard(name)
        _pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        """Drop every database this pool made."""
        for name in list(self._all):
            self._drop(name)


@pytest.fixture(scope="session")
def pg_template(worker_id: str) -> Iterator[str]:
    if not PG_URL:
        pytest.skip("KYB_TEST_POSTGRES_URL is not set")
    name = f"kyb_tpl_{worker_id}_{uuid.uuid4().hex[:6]}"
    _pg_exec(f'DROP DATABASE IF EXISTS "{name}"')
    _pg_exec(f'CREATE DATABASE "{name}"')
    url = sa.engine.make_url(_pg_admin_url()).set(database=name)
    upgrade(url.render_as_string(hide_password=False))
    yield name
    _pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_pool(pg_template: str) -> Iterator[_PgPool]:
    pool = _PgPool(pg_template)
    yield pool
    pool.close()


@pytest.fixture(scope="session")
def worker_id(request) -> str:
    """pytest-xdist's worker id, or 'main'."""
    return getattr(request.config, "workerinput", {}).get("workerid", "main")


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path) -> Iterator[str]:
    """A freshly migrated database for this test."""
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "kyb.db"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
        return
    pool = request.getfixturevalue("pg_pool")
    name = pool.take()
    url = sa.engine.make_url(_pg_admin_url()).set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        pool.give_back(name)


@pytest.fixture
def settings(db_url, tmp_path) -> Settings:
    """Test settings: the fresh database, a fixed pepper, no activation delay unless asked."""
    env = {"KYB_ENV": "testing", "KYB_DATABASE_URL": db_url, "KYB_TOKEN_PEPPER": TEST_PEPPER,
           "KYB_DATA_KEYS": TEST_DATA_KEYS,
           "KYB_SECRET_KEY": "test-secret-key-0123456789abcdefghij",
           "KYB_INSTANCE_PATH": str(tmp_path / "instance")}
    return Settings.from_env(env)


@pytest.fixture
def app(settings) -> Iterator[Flask]:
    application = create_app({"TESTING": True}, settings=settings)
    yield application
    application.extensions["kyb.engine"].dispose()


@pytest.fixture
def client(app) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def db_session(app) -> Iterator[Session]:
    """A session on the test's database (commit explicitly when a test needs to)."""
    with Session(app.extensions["kyb.engine"], expire_on_commit=False) as session:
        yield session


@dataclass
class ApiClient:
    """A test client that sends one OAuth client's bearer token."""

    client: FlaskClient
    token: str
    client_id: str
    client_secret: str

    def _headers(self, headers: dict[str, str] | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", **(headers or {})}

    def get(self, path: str, **kw: Any):
        return self.client.get(path, headers=self._headers(kw.pop("headers", None)), **kw)

    def post(self, path: str, **kw: Any):
        return self.client.post(path, headers=self._headers(kw.pop("headers", None)), **kw)

    def patch(self, path: str, **kw: Any):
        return self.client.patch(path, headers=self._headers(kw.pop("headers", None)), **kw)

    def delete(self, path: str, **kw: Any):
        return self.client.delete(path, headers=self._headers(kw.pop("headers", None)), **kw)


def create_oauth_client(app: Flask, scopes: str, name: str = "test") -> tuple[str, str]:
    """Create an OAuth client through the real CLI command; returns (id, secret)."""
    import json
    result = app.test_cli_runner().invoke(
        args=["clients", "create", "--name", name, "--scopes", scopes, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    return data["client_id"], data["client_secret"]


@pytest.fixture
def make_api(app, client):
    """``make_api("merchants:read merchants:write")`` → an ``ApiClient`` holding those scopes."""
    def factory(scopes: str) -> ApiClient:
        client_id, secret = create_oauth_client(app, scopes)
        basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        resp = client.post("/oauth/token", data={"grant_type": "client_credentials"},
                           headers={"Authorization": f"Basic {basic}"})
        assert resp.status_code == 200, resp.get_data(as_text=True)
        return ApiClient(client, resp.get_json()["access_token"], client_id, secret)
    return factory


@pytest.fixture
def api(make_api) -> ApiClient:
    """An API client holding every /api/v1 scope."""
    return make_api("merchants:read merchants:write decisions:write keys:write keys:read "
                    "verify audit:read transactions:write blacklist:write")


def _is_loopback(address: object) -> bool:
    if not isinstance(address, tuple) or not address:
        return True
    try:
        return ipaddress.ip_address(str(address[0]).split("%")[0]).is_loopback
    except ValueError:
        return str(address[0]) == "localhost"


@pytest.fixture
def no_internet(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if anything connects or sends to a non-loopback address."""
    real_connect, real_sendto = socket.socket.connect, socket.socket.sendto

    def connect(self: socket.socket, address: object) -> None:
        if not _is_loopback(address):
            raise AssertionError(f"test tried to reach the network: {address}")
        return real_connect(self, address)

    def sendto(self: socket.socket, data: bytes, *args: object) -> int:
        if not _is_loopback(args[-1]):
            raise AssertionError(f"test tried to reach the network: {args[-1]}")
        return real_sendto(self, data, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "sendto", sendto)
