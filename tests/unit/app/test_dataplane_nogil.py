"""The data plane's GIL-keeping system calls (``app.dataplane.nogil``): the same results and
errors as ``os.write``, ``fcntl`` and the socket module, and a busy range, a full socket buffer
or an empty one reported, never waited for."""

from __future__ import annotations

import errno
import fcntl
import os
import socket
import struct

import pytest

from app.dataplane import nogil

pytestmark = pytest.mark.skipif(not nogil.AVAILABLE,
                                reason="open-file-description locks are Linux's")
FLOCK = struct.Struct("hhqqi4x")


def _flock(kind: int, start: int, length: int) -> bytes:
    return FLOCK.pack(kind, os.SEEK_SET, start, length, 0)


def test_write_appends_the_bytes_and_returns_their_count(tmp_path):
    path = tmp_path / "journal"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        assert nogil.write(fd, b"KJ first") == 8
        assert nogil.write(fd, b"") == 0
        assert nogil.write(fd, b" second") == 7
    finally:
        os.close(fd)
    assert path.read_bytes() == b"KJ first second"


def test_write_to_a_closed_descriptor_raises_like_os_write(tmp_path):
    fd = os.open(tmp_path / "journal", os.O_WRONLY | os.O_CREAT, 0o600)
    os.close(fd)
    with pytest.raises(OSError) as caught:
        nogil.write(fd, b"x")
    assert caught.value.errno == errno.EBADF


def test_a_range_another_open_file_holds_is_reported_busy_and_free_after_unlock(tmp_path):
    path = tmp_path / "spend.map"
    path.write_bytes(b"\0" * 512)
    first, second = os.open(path, os.O_RDWR), os.open(path, os.O_RDWR)
    try:
        assert nogil.try_lock(first, _flock(fcntl.F_WRLCK, 64, 128))
        assert not nogil.try_lock(second, _flock(fcntl.F_WRLCK, 128, 128))  # overlaps: busy
        assert nogil.try_lock(second, _flock(fcntl.F_WRLCK, 192, 128))  # just past it: free
        nogil.unlock(first, _flock(fcntl.F_UNLCK, 64, 128))
        assert nogil.try_lock(second, _flock(fcntl.F_WRLCK, 64, 128))
        # the kernel agrees: the first file now sees the second's lock through fcntl itself
        probe = fcntl.fcntl(first, fcntl.F_OFD_GETLK, _flock(fcntl.F_WRLCK, 64, 1))
        assert FLOCK.unpack(probe)[0] == fcntl.F_WRLCK
    finally:
        os.close(first)
        os.close(second)


def test_a_bad_request_raises_instead_of_reporting_busy(tmp_path):
    fd = os.open(tmp_path / "spend.map", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        with pytest.raises(OSError) as caught:
            nogil.try_lock(fd, _flock(fcntl.F_WRLCK, -5, 1))  # before the start of the file
        assert caught.value.errno == errno.EINVAL
    finally:
        os.close(fd)


# --- sockets: what the kernel can do at once, else "wait the usual way" --------------------

@pytest.fixture
def pair():
    a, b = socket.socketpair()
    yield a, b
    a.close()
    b.close()


def test_recv_now_says_none_until_bytes_arrive_and_empty_at_the_end(pair):
    a, b = pair
    assert nogil.readable_now(a.fileno()) is False
    assert nogil.recv_now(a.fileno(), 64) is None  # nothing yet: the caller waits
    b.sendall(b"GET / HTTP/1.1\r\n\r\n")
    assert nogil.readable_now(a.fileno()) is True
    assert nogil.recv_now(a.fileno(), 4) == b"GET "  # at most what was asked
    assert nogil.recv_now(a.fileno(), 64) == b"/ HTTP/1.1\r\n\r\n"
    b.close()
    assert nogil.readable_now(a.fileno()) is True  # the hang-up is news too
    assert nogil.recv_now(a.fileno(), 64) == b""


def test_send_now_sends_what_fits_and_zero_when_the_buffer_is_full(pair):
    a, b = pair
    a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    chunk = b"x" * 65536
    sent = nogil.send_now(a.fileno(), chunk)
    assert 0 < sent < len(chunk)  # a partial send, never a wait
    assert nogil.send_now(a.fileno(), chunk) == 0  # full: the caller waits the usual way
    received = b""
    while len(received) < sent:
        received += b.recv(65536)
    assert received == chunk[:sent]


def test_socket_errors_raise_like_the_socket_module(pair):
    a, b = pair
    b.close()
    with pytest.raises(OSError) as raised:
        for _ in range(3):  # the first send may still be taken before the reset is seen
            nogil.send_now(a.fileno(), b"answer")
    assert raised.value.errno in {errno.EPIPE, errno.ECONNRESET}
    closed = a.fileno()
    a.close()
    with pytest.raises(OSError) as raised:
        nogil.recv_now(closed, 16)
    assert raised.value.errno == errno.EBADF
