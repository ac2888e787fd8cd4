"""Shared fixtures: a fresh migrated database per test (SQLite always; PostgreSQL too when
``KYB_TEST_POSTGRES_URL`` is set), the app, an HTTP test client, and OAuth API clients.

The schema always comes from ``alembic upgrade head``: once per test session into a template
(a SQLite file, or a PostgreSQL template database), copied for each test.
"""

from __future__ import annotations

import base64
import ipaddress
import os
import queue
import shutil
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import freezegun
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
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


def _pg_exec(sql: str) -> None:
    engine = sa.create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(sql)
    engine.dispose()


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
# up connecting ("connection timeout expired"), in the test and on _PgCopies' threads alike.
freezegun.configure(extend_ignore_list=["psycopg"])
_ATTEMPTS = 50  # to copy the template, should a connection fail all the same


class _PgCopies:
    """Copies of the PostgreSQL template, made ahead of the tests that take them and dropped
    after, on two threads of their own: ``CREATE DATABASE … TEMPLATE`` and ``DROP DATABASE``
    cost ~0.5 s per test here, mostly waiting for the disk, which the test running meanwhile
    does not. A copy is only ever used by one test, so every test still starts from a freshly
    migrated database.

    A copy that fails is tried again at once; a drop that failed is done again at the end of
    the session."""

    def __init__(self, template: str, ahead: int = 2) -> None:
        self.template = template
        self._ready: queue.Queue[str | BaseException] = queue.Queue(maxsize=ahead)
        self._spent: queue.Queue[str | None] = queue.Queue()
        self._stop = threading.Event()
        self._undropped: list[str] = []
        self._threads = [threading.Thread(target=self._make, daemon=True),
                         threading.Thread(target=self._drop, daemon=True)]
        for thread in self._threads:
            thread.start()

    def _make(self) -> None:
        while not self._stop.is_set():
            for attempt in range(_ATTEMPTS):
                name = f"kyb_t_{uuid.uuid4().hex[:12]}"
                try:
                    _pg_exec(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
                    break
                except Exception as exc:
                    if attempt == _ATTEMPTS - 1:  # handed to the test that takes the next copy
                        self._ready.put(exc)
                        return
                    self._undropped.append(name)  # in case it was made all the same
                    self._stop.wait(0.1)
            while True:
                try:
                    self._ready.put(name, timeout=0.2)
                    break
                except queue.Full:
                    if self._stop.is_set():
                        self._spent.put(name)
                        return

    def _drop(self) -> None:
        while (name := self._spent.get()) is not None:
            try:
                _pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except Exception:  # tried again at the end of the session
                self._undropped.append(name)

    def take(self) -> str:
        """A fresh copy of the template (its own database name)."""
        made = self._ready.get(timeout=300)
        if isinstance(made, BaseException):
            raise made
        return made

    def give_back(self, name: str) -> None:
        """Drop ``name`` (in the background)."""
        self._spent.put(name)

    def close(self) -> None:
        """Drop every copy made, and stop."""
        self._stop.set()
        self._threads[0].join(timeout=60)
        while not self._ready.empty():
            made = self._ready.get()
            if isinstance(made, str):
                self._spent.put(made)
        self._spent.put(None)
        self._threads[1].join(timeout=300)
        for name in self._undropped:
            _pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


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
def pg_copies(pg_template: str) -> Iterator[_PgCopies]:
    copies = _PgCopies(pg_template)
    yield copies
    copies.close()


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
    copies = request.getfixturevalue("pg_copies")
    name = copies.take()
    url = sa.engine.make_url(_pg_admin_url()).set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        copies.give_back(name)


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
