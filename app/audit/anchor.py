"""Anchors of the audit chain's head, kept outside the database (R-B5: tamper-evident trail).

The hash chain shows any edit, insertion or deletion *inside* the trail, but not the removal of
its newest events: a shortened chain is still a valid chain. An anchor records the head
(``seq``, ``hash``) at a moment, signed with an HMAC under a key derived from
``KYB_SECRET_KEY``; ``kybgate audit verify`` then checks that every anchored event is still
there with the same hash. So whoever can rewrite the database can no longer silently cut off
its tail, unless they can also rewrite the anchors.

Anchors are appended to a JSON-lines file (``KYB_AUDIT_ANCHOR_FILE``, by default
``audit-anchors.jsonl`` in the instance folder). Every commit that appends events anchors its
last event (:class:`AnchorSink`: one ``write`` of one line, no fsync, so a trail can never be
cut back to before its last commit unseen); the host's audit writer also adds a fsynced,
logged anchor every ``KYB_AUDIT_ANCHOR_SECONDS`` for a log pipeline or SIEM to keep, and
``kybgate audit anchor`` adds one now. Put the file where the database's administrators cannot
rewrite it (another host, a WORM bucket mount).

Each anchor names its chain (``chain``: the hash of the trail's first event), so two databases
that share a file never take each other's anchors for forgeries. ``kybgate audit verify``
fails when the trail has events but the file holds no anchor of its chain (a deleted or
emptied file), unless told ``--no-anchors``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from app.audit.trail import HEAD_INFO, chain_head

log = logging.getLogger("kybgate.audit.anchor")
_AT_SQL = sa.text("SELECT seq, hash FROM audit_event WHERE seq IN :seqs").bindparams(
    sa.bindparam("seqs", expanding=True))


class AnchorFileError(ValueError):
    """An anchor file that cannot be read as anchors (names the line)."""


def anchor_key(secret_key: str) -> bytes:
    """The anchors' HMAC key, derived from the application secret (never the secret itself)."""
    return hmac.new(secret_key.encode(), b"kybgate audit anchor v1", hashlib.sha256).digest()


@dataclass(frozen=True)
class Anchor:
    """The chain's head at ``at``, signed; ``chain`` is the hash of the chain's first event
    (None on anchors written before chains were named)."""

    seq: int
    hash: str
    at: dt.datetime
    mac: str
    chain: str | None = None

    @staticmethod
    def sign(key: bytes, seq: int, digest: str, at: dt.datetime,
             chain: str | None = None) -> Anchor:
        at = at.astimezone(dt.UTC).replace(microsecond=0)
        return Anchor(seq, digest, at, _mac(key, seq, digest, at, chain), chain)

    def valid(self, key: bytes) -> bool:
        return hmac.compare_digest(self.mac, _mac(key, self.seq, self.hash, self.at, self.chain))

    def line(self) -> str:
        data: dict[str, object] = {"seq": self.seq, "hash": self.hash,
                                   "at": self.at.isoformat().replace("+00:00", "Z"),
                                   "mac": self.mac}
        if self.chain is not None:
            data["chain"] = self.chain
        return json.dumps(data, separators=(",", ":"))


def _mac(key: bytes, seq: int, digest: str, at: dt.datetime, chain: str | None = None) -> str:
    message = f"{seq}|{digest}|{at.astimezone(dt.UTC).isoformat()}"
    if chain is not None:
        message = f"v2|{chain}|{message}"
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


_FIRST_SQL = sa.text("SELECT hash FROM audit_event WHERE seq = 1")


def chain_id(conn: sa.Connection) -> str | None:
    """The identity of the trail in ``conn``: its first event's hash (None when empty)."""
    return conn.execute(_FIRST_SQL).scalar()


def read_anchors(path: str | os.PathLike[str]) -> list[Anchor]:
    """Every anchor in ``path`` (none if the file does not exist)."""
    file = Path(path)
    if not file.exists():
        return []
    anchors = []
    for number, text in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
        if not text.strip():
            continue
        try:
            raw = json.loads(text)
            at = dt.datetime.fromisoformat(str(raw["at"]).replace("Z", "+00:00"))
            chain = raw.get("chain")
            anchors.append(Anchor(int(raw["seq"]), str(raw["hash"]), at, str(raw["mac"]),
                                  None if chain is None else str(chain)))
        except (ValueError, KeyError, TypeError):
            raise AnchorFileError(f"{file}: line {number} is not an anchor") from None
    return anchors


