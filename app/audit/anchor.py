"""Anchors of the audit chain's head, kept outside the database (R-B5: tamper-evident trail).

The hash chain shows any edit, insertion or deletion *inside* the trail, but not the removal of
its newest events: a shortened chain is still a valid chain. An anchor records the head
(``seq``, ``hash``) at a moment, signed with an HMAC under a key derived from
``KYB_SECRET_KEY``; ``kybgate audit verify`` then checks that every anchored event is still
there with the same hash. So whoever can rewrite the database can no longer silently cut off
its tail, unless they can also rewrite the anchors.

Anchors are appended (and fsynced) to a JSON-lines file (``KYB_AUDIT_ANCHOR_FILE``, by default
``audit-anchors.jsonl`` in the instance folder) and written to the log, one line each, for a
log pipeline or SIEM to keep. Put the file where the database's administrators cannot rewrite
it (another host, a WORM bucket mount); the host's audit writer adds one every
``KYB_AUDIT_ANCHOR_SECONDS`` while the trail grows, and ``kybgate audit anchor`` adds one now.
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

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from app.audit.trail import chain_head

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
    """The chain's head at ``at``, signed."""

    seq: int
    hash: str
    at: dt.datetime
    mac: str

    @staticmethod
    def sign(key: bytes, seq: int, digest: str, at: dt.datetime) -> Anchor:
        at = at.astimezone(dt.UTC).replace(microsecond=0)
        return Anchor(seq, digest, at, _mac(key, seq, digest, at))

    def valid(self, key: bytes) -> bool:
        return hmac.compare_digest(self.mac, _mac(key, self.seq, self.hash, self.at))

    def line(self) -> str:
        return json.dumps({"seq": self.seq, "hash": self.hash,
                           "at": self.at.isoformat().replace("+00:00", "Z"), "mac": self.mac},
                          separators=(",", ":"))


def _mac(key: bytes, seq: int, digest: str, at: dt.datetime) -> str:
    message = f"{seq}|{digest}|{at.astimezone(dt.UTC).isoformat()}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


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
            anchors.append(Anchor(int(raw["seq"]), str(raw["hash"]), at, str(raw["mac"])))
        except (ValueError, KeyError, TypeError):
            raise AnchorFileError(f"{file}: line {number} is not an anchor") from None
    return anchors


def write_anchor(engine: Engine, path: str | os.PathLike[str], key: bytes, now: dt.datetime,
                 *, force: bool = False) -> Anchor | None:
    """Append an anchor of the current head to ``path`` (fsynced) and log it; None when the
    trail is empty or, unless ``force``, the last anchor already holds this head."""
    with engine.connect() as conn:
        seq, digest = chain_head(conn)
    if seq == 0:
        return None
    file = Path(path)
    last = _last_line(file)
    if not force and last is not None and f'"seq":{seq},' in last:
        return None
    anchor = Anchor.sign(key, seq, digest, now)
    file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, (anchor.line() + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    log.info("audit anchor %s", anchor.line())
    return anchor


def _last_line(file: Path) -> str | None:
    if not file.exists():
        return None
    with file.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        handle.seek(max(0, handle.tell() - 512))
        lines = handle.read().decode("utf-8", "replace").strip().splitlines()
    return lines[-1] if lines else None


@dataclass(frozen=True)
class AnchorReport:
    """The outcome of checking the trail against its anchors."""

    ok: bool
    checked: int
    problem: str | None = None

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def check_anchors(anchors: Sequence[Anchor], key: bytes,
                  hash_at: Callable[[int], str | None]) -> AnchorReport:
    """Every anchor must be genuine and its event still in the trail with the same hash."""
    for count, anchor in enumerate(anchors):
        when = f"{anchor.at:%Y-%m-%d %H:%M:%S}Z"
        if not anchor.valid(key):
            return AnchorReport(False, count, f"the anchor of seq {anchor.seq} ({when}) has a "
                                              f"bad signature (forged, or signed with another "
                                              f"secret key)")
        stored = hash_at(anchor.seq)
        if stored is None:
            return AnchorReport(False, count, f"event seq {anchor.seq}, anchored at {when}, is "
                                              f"gone: the trail was cut short")
        if not hmac.compare_digest(stored, anchor.hash):
            return AnchorReport(False, count, f"event seq {anchor.seq} no longer has the hash "
                                              f"anchored at {when}: the trail was rewritten")
    return AnchorReport(True, len(anchors))


def verify_anchors(engine: Engine, path: str | os.PathLike[str], key: bytes) -> AnchorReport:
    """:func:`check_anchors` against the stored trail (the anchored events' hashes are read
    500 at a time: a year of one anchor a minute is about 500,000 lines)."""
    anchors = read_anchors(path)
    seqs = sorted({a.seq for a in anchors})
    stored: dict[int, str] = {}
    with engine.connect() as conn:
        for start in range(0, len(seqs), 500):
            rows = conn.execute(_AT_SQL, {"seqs": seqs[start:start + 500]})
            stored.update((int(seq), digest) for seq, digest in rows)
    return check_anchors(anchors, key, stored.get)


class Anchorer:
    """Writes an anchor every ``interval`` seconds while the trail grows, on its own thread
    (the audit writer process runs one), and a last one when stopped."""

    def __init__(self, engine: Engine, path: str | os.PathLike[str], key: bytes,
                 interval: float) -> None:
        self.engine, self.path, self.key, self.interval = engine, path, key, interval
        self.written = 0
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
            if write_anchor(self.engine, self.path, self.key, dt.datetime.now(dt.UTC)):
                self.written += 1
        except Exception:  # an anchor is evidence, not a reason to stop committing events
            log.exception("audit anchor not written")


__all__ = ["Anchor", "AnchorFileError", "AnchorReport", "Anchorer", "anchor_key",
           "check_anchors", "read_anchors", "verify_anchors", "write_anchor"]
