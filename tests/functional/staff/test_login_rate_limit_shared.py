"""The login rate limit is one budget per real client address for every process serving the
app (issue #13 item 8): without Redis the workers of a host share it through a locked SQLite
file in the instance folder, with ``KYB_REDIS_URL`` through Redis; ``X-Forwarded-For`` counts
only from a trusted proxy, so a client cannot rotate its key with it."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from app import create_app
from app.web.ratelimit import FILE_NAME, LoginRateLimiter, client_key
from tests.functional.staff.conftest import csrf_from


def _attempt(client, email: str, headers: dict[str, str] | None = None,
             peer: str = "127.0.0.1") -> int:
    environ = {"REMOTE_ADDR": peer}
    page = client.get("/staff/login", headers=headers, environ_base=environ)
    return client.post("/staff/login", headers=headers, environ_base=environ,
                       data={"email": email, "password": "wrong-password",
                             "csrf_token": csrf_from(page.get_data(True))}).status_code


@pytest.fixture
def second_app(app, settings):
    """Another app object on the same database and instance folder: another worker."""
    other = create_app({"TESTING": True}, settings=settings)
    yield other
    other.extensions["kyb.engine"].dispose()


def _limit(*apps, limit: int = 3) -> None:
    for application in apps:
        application.extensions["kyb.login_limiter"].limit = limit


def test_two_workers_share_one_budget(app, second_app, make_staff):
    staff = make_staff("shared@bank.example", "analyst")
    _limit(app, second_app)
    first, second = app.test_client(), second_app.test_client()
    codes = [_attempt(client, staff.email) for client in (first, second, first, second)]
    assert codes == [401, 401, 401, 429]  # the 4th is over 3, though each worker saw 2
    assert (Path(app.extensions["kyb.settings"].instance_path) / FILE_NAME).exists()


def test_forwarded_for_from_an_untrusted_peer_cannot_rotate_the_key(app, make_staff):
    staff = make_staff("rotate@bank.example", "analyst")
    _limit(app)
    client = app.test_client()
    codes = [_attempt(client, staff.email, {"X-Forwarded-For": f"203.0.113.{n}",
                                            "X-Real-IP": f"198.51.100.{n}"}, peer="192.0.2.10")
             for n in range(1, 5)]
    assert codes == [401, 401, 401, 429]


def test_behind_a_trusted_proxy_each_real_client_has_its_own_budget(app, settings, make_staff):
    staff = make_staff("proxy@bank.example", "analyst")
    proxied = create_app({"TESTING": True}, settings=settings.replace(
        trusted_proxies=("10.0.0.0/8",)))
    try:
        _limit(proxied)
        client = proxied.test_client()
        others = [_attempt(client, staff.email, {"X-Forwarded-For": f"203.0.113.{n}"},
                           peer="10.0.0.5") for n in range(1, 5)]
        assert others == [401] * 4  # four clients behind the proxy, one attempt each
        same = [_attempt(client, staff.email, {"X-Forwarded-For": "198.51.100.7"},
                         peer="10.0.0.5") for _ in range(4)]
        assert same == [401, 401, 401, 429]
    finally:
        proxied.extensions["kyb.engine"].dispose()


def test_client_key_believes_forwarding_headers_only_from_trusted_proxies():
    assert client_key("192.0.2.10", "203.0.113.9", None, ()) == "192.0.2.10"
    assert client_key("10.0.0.5", "203.0.113.9, 10.0.0.7", None, ("10.0.0.0/8",)) \
        == "203.0.113.9"
    assert client_key("10.0.0.5", None, "203.0.113.9", ("10.0.0.0/8",)) == "203.0.113.9"
    assert client_key("10.0.0.5", "not-an-ip", None, ("10.0.0.0/8",)) == "unresolved:10.0.0.5"


_HITS = """
import sys
from app.web.ratelimit import LoginRateLimiter
limiter = LoginRateLimiter(limit=1000, window=3600, shared_file=sys.argv[1])
for _ in range(int(sys.argv[2])):
    limiter.hit("198.51.100.1")
"""


def test_concurrent_processes_lose_no_count(tmp_path):
    path = tmp_path / FILE_NAME
    workers = [subprocess.Popen([sys.executable, "-c", _HITS, str(path), "40"],  # noqa: S603
                                cwd=Path(__file__).parents[3]) for _ in range(3)]
    assert [w.wait(timeout=60) for w in workers] == [0, 0, 0]
    limiter = LoginRateLimiter(limit=121, window=3600, shared_file=path)
    assert limiter.hit("198.51.100.1")  # the 121st
    assert not limiter.hit("198.51.100.1")  # the 122nd: all 120 of the processes counted
    assert limiter.hit("198.51.100.2")  # another address has its own budget


def test_windows_reset_the_count_just_after_the_window(tmp_path):
    now = [1_000_000 * 300 + 299.0]  # the last second of a window
    limiter = LoginRateLimiter(limit=2, window=300, shared_file=tmp_path / FILE_NAME,
                               clock=lambda: now[0])
    assert [limiter.hit("a"), limiter.hit("a"), limiter.hit("a")] == [True, True, False]
    now[0] += 0.999  # still inside the window
    assert not limiter.hit("a")
    now[0] += 0.002  # just over: a new window
    assert limiter.hit("a")


def test_an_unwritable_file_falls_back_to_counting_in_process(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    limiter = LoginRateLimiter(limit=1, shared_file=blocker / FILE_NAME)
    assert [limiter.hit("a"), limiter.hit("a")] == [True, False]


@pytest.mark.skipif(not os.environ.get("KYB_TEST_REDIS_URL"), reason="KYB_TEST_REDIS_URL unset")
def test_with_redis_every_worker_and_host_shares_the_budget(tmp_path):
    url = os.environ["KYB_TEST_REDIS_URL"]
    key = f"203.0.113.{uuid.uuid4().int % 250}-{uuid.uuid4().hex[:8]}"
    hosts = [LoginRateLimiter(limit=3, redis_url=url, shared_file=tmp_path / f"h{n}" / FILE_NAME)
             for n in range(2)]  # two hosts: separate files, one Redis
    assert [hosts[n % 2].hit(key) for n in range(4)] == [True, True, True, False]
    assert not (tmp_path / "h0" / FILE_NAME).exists()  # Redis counted, not the file