def write_anchor(engine: Engine, path: str | os.PathLike[str], key: bytes, now: dt.datetime,
                 *, after: int | None = None) -> Anchor | None:
    """Append an anchor of the current head to ``path`` (fsynced) and log it; None when the
    trail is empty or its head is not past ``after`` (nothing new since that anchor)."""
    with engine.connect() as conn:
        seq, digest = chain_head(conn)
        chain = chain_id(conn) if seq else None
    if seq == 0 or (after is not None and seq <= after):
        return None
    anchor = Anchor.sign(key, seq, digest, now, chain)
    _append(Path(path), anchor.line(), fsync=True)
    log.info("audit anchor %s", anchor.line())
    return anchor


def _append(file: Path, line: str, *, fsync: bool) -> None:
    file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, (line + "\n").encode())  # one write: lines of processes never interleave
        if fsync:
            os.fsync(fd)
    finally:
        os.close(fd)


class AnchorSink:
    """Anchors the last event of every commit that appended events (issue #13 item 6), so
    deleting the newest events is caught however recent they are.

    One ``write`` of one line per commit, without fsync (the periodic :class:`Anchorer`
    fsyncs); the chain's name is read once and cached (a trail that starts again at seq 1
    names itself anew)."""

    def __init__(self, path: str | os.PathLike[str], key: bytes) -> None:
        self.path, self.key = Path(path), key
        self._chain: str | None = None
        self._last = 0
        self._lock = threading.Lock()

    def committed(self, engine: Engine, seq: int, digest: str, *,
                  first_hash: str | None = None) -> None:
        """Anchor event ``seq`` (hash ``digest``) that a commit just made durable;
        ``first_hash`` is the hash of seq 1 when the commit wrote it."""
        try:
            with self._lock:
                if first_hash is not None:
                    self._chain, self._last = first_hash, 0
                elif self._chain is None:
                    with engine.connect() as conn:
                        self._chain = chain_id(conn)
                if seq <= self._last:
                    return
                self._last = seq
                line = Anchor.sign(self.key, seq, digest, dt.datetime.now(dt.UTC),
                                   self._chain).line()
            _append(self.path, line, fsync=False)
        except Exception:  # an anchor is evidence, never a reason to fail a committed change
            log.exception("audit anchor of seq %s not written", seq)


def default_anchor_file(config: Any) -> str:
    """``KYB_AUDIT_ANCHOR_FILE``, else ``audit-anchors.jsonl`` in the instance folder."""
    return config.audit_anchor_file or os.path.join(config.instance_path, "audit-anchors.jsonl")


_sinks: dict[str, AnchorSink] = {}


