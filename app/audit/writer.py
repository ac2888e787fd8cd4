"""One audit writer per host: a separate process that group-commits the verification events of
every worker.

Why a process and not a thread in each worker: a writer thread shares its worker's GIL with the
request threads. Every database call releases the GIL and must win it back from them, so under
load each call of a batch waited for the request threads (a convoy), and two workers' writers
took turns on SQLite's single write lock. A writer process has its own interpreter, runs on
another core while the workers answer, and batches the events of all workers in one transaction.

Protocol, over a Unix stream socket (``KYB_AUDIT_SOCKET``, mode 0600, in the instance folder):
every frame is a 4-byte big-endian length and that many bytes of UTF-8 JSON.

* worker → writer: ``{"n": <request number>, "d": <event draft>}`` (see :func:`draft_to_wire`);
* writer → worker, once the batch holding those events is **committed**:
  ``{"ok": [[n, event id, seq, hash, denied], ...]}`` (``denied``: null, or the reason the
  commit turned an allowed decision down, e.g. a daily limit that another request took); or,
  if the batch failed, ``{"failed": [n, ...], "error": "<exception class>"}``.

Never an acknowledged request without its event: a worker answers only after the ack, and the
writer acks only after its commit returned. If the writer is gone, the worker's waiting requests
fail with :class:`~app.audit.batcher.AuditUnavailable` (HTTP 503) and it reconnects on the next
request. The chain lock is the same as every other appender's (``append_batch``), so events
written by the services of a request, by the CLI and by this process share one gap-free chain.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import selectors
import signal
import socket
import stat
import struct
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from app.audit.batcher import (
    AuditUnavailable,
    BatchHook,
    CommitHook,
    StoredEvent,
    append_batch,
    wait_committed,
)
from app.audit.trail import EventDraft

log = logging.getLogger("kybgate.audit.writer")

HEADER = struct.Struct(">I")
MAX_FRAME = 256 * 1024  # one event is well under 8 KB (every field is length-bounded)
_FIELDS = tuple(EventDraft.__dataclass_fields__)


class ProtocolError(ValueError):
    """A frame that is not a well-formed event draft."""


# --------------------------------------------------------------------------- wire format

def draft_to_wire(draft: EventDraft) -> dict[str, Any]:
    """A draft as JSON-ready values (Decimal and datetime as strings)."""
    wire: dict[str, Any] = {}
    for name in _FIELDS:
        value = getattr(draft, name)
        if value is None:
            continue
        if isinstance(value, Decimal):
            value = format(value, "f")
        elif isinstance(value, dt.datetime):
            value = value.astimezone(dt.UTC).isoformat()
        wire[name] = value
    return wire


def draft_from_wire(wire: Any) -> EventDraft:
    """The draft a worker sent; :class:`ProtocolError` if it is not one."""
    if not isinstance(wire, dict) or set(wire) - set(_FIELDS):
        raise ProtocolError("not an event draft")
    values = dict(wire)
    try:
        if values.get("amount") is not None:
            values["amount"] = Decimal(str(values["amount"]))
        if values.get("at") is not None:
            at = dt.datetime.fromisoformat(str(values["at"]))
            if at.tzinfo is None:
                raise ProtocolError("event time without a time zone")
            values["at"] = at
        if not isinstance(values.get("details", {}), dict):
            raise ProtocolError("details must be an object")
        draft = EventDraft(**values)
    except (TypeError, ValueError, InvalidOperation) as exc:
        raise ProtocolError(f"bad event draft: {exc}") from None
    if not isinstance(draft.action, str) or not isinstance(draft.actor, str):
        raise ProtocolError("action and actor are required")
    return draft


def encode_frame(message: Any) -> bytes:
    """Length-prefixed JSON."""
    body = json.dumps(message, separators=(",", ":"), default=str).encode()
    return HEADER.pack(len(body)) + body


def decode_frames(buffer: bytearray) -> list[Any]:
    """Take every complete frame off the front of ``buffer``; :class:`ProtocolError` on a frame
    that is too long or not JSON."""
    messages = []
    while len(buffer) >= HEADER.size:
        (size,) = HEADER.unpack_from(buffer)
        if size > MAX_FRAME:
            raise ProtocolError(f"frame of {size} bytes is over the {MAX_FRAME}-byte limit")
        if len(buffer) < HEADER.size + size:
            break
        body = bytes(buffer[HEADER.size:HEADER.size + size])
        del buffer[:HEADER.size + size]
        try:
            messages.append(json.loads(body))
        except ValueError:
            raise ProtocolError("frame is not JSON") from None
    return messages


# --------------------------------------------------------------------------- the writer process

class _Peer:
    __slots__ = ("inbox", "outbox", "sock")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.inbox = bytearray()
        self.outbox = bytearray()


def bind_socket(path: str | os.PathLike[str]) -> socket.socket:
    """Listen on ``path`` (a stale socket file from a crashed writer is replaced; any other
    kind of file there is refused), readable and writable by this user only."""
    target = Path(path)
    if target.exists() or target.is_symlink():
        if not stat.S_ISSOCK(target.lstat().st_mode):
            raise RuntimeError(f"{target} exists and is not a socket; refusing to replace it")
        if writer_reachable(str(target)):
            raise RuntimeError(f"another audit writer already listens on {target}")
        target.unlink()  # nobody listens: left over from a writer that died
    target.parent.mkdir(parents=True, exist_ok=True)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o177)
    try:
        server.bind(str(target))
    finally:
        os.umask(old_umask)
    server.listen(256)
    server.setblocking(False)
    return server


class AuditWriterServer:
    """The writer process's loop: read drafts from every worker, commit them in batches, ack.

    Single-threaded (a selector over the listening socket and the workers' connections), so
    nothing competes with the database calls for the GIL. While a batch commits, the next
    one queues in the socket buffers: batches grow with load, with no timer to tune.
    """

    def __init__(self, engine: Engine, socket_path: str | os.PathLike[str], *,
                 max_batch: int = 1024, linger: float = 0.001, drain_seconds: float = 15.0,
                 in_batch: BatchHook | None = None, parent_pid: int | None = None) -> None:
        self.engine = engine
        self.socket_path = Path(socket_path)
        self.max_batch = max_batch
        self.linger = linger
        self.drain_seconds = drain_seconds
        self.parent_pid = parent_pid
        self._peers: set[_Peer] = set()
        self.in_batch = in_batch
        self.batches = 0
        self.events = 0
        self._stop = threading.Event()
        self._selector = selectors.DefaultSelector()
        self._server: socket.socket | None = None
        self._pending: list[tuple[_Peer, int, EventDraft]] = []
        self._wake_r, self._wake_w = socket.socketpair()

    def stop(self) -> None:
        """Stop accepting connections; serve the open ones until they close (at most
        ``drain_seconds``), commit what they sent, then return (safe from a signal handler)."""
        self._stop.set()
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass

    def serve_forever(self, ready: Callable[[], None] | None = None) -> None:
        """Bind, then loop until :meth:`stop`."""
        self._server = bind_socket(self.socket_path)
        self._selector.register(self._server, selectors.EVENT_READ, None)
        self._wake_r.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, "wake")
        log.info("audit writer listening on %s", self.socket_path)
        if ready is not None:
            ready()
        try:
            self._loop(lambda: not self._stop.is_set())
            # Stopping: take no new connection, but serve the workers still connected until
            # they hang up (they exit after their last request) or the grace period ends.
            self._selector.unregister(self._server)
            self._server.close()
            deadline = time.monotonic() + self.drain_seconds
            self._loop(lambda: bool(self._peers) and time.monotonic() < deadline)
            while self._pending:
                self._write_batch()
        finally:
            self._close()

    def _loop(self, running: Callable[[], bool]) -> None:
        last_batch = 0
        while running():
            if self.parent_pid is not None and os.getppid() != self.parent_pid:
                # The process that started us is gone (killed outright): stop, or a new
                # server would find its socket taken by this orphan.
                log.warning("audit writer: parent process %s is gone; stopping",
                            self.parent_pid)
                self.stop()
            self._poll(0 if self._pending else 0.5)
            if not self._pending:
                continue
            self._poll(0)  # take whatever else is already waiting into this batch
            if last_batch > 1 or len(self._pending) > 1:
                self._linger()
            last_batch = min(len(self._pending), self.max_batch)
            self._write_batch()

    def _linger(self) -> None:
        """Under concurrent load, wait up to ``linger`` seconds for more events before
        committing (as PostgreSQL's ``commit_delay``): a commit costs about the same for one
        event as for fifty, so a little patience buys far fewer commits. A single client
        sending one request at a time never waits (its batches hold one event)."""
        deadline = time.monotonic() + self.linger
        while len(self._pending) < self.max_batch and not self._stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self._poll(remaining)

    def _poll(self, timeout: float) -> None:
        for key, events in self._selector.select(timeout):
            if key.data is None:
                self._accept()
            elif key.data == "wake":
                try:
                    self._wake_r.recv(64)
                except OSError:
                    pass
            else:
                peer: _Peer = key.data
                if events & selectors.EVENT_READ:
                    self._read(peer)
                if events & selectors.EVENT_WRITE and peer.sock.fileno() != -1:
                    self._flush(peer)

    def _accept(self) -> None:
        assert self._server is not None
        while True:
            try:
                sock, _ = self._server.accept()
            except (BlockingIOError, InterruptedError):
                return
            sock.setblocking(False)
            peer = _Peer(sock)
            self._peers.add(peer)
            self._selector.register(sock, selectors.EVENT_READ, peer)

    def _read(self, peer: _Peer) -> None:
        try:
            data = peer.sock.recv(1 << 20)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._drop(peer)
            return
        peer.inbox += data
        try:
            for message in decode_frames(peer.inbox):
                if not isinstance(message, dict) or not isinstance(message.get("n"), int):
                    raise ProtocolError("frame without a request number")
                self._pending.append((peer, message["n"], draft_from_wire(message.get("d"))))
        except ProtocolError as exc:
            log.warning("audit writer: closing a connection that sent a bad frame: %s", exc)
            self._drop(peer)

    def _drop(self, peer: _Peer) -> None:
        """Close a connection; its queued drafts are not written (nobody waits for them)."""
        self._peers.discard(peer)
        if peer.sock.fileno() != -1:
            self._selector.unregister(peer.sock)
            peer.sock.close()
        self._pending = [item for item in self._pending if item[0] is not peer]

    def _write_batch(self) -> None:
        batch, self._pending = (self._pending[:self.max_batch], self._pending[self.max_batch:])
        drafts = [draft for _, _, draft in batch]
        replies: dict[_Peer, list] = {}
        try:
            with self.engine.begin() as conn:
                stored = append_batch(conn, drafts)
                if self.in_batch is not None:
                    self.in_batch(conn, drafts)
        except Exception as exc:  # every waiting request learns its event is not stored
            log.exception("audit writer: batch of %d events failed", len(batch))
            failed: dict[_Peer, list[int]] = {}
            for peer, number, _ in batch:
                failed.setdefault(peer, []).append(number)
            for peer, numbers in failed.items():
                self._send(peer, {"failed": numbers, "error": exc.__class__.__name__})
            return
        self.batches += 1
        self.events += len(batch)
        for (peer, number, _), event in zip(batch, stored, strict=True):
            replies.setdefault(peer, []).append([number, event.id, event.seq, event.hash,
                                                 event.denied])
        for peer, acks in replies.items():
            self._send(peer, {"ok": acks})

    def _send(self, peer: _Peer, message: Any) -> None:
        if peer.sock.fileno() == -1:
            return
        peer.outbox += encode_frame(message)
        self._flush(peer)

    def _flush(self, peer: _Peer) -> None:
        try:
            sent = peer.sock.send(peer.outbox)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            self._drop(peer)
            return
        del peer.outbox[:sent]
        want = selectors.EVENT_READ | (selectors.EVENT_WRITE if peer.outbox else 0)
        self._selector.modify(peer.sock, want, peer)

    def _close(self) -> None:
        for key in list(self._selector.get_map().values()):
            key.fileobj.close()  # type: ignore[union-attr]
        if self._server is not None:
            self._server.close()
        self._selector.close()
        self._wake_w.close()
        try:
            self.socket_path.unlink()
        except FileNotFoundError:
            pass


def run_writer(engine: Engine, socket_path: str | os.PathLike[str], *,
               in_batch: BatchHook | None = None, linger: float = 0.001,
               ready: Callable[[], None] | None = None,
               exit_with_parent: bool = False) -> AuditWriterServer:
    """Run a writer in this process until SIGTERM or SIGINT (the ``kybgate audit writer``
    command) or, with ``exit_with_parent``, until the process that started it is gone;
    returns the stopped server (its counters)."""
    server = AuditWriterServer(engine, socket_path, in_batch=in_batch, linger=linger,
                               parent_pid=os.getppid() if exit_with_parent else None)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: server.stop())
    server.serve_forever(ready)
    return server


# --------------------------------------------------------------------------- the worker side

class AuditWriterClient:
    """A worker's connection to the host's audit writer, with the interface of
    :class:`~app.audit.batcher.AuditBatcher` (``submit``, ``append``, the counters)."""

    def __init__(self, socket_path: str | os.PathLike[str], *,
                 after_commit: CommitHook | None = None, connect_timeout: float = 2.0) -> None:
        self.socket_path = str(socket_path)
        self.after_commit = after_commit
        self.connect_timeout = connect_timeout
        self.batches = 0  # acknowledgement frames received (one per writer batch)
        self.events = 0
        self._reset()

    def _reset(self) -> None:
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._next = 0
        self._waiting: dict[int, tuple[EventDraft, Future[StoredEvent]]] = {}

    def submit(self, draft: EventDraft) -> Future[StoredEvent]:
        """Send ``draft``; the future resolves once the writer committed it."""
        if self._pid != os.getpid():  # forked: the parent's connection is not ours
            self._reset()
        future: Future[StoredEvent] = Future()
        # Serialised outside the lock; only the request number is added under it.
        body = json.dumps(draft_to_wire(draft), separators=(",", ":"), default=str).encode()
        with self._lock:
            try:
                sock = self._sock or self._connect()
                self._next += 1
                self._waiting[self._next] = (draft, future)
                message = b'{"n":%d,"d":%s}' % (self._next, body)
                sock.sendall(HEADER.pack(len(message)) + message)
            except OSError as exc:
                # Everything sent on this connection is lost with it, this draft included.
                self._disconnect(sock_error=exc)
                if not future.done():
                    future.set_exception(AuditUnavailable(f"audit writer unreachable: "
                                                          f"{exc.__class__.__name__}"))
        return future

    def append(self, draft: EventDraft, timeout: float = 30.0) -> StoredEvent:
        """Send ``draft`` and wait until it is committed; raise :class:`AuditUnavailable`."""
        return wait_committed(self.submit(draft), timeout)

    def close(self) -> None:
        """Close the connection (waiting requests fail)."""
        with self._lock:
            self._disconnect(sock_error=None)

    def _connect(self) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.connect_timeout)
        try:
            sock.connect(self.socket_path)
        except OSError:
            sock.close()
            raise
        sock.settimeout(None)
        self._sock = sock
        threading.Thread(target=self._read, args=(sock,), name="kyb-audit-acks",
                         daemon=True).start()
        return sock

    def _disconnect(self, sock_error: BaseException | None, sock: socket.socket | None = None
                    ) -> None:
        """Forget the connection (if it is still ``sock``) and fail every waiting request.
        The caller holds the lock."""
        if sock is not None and self._sock is not sock:
            return
        if self._sock is not None:
            try:  # shutdown first: close() alone leaves the reader thread's recv() blocked
                self._sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._sock.close()
            self._sock = None
        reason = sock_error.__class__.__name__ if sock_error else "connection closed"
        waiting, self._waiting = self._waiting, {}
        for _, future in waiting.values():
            if not future.done():
                future.set_exception(AuditUnavailable(f"audit writer connection lost: "
                                                      f"{reason}"))

    def _read(self, sock: socket.socket) -> None:
        buffer = bytearray()
        error: BaseException | None = None
        try:
            while True:
                data = sock.recv(1 << 16)
                if not data:
                    break
                buffer += data
                for message in decode_frames(buffer):
                    self._resolve(message)
        except (OSError, ProtocolError) as exc:
            error = exc
        with self._lock:
            self._disconnect(sock_error=error, sock=sock)

    def _resolve(self, message: Any) -> None:
        if not isinstance(message, dict):
            return
        done: list[tuple[EventDraft, StoredEvent]] = []
        with self._lock:
            for number, event_id, seq, digest, *denied in message.get("ok") or ():
                entry = self._waiting.pop(number, None)
                if entry is not None:
                    done.append((entry[0], StoredEvent(event_id, seq, digest,
                                                       denied[0] if denied else None)))
                    entry[1].set_result(done[-1][1])
            for number in message.get("failed") or ():
                entry = self._waiting.pop(number, None)
                if entry is not None:
                    entry[1].set_exception(AuditUnavailable(
                        f"audit batch failed: {message.get('error', 'error')}"))
        if done:
            self.batches += 1
            self.events += len(done)
        if done and self.after_commit is not None:
            try:
                self.after_commit([d for d, _ in done], [e for _, e in done])
            except Exception:  # monitoring must never hold up or fail the audit path
                log.exception("after-commit hook failed")


def writer_reachable(socket_path: str, timeout: float = 1.0) -> bool:
    """Whether an audit writer accepts connections on ``socket_path`` (``/readyz``)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(socket_path)
        return True
    except OSError:
        return False
    finally:
        sock.close()


__all__ = ["AuditWriterClient", "AuditWriterServer", "ProtocolError",
           "bind_socket", "decode_frames", "draft_from_wire", "draft_to_wire", "encode_frame",
           "run_writer", "writer_reachable"]
