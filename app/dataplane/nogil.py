"""System calls that return in microseconds, made *without* handing the GIL back (issue #14).

``os.write`` and ``fcntl.fcntl`` release the GIL around their system call, as they should for
calls that may block. On the data plane they are made while a lock is held (the journal's
append lock, a running total's slot lock), and getting the GIL back afterwards can take a
whole switch interval when another thread of the worker runs Python meanwhile. Every thread
that wants the same lock then waits for that hand-back: under load the threads of a worker
queue behind one lock and a core stays idle (measured: 43 % of the workers' wall time waiting
on one merchant's slot lock, `bench/verify.py --part b`).

The functions here call libc through :class:`ctypes.PyDLL`, which keeps the GIL during the
call, for the two calls that never wait on another party when used as below:

* :func:`write` — ``write(2)`` of one small record to a local file opened ``O_APPEND``: a copy
  into the page cache;
* :func:`try_lock` / :func:`unlock` — ``fcntl(F_OFD_SETLK)``, the *non-blocking* form of an
  open-file-description lock. When another process holds the range, :func:`try_lock` says so
  at once and the caller waits with ``F_OFD_SETLKW`` through :mod:`fcntl`, which does release
  the GIL (the holder is another process, and may need a while);
* :func:`send_now` / :func:`recv_now` / :func:`readable_now` — ``send(2)`` and ``recv(2)`` with
  ``MSG_DONTWAIT`` and ``poll(2)`` with a zero timeout on a connection's socket: they take what
  the kernel can do at once and say so when the caller must wait (then it waits through
  :mod:`socket`, which releases the GIL). A request and its answer are a few hundred bytes:
  each call is a copy to or from the socket's buffer (``app.gunicorn_worker``).

The trade-off: while such a call runs, no other thread of the process runs Python. A write
into the page cache takes microseconds; under heavy dirty-page pressure the kernel may
throttle it for milliseconds, and then the worker's other threads wait too (those appending
would have waited for the journal's lock anyway).

Linux only (OFD locks); :data:`AVAILABLE` is False elsewhere and callers keep the
:mod:`fcntl` / :mod:`os` calls.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import select
import socket
import struct

_OFD_SETLK = getattr(fcntl, "F_OFD_SETLK", None)

try:
    _libc = ctypes.PyDLL(None, use_errno=True)  # the process's own libc symbols
    _write = _libc.write
    _write.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t)
    _write.restype = ctypes.c_ssize_t
    _fcntl = _libc.fcntl
    _fcntl.argtypes = (ctypes.c_int, ctypes.c_int, ctypes.c_char_p)
    _fcntl.restype = ctypes.c_int
    _send = _libc.send
    _send.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int)
    _send.restype = ctypes.c_ssize_t
    _recv = _libc.recv
    _recv.argtypes = (ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    _recv.restype = ctypes.c_ssize_t
    _poll = _libc.poll
    _poll.argtypes = (ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int)
    _poll.restype = ctypes.c_int
    AVAILABLE = _OFD_SETLK is not None
except (OSError, AttributeError):  # pragma: no cover - not a glibc/musl Linux
    AVAILABLE = False

_BUSY = frozenset({errno.EAGAIN, errno.EACCES})
_WOULD_BLOCK = frozenset({errno.EAGAIN, errno.EWOULDBLOCK})
_MSG_DONTWAIT = getattr(socket, "MSG_DONTWAIT", 0x40)
_MSG_NOSIGNAL = getattr(socket, "MSG_NOSIGNAL", 0x4000)
_POLLFD = struct.Struct("ihh")  # struct pollfd: fd, events, revents
# What makes a socket worth reading now: data, urgent data, a hang-up or an error to report.
POLL_READY = select.POLLIN | select.POLLPRI | select.POLLHUP | select.POLLERR


def write(fd: int, data: bytes) -> int:
    """``write(2)`` of ``data`` to ``fd`` holding the GIL; the bytes written. Raises
    ``OSError`` as :func:`os.write` does."""
    while True:
        written = _write(fd, data, len(data))
        if written >= 0:
            return written
        code = ctypes.get_errno()
        if code != errno.EINTR:
            raise OSError(code, os.strerror(code))


def try_lock(fd: int, flock: bytes) -> bool:
    """``fcntl(fd, F_OFD_SETLK, flock)`` holding the GIL: True if the range is now locked (or
    unlocked, for an ``F_UNLCK`` flock), False if another open file holds a conflicting lock."""
    while True:
        if _fcntl(fd, _OFD_SETLK, flock) == 0:
            return True
        code = ctypes.get_errno()
        if code in _BUSY:
            return False
        if code != errno.EINTR:
            raise OSError(code, os.strerror(code))


def unlock(fd: int, flock: bytes) -> None:
    """Release the range ``flock`` (an ``F_UNLCK`` flock) holding the GIL; never waits."""
    try_lock(fd, flock)


def send_now(fd: int, data: bytes) -> int:
    """``send(2)`` of what of ``data`` the socket ``fd`` takes at once, holding the GIL: the
    bytes sent (0 when its buffer is full: the caller sends the rest the blocking way).
    Raises ``OSError`` as :meth:`socket.socket.send` does (a reset connection, say)."""
    while True:
        sent = _send(fd, data, len(data), _MSG_DONTWAIT | _MSG_NOSIGNAL)
        if sent >= 0:
            return sent
        code = ctypes.get_errno()
        if code in _WOULD_BLOCK:
            return 0
        if code != errno.EINTR:
            raise OSError(code, os.strerror(code))


def recv_now(fd: int, size: int) -> bytes | None:
    """``recv(2)`` of at most ``size`` bytes the socket ``fd`` holds now, holding the GIL:
    the bytes (``b""`` at the end of the stream), or None when nothing has arrived yet (the
    caller then waits the blocking way)."""
    buffer = ctypes.create_string_buffer(size)
    while True:
        got = _recv(fd, buffer, size, _MSG_DONTWAIT)
        if got >= 0:
            return ctypes.string_at(buffer, got)
        code = ctypes.get_errno()
        if code in _WOULD_BLOCK:
            return None
        if code != errno.EINTR:
            raise OSError(code, os.strerror(code))


def readable_now(fd: int) -> bool:
    """Whether ``fd`` has something to read (or a hang-up or error to report) now:
    ``poll(2)`` with a zero timeout, holding the GIL."""
    pollfd = ctypes.create_string_buffer(_POLLFD.pack(fd, POLL_READY, 0), _POLLFD.size)
    while _poll(pollfd, 1, 0) < 0:
        if ctypes.get_errno() != errno.EINTR:
            return False  # let the caller's own poll report it
    return bool(_POLLFD.unpack(pollfd.raw)[2])