def _engine_key(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def register_sink(engine: Engine, sink: AnchorSink) -> None:
    """Anchor every commit of events to ``engine``'s database through ``sink``."""
    _sinks[_engine_key(engine)] = sink


def anchor_committed(engine: Engine, seq: int, digest: str, *,
                     first_hash: str | None = None) -> None:
    """Tell the sink of ``engine``'s database (if any) that ``seq`` is committed."""
    sink = _sinks.get(_engine_key(engine))
    if sink is not None:
        sink.committed(engine, seq, digest, first_hash=first_hash)


@event.listens_for(Session, "after_commit")
def _anchor_session_commit(session: Session) -> None:
    # SQLAlchemy also fires ``after_commit`` when a SAVEPOINT is released: the outer
    # transaction still holds the database (on SQLite, the write lock), so the event is not
    # committed yet, and the sink's own connection would wait for that lock while holding it
    # (seen: every writer of a ``kybgate serve`` stalled for 30 s when an alert was opened).
    if session.get_nested_transaction() is not None:
        return
    head = session.info.pop(HEAD_INFO, None)
    if head is not None:
        anchor_committed(session.get_bind(), head[0], head[1], first_hash=head[2])


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back(session: Session, previous_transaction: Any) -> None:
    if previous_transaction.parent is None and not previous_transaction.nested:
        session.info.pop(HEAD_INFO, None)


def last_anchor(path: str | os.PathLike[str]) -> int:
    """The seq of the newest anchor in ``path`` (0 when there is none): how far the trail is
    anchored outside the database (``/metrics`` and the Reports page read it)."""
    file = Path(path)
    if not file.exists():
        return 0
    with file.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        handle.seek(max(0, handle.tell() - 1024))
        lines = handle.read().decode("utf-8", "replace").strip().splitlines()
    try:
        return int(json.loads(lines[-1])["seq"]) if lines else 0
    except (ValueError, KeyError, TypeError):
        return 0


@dataclass(frozen=True)
class AnchorReport:
    """The outcome of checking the trail against its anchors: ``checked`` anchors of this
    chain held before ``problem``; ``other_chains`` lines belong to other databases."""

    ok: bool
    checked: int
    problem: str | None = None
    other_chains: int = 0

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def check_anchors(anchors: Sequence[Anchor], key: bytes,
                  hash_at: Callable[[int], str | None]) -> AnchorReport:
    """Every anchor must be genuine and its event still in the trail with the same hash.

    Anchors are checked in ``seq`` order, so the first that fails brackets the first edited
    or missing event: after the last anchored event that still holds, at or before this one."""
    held = 0  # the highest seq whose anchored hash still holds
    for count, anchor in enumerate(sorted(anchors, key=lambda a: (a.seq, a.at))):
        when = f"{anchor.at:%Y-%m-%d %H:%M:%S}Z"
        if not anchor.valid(key):
            return AnchorReport(False, count, f"the anchor of seq {anchor.seq} ({when}) has a "
                                              f"bad signature (forged, or signed with another "
                                              f"secret key)")
        stored = hash_at(anchor.seq)
        if stored is None:
            return AnchorReport(False, count, f"event seq {anchor.seq}, anchored at {when}, is "
                                              f"gone: the trail was cut short after seq "
                                              f"{held}{_first(held, anchor.seq)}")
        if not hmac.compare_digest(stored, anchor.hash):
            return AnchorReport(False, count, f"event seq {anchor.seq} no longer has the hash "
                                              f"anchored at {when}: the trail was rewritten"
                                              f"{_first(held, anchor.seq)}")
        held = max(held, anchor.seq)
    return AnchorReport(True, len(anchors))


def _first(held: int, seq: int) -> str:
    if seq == held + 1:
        return f"; the first edited or missing event is seq {seq}"
    return f"; the first edited or missing event is one of seq {held + 1}-{seq}"


def verify_anchors(engine: Engine, path: str | os.PathLike[str], key: bytes) -> AnchorReport:
    """:func:`check_anchors` against the stored trail, for the anchors of this trail's chain
    (and unnamed ones written before chains were named). A trail with events but no anchor of
    its chain fails: a deleted or emptied anchor file proves nothing. The anchored events'
    hashes are read 500 at a time (a year of one anchor a commit is large)."""
    with engine.connect() as conn:
        head, _ = chain_head(conn)
        chain = chain_id(conn) if head else None
    everything = read_anchors(path)
    anchors = [a for a in everything if a.chain is None or a.chain == chain]
    others = len(everything) - len(anchors)
    if head and not anchors:
        where = "is empty" if Path(path).exists() else "does not exist"
        return AnchorReport(False, 0, f"the trail has {head} events but the anchor file {path} "
                                      f"{where} or holds no anchor of this chain: nothing proves "
                                      f"the trail whole (run `kybgate audit anchor` to start "
                                      f"anchoring, or --no-anchors to skip the check)", others)
    seqs = sorted({a.seq for a in anchors})
    stored: dict[int, str] = {}
    with engine.connect() as conn:
        for start in range(0, len(seqs), 500):
            rows = conn.execute(_AT_SQL, {"seqs": seqs[start:start + 500]})
            stored.update((int(seq), digest) for seq, digest in rows)
    report = check_anchors(anchors, key, stored.get)
    return AnchorReport(report.ok, report.checked, report.problem, others)


class Anchorer:
    """Writes an anchor every ``interval`` seconds while the trail grows, on its own thread
    (the audit writer process runs one), and a last one when stopped."""

    def __init__(self, engine: Engine, path: str | os.PathLike[str], key: bytes,
                 interval: float) -> None:
        self.engine, self.path, self.key, self.interval = engine, path, key, interval
        self.written = 0
        self._last: int | None = None  # the seq this anchorer last anchored
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kyb-audit-anchor", daemon=True)

    def start(self) -> Anchorer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._once()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._once()

    def _once(self) -> None:
        try:
            anchor = write_anchor(self.engine, self.path, self.key, dt.datetime.now(dt.UTC),
                                  after=self._last)
            if anchor is not None:
                self.written, self._last = self.written + 1, anchor.seq
        except Exception:  # an anchor is evidence, not a reason to stop committing events
            log.exception("audit anchor not written")


__all__ = ["Anchor", "AnchorFileError", "AnchorReport", "AnchorSink", "Anchorer",
           "anchor_committed", "anchor_key", "chain_id", "check_anchors", "default_anchor_file",
           "last_anchor", "read_anchors", "register_sink", "verify_anchors", "write_anchor"]
