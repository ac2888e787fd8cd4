"""``kybgate serve``'s worker class (``app.gunicorn_worker.KeepAliveThreadWorker``) under a real
gunicorn: a kept-alive connection stays on its thread between requests when
``--worker-connections`` is at most ``--threads``, and an idle one still gives way (keep-alive
timeout, a new client waiting at a full worker, a stopping worker). A tiny WSGI app of its own:
what is tested is the server, not kybgate's app."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from app.gunicorn_worker import WAITING_GRACE_SECONDS

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).parent / "gunicorn"
APP = '''
import os
def app(environ, start_response):
    body = ("%d %s" % (os.getpid(), environ["PATH_INFO"])).encode()
    if environ["PATH_INFO"] == "/read":  # reads its body to the end, and says how much
        body += b" read %d" % len(environ["wsgi.input"].read())
    if environ["PATH_INFO"] == "/big":  # more than any socket buffer holds
        body += b"." * (4 * 1024 * 1024)
    if environ["PATH_INFO"] == "/empty":  # headers and no body
        start_response("204 No Content", [])
        return []
    if environ["PATH_INFO"] == "/file":  # gunicorn sends it with sendfile(2)
        path = os.path.join(os.path.dirname(__file__), "tiny.py")
        start_response("200 OK", [("Content-Length", str(os.path.getsize(path)))])
        return environ["wsgi.file_wrapper"](open(path, "rb"))
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
'''
REQUEST = b"GET /{path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def _server(tmp_path: Path, *, threads: int, connections: int, keepalive: int,
            workers: int = 1) -> Iterator[tuple[int, subprocess.Popen]]:
    (tmp_path / "tiny.py").write_text(APP)
    port = _free_port()
    log = open(tmp_path / "gunicorn.log", "ab")  # noqa: SIM115
    proc = subprocess.Popen([str(GUNICORN), "--bind", f"127.0.0.1:{port}", "--workers",  # noqa: S603
                             str(workers), "--threads", str(threads), "--worker-connections",
                             str(connections), "--keep-alive", str(keepalive), "--worker-class",
                             "app.gunicorn_worker.KeepAliveThreadWorker", "--graceful-timeout",
                             "10", "--chdir", str(tmp_path), "tiny:app"],
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as probe:
                    probe.sendall(b"GET /up HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    if probe.recv(100).startswith(b"HTTP/1.1 200"):
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError((tmp_path / "gunicorn.log").read_text())
            time.sleep(0.1)
        yield port, proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        log.close()


def _ask(sock: socket.socket, path: str) -> bytes:
    """One request on ``sock``; the whole answer (headers and body)."""
    sock.sendall(REQUEST.replace(b"{path}", path.encode()))
    data = b""
    while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) < _length(data):
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError(f"closed after {data!r}")
        data += chunk
    return data


def _length(data: bytes) -> int:
    head = data.split(b"\r\n\r\n", 1)[0].decode().lower()
    return next(int(line.split(":")[1]) for line in head.split("\r\n")
                if line.startswith("content-length:"))


def _closed(sock: socket.socket, within: float) -> bool:
    """Whether the server closes ``sock`` within ``within`` seconds."""
    sock.settimeout(within)
    try:
        return sock.recv(1) == b""
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


def test_one_connection_serves_many_requests_at_connections_equal_to_threads(tmp_path):
    """gthread answers every request with "Connection: close" at --worker-connections equal to
    --threads; here the connection stays open and its thread serves each request."""
    with _server(tmp_path, threads=2, connections=2, keepalive=5) as (port, _):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            answers = [_ask(sock, f"n{n}") for n in range(50)]
    assert all(a.startswith(b"HTTP/1.1 200") for a in answers)
    assert not any(b"connection: close" in a.lower() for a in answers)
    assert [a.rsplit(b" /", 1)[1] for a in answers] == [f"n{n}".encode() for n in range(50)]


def test_an_idle_connection_is_closed_after_the_keep_alive_timeout(tmp_path):
    with _server(tmp_path, threads=2, connections=2, keepalive=1) as (port, _):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            _ask(sock, "first")
            assert not _closed(sock, 0.5)  # just under the timeout: still open
            assert _closed(sock, 2.0)  # just over it: closed


def test_an_idle_connection_gives_way_to_a_waiting_client(tmp_path):
    """One worker, one thread, one connection: a client that keeps its connection idle must not
    lock the next client out for the whole keep-alive timeout (30 s here)."""
    with _server(tmp_path, threads=1, connections=1, keepalive=30) as (port, _):
        idle = socket.create_connection(("127.0.0.1", port), timeout=5)
        _ask(idle, "idle")
        started = time.monotonic()
        with socket.create_connection(("127.0.0.1", port), timeout=10) as waiting:
            assert _ask(waiting, "waiting").startswith(b"HTTP/1.1 200")
        assert WAITING_GRACE_SECONDS <= time.monotonic() - started < 3.0
        assert _closed(idle, 2.0)
        idle.close()


def test_a_busy_connection_gives_way_to_a_waiting_client_at_its_next_answer(tmp_path):
    """A client that never pauses (a payment backend's pooled connection under load) must not
    lock a new client out either: its next answer says "Connection: close", it reconnects
    behind the waiting client, and no request of either fails."""
    import threading
    with _server(tmp_path, threads=1, connections=1, keepalive=30) as (port, _):
        stop, answered, closes, errors = threading.Event(), [], [], []

        def busy() -> None:
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            while not stop.is_set():
                try:
                    answer = _ask(sock, "busy")
                except OSError as exc:
                    errors.append(exc)
                    return
                answered.append(answer)
                if b"connection: close" in answer.lower():
                    closes.append(answer)
                    sock.close()
                    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.close()

        thread = threading.Thread(target=busy)
        thread.start()
        try:
            while len(answered) < 20:
                time.sleep(0.01)
            started = time.monotonic()
            with socket.create_connection(("127.0.0.1", port), timeout=10) as waiting:
                assert _ask(waiting, "waiting").startswith(b"HTTP/1.1 200")
            # not at once: another worker with room could have taken it (the socket is shared)
            assert WAITING_GRACE_SECONDS <= time.monotonic() - started < 3.0
        finally:
            stop.set()
            thread.join(timeout=10)
        assert closes and not errors
        assert all(a.startswith(b"HTTP/1.1 200") for a in answered)


def test_a_stopping_worker_closes_idle_connections_at_once(tmp_path):
    with _server(tmp_path, threads=2, connections=2, keepalive=30) as (port, proc):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            _ask(sock, "before")
            started = time.monotonic()
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=15)
            assert time.monotonic() - started < 5.0  # the linger (2 s), not the keep-alive
            assert _closed(sock, 1.0)


def test_more_connections_than_threads_is_gthread_unchanged():
    from gunicorn.config import Config

    from app.gunicorn_worker import KeepAliveThreadWorker

    def worker(threads, connections, keepalive=2):
        cfg = Config()
        cfg.set("threads", threads)
        cfg.set("worker_connections", connections)
        cfg.set("keepalive", keepalive)
        return KeepAliveThreadWorker(0, os.getpid(), [], None, 30, cfg, None)

    assert worker(8, 8).owns_connections and worker(8, 4).owns_connections
    assert worker(8, 8).max_keepalived == 8  # never "Connection: close" for want of room
    plain = worker(8, 16)
    assert not plain.owns_connections and plain.max_keepalived == 8  # gthread's own rule
    assert not worker(8, 8, keepalive=0).owns_connections


def test_bodies_read_or_not_pipelined_requests_and_a_large_answer_on_a_kept_connection(
        tmp_path):
    """What a kept connection's socket does without handing the GIL back (``KeptSocket``)
    keeps HTTP exact: a body the app left unread is drained before the next request, one it
    read is not read twice, pipelined requests are answered in order, and an answer larger
    than the socket's buffer arrives whole to a slow reader."""
    with _server(tmp_path, threads=2, connections=2, keepalive=5) as (port, _):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            for path in ("ignored", "read"):
                sock.sendall(f"POST /{path} HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n"
                             "\r\n".encode() + b"b" * 5000)
                answer = _read_answer(sock)
                assert answer.startswith(b"HTTP/1.1 200")
                assert answer.endswith(b" read 5000" if path == "read" else b"/ignored")
                assert _ask(sock, f"after-{path}").endswith(f"/after-{path}".encode())
            sock.sendall(REQUEST.replace(b"{path}", b"one") + REQUEST.replace(b"{path}", b"two"))
            assert _read_answer(sock).endswith(b"/one")
            assert _read_answer(sock).endswith(b"/two")
            sock.sendall(REQUEST.replace(b"{path}", b"big"))
            time.sleep(0.5)  # the server fills the buffers and has to wait for this reader
            big = _read_answer(sock)
            assert big.endswith(b"." * 1000) and _length(big) == len(big.split(b"\r\n\r\n")[1])
            assert _ask(sock, "still-open").endswith(b"/still-open")


def _read_head(sock: socket.socket) -> bytes:
    """An answer's status line and headers read from ``sock``, byte by byte."""
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        head += sock.recv(1)
    return head


def _read_answer(sock: socket.socket) -> bytes:
    """One answer read from ``sock``, leaving any bytes of the next one unread."""
    head = _read_head(sock)
    body = b""
    while len(body) < _length(head):
        body += sock.recv(min(65536, _length(head) - len(body)))
    return head + body


def test_answers_without_a_body_or_sent_from_a_file_arrive_whole_on_a_kept_connection(
        tmp_path):
    """A kept connection's socket (``KeptSocket``) answers in order when there is no body
    (204, HEAD) and when gunicorn writes the body straight to the descriptor (``sendfile``)."""
    with _server(tmp_path, threads=2, connections=2, keepalive=5) as (port, _):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            for _ in range(2):
                sock.sendall(REQUEST.replace(b"{path}", b"empty"))
                assert _read_head(sock).startswith(b"HTTP/1.1 204")
                sock.sendall(b"HEAD /head HTTP/1.1\r\nHost: x\r\n\r\n")
                head = _read_head(sock)
                assert head.startswith(b"HTTP/1.1 200") and _length(head) > 0
                answer = _ask(sock, "file")
                assert answer.split(b"\r\n\r\n", 1)[1] == (tmp_path / "tiny.py").read_bytes()
            assert _ask(sock, "still-open").endswith(b"/still-open")
