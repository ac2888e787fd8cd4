"""The gunicorn worker class of ``kybgate serve``: gunicorn's threaded worker, except that a
kept-alive connection stays on its thread between requests when every connection can have one.

gunicorn's ``gthread`` worker hands each kept-alive connection back to its main thread after
every request (poller registration, a wake-up pipe, a thread-pool hand-off) and keeps at most
``--worker-connections`` minus ``--threads`` connections alive: at ``--worker-connections``
equal to ``--threads`` (the setting that spreads a gateway's few long-lived connections over
every worker) it closes the connection after every answer, so each request paid a TCP
connection of its own.

This worker keeps the thread on the connection instead, when ``--worker-connections`` is at
most ``--threads`` (so no connection ever waits for a thread): after an answer with keep-alive
the thread waits on the socket for the next request and serves it directly. A connection still
gives way, so that kept-alive connections never lock a new client out:

* a busy one: while the worker is full and a new client has waited at the listening socket
  for :data:`WAITING_GRACE_SECONDS` (no other worker took it), the next answer says
  ``Connection: close`` (looked at most every :data:`WAITING_CHECK_SECONDS`) and its client
  reconnects behind the one that waited;
* an idle one: after ``--keepalive`` seconds without a request (gunicorn's own keep-alive
  timeout), or as soon as the worker is full and a new client has waited as long (looked
  every :data:`IDLE_CHECK_SECONDS`);
* when the worker stops: it then waits at most gunicorn's linger for a request already on
  its way and answers that one with ``Connection: close``, as gthread does.

With more connections than threads it is gthread unchanged. HTTP/2 connections are gthread's.

**Fewer hand-backs of the GIL.** Every blocking socket call hands the GIL back and must get it
back afterwards; while another thread of the worker runs Python, that can take a whole switch
interval (5 ms). On gthread's path a kept-alive request made eight such calls: the wait,
``setblocking``, ``recv``, one ``sendall`` for the headers and one for the body, two
``settimeout`` around draining a body already read, and one more when the parser moves on.
Under load each request queued for the GIL up to eight times (measured with ``py-spy`` on
``bench/verify.py --part b``: half the worker threads' wall time sat in ``sendall`` waiting
for it). A kept connection's socket is a :class:`KeptSocket`:

* ``recv`` and ``sendall`` first do what the kernel can do at once without handing the GIL
  back (``app.dataplane.nogil``), and wait the usual way only when they must;
* ``setblocking(True)`` and ``settimeout(None)`` on a socket already blocking make no call;
* a body the application read to its end is not drained again.

The wait for the next request is the one hand-back left, when that request has not arrived.

**One request at a time.** A worker that keeps its connections on threads serves their
requests in the order they arrived, one at a time (``app.turnstile``): under load its threads
no longer race for the GIL, which left some requests waiting many switch intervals (p99 5-10×
the median).
"""

from __future__ import annotations

import select
import socket
import time
from typing import Any

from gunicorn.http.body import LengthReader
from gunicorn.workers import gthread

from app import turnstile
from app.dataplane import nogil

IDLE_CHECK_SECONDS = 0.1  # how often an idle kept-alive connection looks for waiting clients
WAITING_CHECK_SECONDS = 0.005  # how often a full worker looks at its listening sockets
WAITING_GRACE_SECONDS = 0.25  # how long a client waits before a full worker makes room


class KeptSocket(socket.socket):
    """A kept-alive connection's socket (blocking, as gthread's threads use it) whose calls
    keep the GIL when the kernel can answer at once; see the module's docstring."""

    __slots__ = ()

    def recv(self, size: int, flags: int = 0) -> bytes:
        """What has arrived, read without handing the GIL back; else wait as usual."""
        if not flags and self.gettimeout() is None:
            data = nogil.recv_now(self.fileno(), size)
            if data is not None:
                return data
        turnstile.step_aside()  # a wait for the client
        return super().recv(size, flags)

    def sendall(self, data: Any, flags: int = 0) -> None:
        """Send ``data``: what the socket's buffer takes at once without handing the GIL
        back, the rest (a full buffer: a slow reader) as usual."""
        if not flags and self.gettimeout() is None and isinstance(data, bytes):
            sent = nogil.send_now(self.fileno(), data)
            if sent == len(data):
                return
            data = data[sent:]
        turnstile.step_aside()  # a wait for the client to read
        super().sendall(data, flags)

    def setblocking(self, flag: bool) -> None:
        """No system call to make a blocking socket blocking (gthread asks every request)."""
        if flag and self.gettimeout() is None:
            return
        super().setblocking(flag)

    def settimeout(self, value: float | None) -> None:
        """No system call to make a blocking socket blocking (the parser resets the timeout
        after every body it finishes)."""
        if value is None and self.gettimeout() is None:
            return
        super().settimeout(value)


def keep(conn: Any) -> None:
    """Make ``conn``'s socket a :class:`KeptSocket` (a plain TCP or Unix socket only: TLS
    sockets keep their own class)."""
    if nogil.AVAILABLE and type(conn.sock) is socket.socket:
        conn.sock.__class__ = KeptSocket


