"""Whose turn it is to serve a request in this worker process: one kept-alive request at a
time, in the order they arrived (issue #14).

A ``kybgate serve`` worker runs a thread per kept-alive connection
(``app.gunicorn_worker``). Under load every thread has a request in hand, and only one can run
Python at a time (the GIL). CPython hands the GIL over with no queue: a thread coming back from
a system call takes it if it is free, so a thread already waiting can be passed over again and
again, and only forces a switch after a whole switch interval (5 ms). Measured on the project's
2-core VM with the plain app of ``bench/verify.py`` on kybgate's worker: p50 3.5 ms but p99
32 ms at 4,100 req/s (stock gthread: p99 15 ms at 2,700).

With the turnstile, a thread whose request has arrived waits *here*, in a first-come queue,
asleep in the kernel and not asking for the GIL, until the thread before it has answered. The
one thread with the turn rarely waits for the GIL, so requests are answered in arrival order:
p99 7 ms at 4,300 req/s on the same run.

The turn must never be held across a wait for someone else: the next request would wait for
it too. So :func:`step_aside` gives the turn up before any such wait (a client slow to send or
to read, a database round trip, the audit trail's pacing, a lock another process holds, a
group fsync, a request the control plane answers), and :func:`acquire` before waiting for a
lock another thread of the process holds (it may hold it across such a wait: a running
total's slot while its lease is topped up from the database). A thread that stepped aside
finishes its request without the turn, as any thread does without a turnstile, and takes a
ticket again only for its connection's next request. Nobody waits for the turn while holding
anything (a thread asks for it only when its request begins), so the turn cannot be part of a
deadlock.

A process without a turnstile (tests, the CLI, ``--worker-connections`` above ``--threads``)
has :func:`step_aside` as a no-op.
"""

from __future__ import annotations

import threading
from collections import deque

from sqlalchemy import event
from sqlalchemy.engine import Engine


class Turnstile:
    """A first-come turn among the threads of a process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: deque[threading.Lock] = deque()
        self._holder: int | None = None  # the thread ident with the turn

    def enter(self) -> None:
        """Wait for this thread's turn (at once if nobody has it)."""
        me = threading.get_ident()
        with self._lock:
            if self._holder is None:
                self._holder = me
                return
            ticket = threading.Lock()
            ticket.acquire()
            self._queue.append(ticket)
        ticket.acquire()  # released by the thread handing the turn over, which made it ours
        self._holder = me

    def leave(self) -> None:
        """Hand the turn to the next thread waiting, if this thread has it."""
        if self._holder != threading.get_ident():
            return
        with self._lock:
            if self._queue:
                self._holder = -1  # in transit: set by the next thread as it wakes
                self._queue.popleft().release()
            else:
                self._holder = None

    def holds(self) -> bool:
        """Whether this thread has the turn."""
        return self._holder == threading.get_ident()

    def waiting(self) -> int:
        """Threads waiting for their turn."""
        return len(self._queue)


_turnstile: Turnstile | None = None


def install() -> Turnstile:
    """Give this process a turnstile (a worker that keeps its connections on threads)."""
    global _turnstile
    _turnstile = Turnstile()
    return _turnstile


def current() -> Turnstile | None:
    """This process's turnstile, if it has one."""
    return _turnstile


def step_aside() -> None:
    """Give up this thread's turn, if it has one, before waiting for someone else."""
    if _turnstile is not None:
        _turnstile.leave()


def acquire(lock: threading.Lock) -> None:
    """Take ``lock``; if another thread has it, give up the turn before waiting (that thread
    may be waiting for the database with it, and the worker's other requests should not)."""
    if not lock.acquire(blocking=False):
        step_aside()
        lock.acquire()


@event.listens_for(Engine, "before_cursor_execute")
def _before_database(*_args: object) -> None:
    """A database round trip is a wait for another process: never with the turn."""
    step_aside()
