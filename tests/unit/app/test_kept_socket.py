"""A kept connection's socket (``app.gunicorn_worker.KeptSocket``) holds an answer's status line
and headers back and sends them with the body, in one system call; whatever comes next (a
``recv``, ``fileno()`` for ``sendfile`` or a poll, ``close``, the worker's flush after each
request) sends them first, so nothing is ever kept from the client or sent out of order."""

from __future__ import annotations

import socket
import threading
from types import SimpleNamespace

import pytest

from app.dataplane import nogil
from app.gunicorn_worker import HEAD_MAX, JOIN_MAX, KeptSocket, flush

HEAD = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"

pytestmark = pytest.mark.skipif(not nogil.AVAILABLE, reason="needs Linux libc")


@pytest.fixture
def pair():
    kept, peer = socket.socketpair()
    kept.__class__ = KeptSocket
    peer.settimeout(2)
    yield kept, peer
    kept.close()
    peer.close()


def _pending(peer: socket.socket) -> bytes | None:
    """What the peer can read now, None if nothing."""
    peer.setblocking(False)
    try:
        return peer.recv(1 << 20)
    except BlockingIOError:
        return None
    finally:
        peer.settimeout(2)


def test_headers_wait_for_the_body_and_leave_with_it(pair):
    kept, peer = pair
    kept.sendall(HEAD)
    assert _pending(peer) is None
    kept.sendall(b"hi")
    assert _pending(peer) == HEAD + b"hi"


@pytest.mark.parametrize("then", ["flush", "fileno", "recv", "close"])
def test_held_headers_go_out_before_anything_else(pair, then):
    """An answer without a body (the worker's flush), ``sendfile`` writing to ``fileno()``
    directly, a wait for the client (``recv``) and a close all send the headers first."""
    kept, peer = pair
    kept.sendall(HEAD)
    if then == "flush":
        flush(SimpleNamespace(sock=kept))
    elif then == "fileno":
        kept.fileno()
    elif then == "recv":
        peer.sendall(b"x")
        assert kept.recv(1) == b"x"
    else:
        kept.close()
    assert peer.recv(1000) == HEAD


def test_only_headers_are_held_and_a_large_body_is_not_copied_onto_them(pair):
    kept, peer = pair
    kept.sendall(b"not an answer's head\r\n\r\n")
    assert _pending(peer) == b"not an answer's head\r\n\r\n"
    kept.sendall(b"HTTP/1.1 200 OK\r\nX: " + b"y" * HEAD_MAX + b"\r\n\r\n")
    assert _pending(peer) is not None  # too long to be held
    kept.sendall(HEAD)
    body = b"z" * (JOIN_MAX + 1)
    received = bytearray()

    def read() -> None:
        while len(received) < len(HEAD) + len(body):
            received.extend(peer.recv(1 << 20))

    reader = threading.Thread(target=read)
    reader.start()
    kept.sendall(body)
    reader.join(5)
    assert bytes(received) == HEAD + body


def test_a_peer_gone_drops_held_headers_on_close(pair):
    kept, peer = pair
    kept.sendall(HEAD)
    peer.close()
    kept.close()  # no BrokenPipeError reaches the worker