def readable_now(sock: Any) -> bool:
    """Whether ``sock`` (a connection, or a listening socket with a client in its queue) has
    something to read now, asked without handing the GIL back where that can be done."""
    if nogil.AVAILABLE:
        return nogil.readable_now(sock.fileno())
    poller = select.poll()
    poller.register(sock, nogil.POLL_READY)
    return bool(poller.poll(0))


def body_read(conn: Any) -> bool:
    """Whether the application read the current request's body to its end (nothing for
    gthread's drain to read: it would only set and reset the socket's timeout)."""
    message = getattr(conn.parser, "mesg", None) if conn.parser is not None else None
    body = getattr(message, "body", None)
    reader = getattr(body, "reader", None)
    return (isinstance(reader, LengthReader) and reader.length == 0
            and not body.failed and not body.buf.getvalue())


class KeepAliveThreadWorker(gthread.ThreadWorker):
    """``gthread`` with a thread per kept-alive connection when connections ≤ threads."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.owns_connections = bool(self.cfg.keepalive) and (
            self.cfg.worker_connections <= self.cfg.threads)
        self._waiting = (float("-inf"), False)  # (when the listeners were looked at, a client?)
        self._waiting_since: float | None = None  # since when a client has been seen waiting

    def init_process(self) -> None:
        """Serve kept connections' requests one at a time, in arrival order
        (``app.turnstile``)."""
        if self.owns_connections:
            turnstile.install()
        super().init_process()

    @property
    def max_keepalived(self) -> int:
        """gthread answers ``Connection: close`` once it holds this many idle connections on
        its poller. Here none waits there: an answer closes only to make room for a client
        waiting at a full worker."""
        if not getattr(self, "owns_connections", False):
            return self._max_keepalived
        return 0 if self.client_waiting(WAITING_CHECK_SECONDS) else self.worker_connections

    @max_keepalived.setter
    def max_keepalived(self, value: int) -> None:
        self._max_keepalived = value  # gthread's own: worker_connections - threads

    @classmethod
    def check_config(cls, cfg: Any, log: Any) -> None:
        """gthread warns that no connection can be kept alive at connections ≤ threads;
        here they are (on their threads)."""
        if cfg.worker_connections > cfg.threads:
            super().check_config(cfg, log)

    def handle(self, conn: Any) -> Any:
        """Serve requests on ``conn`` while it stays alive and a next one arrives in time."""
        if self.owns_connections and not self.cfg.is_ssl:
            keep(conn)
        result = super().handle(conn)
        while result is True and self.owns_connections and not conn.is_http2:
            if not self.next_request_arrives(conn):
                return False  # gthread closes it (and makes room for a new client)
            result = self._in_turn(conn)
        return result

    def _in_turn(self, conn: Any) -> Any:
        """Serve the request that arrived on ``conn`` when it is this thread's turn."""
        turn = turnstile.current()
        if turn is None:
            return super().handle(conn)
        turn.enter()
        try:
            return super().handle(conn)
        finally:
            turn.leave()

    def _keepalive_after(self, conn: Any, keepalive: bool) -> bool:
        """gthread's, without the drain when there is nothing to drain."""
        if keepalive and self.owns_connections and body_read(conn):
            return True
        return super()._keepalive_after(conn, keepalive)

    def next_request_arrives(self, conn: Any) -> bool:
        """Wait on this thread for the next request on ``conn``; False to close it."""
        if conn.parser.unreader.buf.getvalue():
            return True  # the body drain read into the next request already
        if readable_now(conn.sock):
            return True  # already here: no wait, no hand-back of the GIL
        poller = select.poll()
        poller.register(conn.sock, nogil.POLL_READY)
        deadline = time.monotonic() + self.cfg.keepalive
        while True:
            now = time.monotonic()
            if not self.alive:
                deadline = min(deadline, now + gthread.STOP_KEEPALIVE_LINGER)
            if now >= deadline:
                return False
            if poller.poll(min(deadline - now, IDLE_CHECK_SECONDS) * 1000.0):
                return True
            if self.client_waiting():
                return False  # idle while a client waits: make room

    def client_waiting(self, within: float = 0.0) -> bool:
        """Whether this worker is full while a new client has waited to be accepted for
        :data:`WAITING_GRACE_SECONDS` (an answer looked up at most ``within`` seconds ago will
        do). The listening socket is shared by every worker: a client in its queue is usually
        taken by a worker with room a moment later, and closing a connection here for it would
        only send one more client to the queue."""
        if self.nr_conns < self.worker_connections:
            self._waiting_since = None
            return False
        now = time.monotonic()
        checked_at, waiting = self._waiting
        if now - checked_at < within:
            return waiting
        queued = any(readable_now(listener) for listener in self.sockets)
        if not queued:
            self._waiting_since = None
        elif self._waiting_since is None:
            self._waiting_since = now
        waiting = queued and now - self._waiting_since >= WAITING_GRACE_SECONDS
        self._waiting = (now, waiting)
        return waiting
