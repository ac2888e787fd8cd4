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

* a busy one: while the worker is full and a new client waits at the listening socket, the
  next answer says ``Connection: close`` (looked at most every :data:`WAITING_CHECK_SECONDS`)
  and its client reconnects behind the one that waited;
* an idle one: after ``--keepalive`` seconds without a request (gunicorn's own keep-alive
  timeout), or as soon as the worker is full and a new client waits (looked every
  :data:`IDLE_CHECK_SECONDS`);
* when the worker stops: it then waits at most gunicorn's linger for a request already on
  its way and answers that one with ``Connection: close``, as gthread does.

With more connections than threads it is gthread unchanged. HTTP/2 connections are gthread's.
"""

from __future__ import annotations

import select
import time
from typing import Any

from gunicorn.workers import gthread

IDLE_CHECK_SECONDS = 0.1  # how often an idle kept-alive connection looks for waiting clients
WAITING_CHECK_SECONDS = 0.005  # how often a full worker looks at its listening sockets
_READABLE = select.POLLIN | select.POLLPRI | select.POLLHUP | select.POLLERR


class KeepAliveThreadWorker(gthread.ThreadWorker):
    """``gthread`` with a thread per kept-alive connection when connections ≤ threads."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.owns_connections = bool(self.cfg.keepalive) and (
            self.cfg.worker_connections <= self.cfg.threads)
        self._waiting = (float("-inf"), False)  # (when the listeners were looked at, a client?)

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
        result = super().handle(conn)
        while result is True and self.owns_connections and not conn.is_http2:
            if not self.next_request_arrives(conn):
                return False  # gthread closes it (and makes room for a new client)
            result = super().handle(conn)
        return result

    def next_request_arrives(self, conn: Any) -> bool:
        """Wait on this thread for the next request on ``conn``; False to close it."""
        if conn.parser.unreader.buf.getvalue():
            return True  # the body drain read into the next request already
        poller = select.poll()
        poller.register(conn.sock, _READABLE)
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
        """Whether this worker is full while a new client waits to be accepted (an answer
        looked up at most ``within`` seconds ago will do)."""
        if self.nr_conns < self.worker_connections:
            return False
        now = time.monotonic()
        checked_at, waiting = self._waiting
        if now - checked_at < within:
            return waiting
        listeners = select.poll()
        for listener in self.sockets:
            listeners.register(listener, select.POLLIN)
        waiting = bool(listeners.poll(0))
        self._waiting = (now, waiting)
        return waiting
