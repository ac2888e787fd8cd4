"""Per-client-IP rate limit of login attempts (issue #13 item 8), shared by every process that
serves the app:

* with ``KYB_REDIS_URL``: in Redis, shared by every worker on every host;
* without Redis: in a small SQLite file in the instance folder (``login-attempts.sqlite3``),
  shared by every gunicorn worker of the host; each hit is one ``BEGIN IMMEDIATE``
  transaction, so concurrent workers never lose a count. Several hosts without Redis each count
  on their own (deploy Redis to share the limit between hosts);
* only if neither is usable (Redis down and the file unwritable): in this process, with a
  warning, so an outage neither opens nor closes logins.

Fixed windows keep it to one increment per attempt. The key is the real client address:
``X-Forwarded-For``/``X-Real-IP`` count only when the socket peer is in
``KYB_TRUSTED_PROXIES`` (``login_client_ip``), so a client cannot rotate its key with them.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

from api_keys.client_ip import resolve_client_ip
from api_keys.results import Failure
from api_keys.whitelist import NetworkSet

log = logging.getLogger(__name__)

FILE_NAME = "login-attempts.sqlite3"
_SCHEMA = ("CREATE TABLE IF NOT EXISTS login_attempt (key TEXT NOT NULL, bucket INTEGER NOT NULL,"
           " count INTEGER NOT NULL, PRIMARY KEY (key, bucket))")


class LoginRateLimiter:
    """At most ``limit`` attempts per ``window`` seconds per key (a client IP)."""

    def __init__(self, *, limit: int = 20, window: int = 300, redis_url: str | None = None,
                 shared_file: str | Path | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self._redis = None
        if redis_url:
            import redis
            self._redis = redis.Redis.from_url(redis_url, socket_timeout=0.5,
                                               socket_connect_timeout=0.5)
        self.shared_file = Path(shared_file) if shared_file else None
        self._counts: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> bool:
        """Count one attempt for ``key``; False when the limit for this window is exceeded."""
        bucket = int(self.clock()) // self.window
        if self._redis is not None:
            try:
                return self._hit_redis(key, bucket) <= self.limit
            except Exception:  # noqa: BLE001 - a Redis outage must not open or close logins
                log.warning("login rate limit: Redis unavailable, counting on this host")
        if self.shared_file is not None:
            try:
                return self._hit_file(key, bucket) <= self.limit
            except (sqlite3.Error, OSError) as exc:
                log.warning("login rate limit: %s unusable (%s), counting in process",
                            self.shared_file, exc)
        return self._hit_process(key, bucket) <= self.limit

    def _hit_process(self, key: str, bucket: int) -> int:
        with self._lock:
            for old in [k for k in self._counts if k[1] < bucket]:
                del self._counts[old]
            count = self._counts.get((key, bucket), 0) + 1
            self._counts[(key, bucket)] = count
        return count

    def _hit_redis(self, key: str, bucket: int) -> int:
        name = f"kyb:login:{key}:{bucket}"
        pipe = self._redis.pipeline()
        pipe.incr(name)
        pipe.expire(name, self.window * 2)
        count, _ = pipe.execute()
        return int(count)

    def _connect(self) -> sqlite3.Connection:
        assert self.shared_file is not None  # noqa: S101 - only called when configured
        self.shared_file.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.shared_file, timeout=5, isolation_level=None)
        conn.execute(_SCHEMA)
        return conn

    def _hit_file(self, key: str, bucket: int) -> int:
        with closing(self._connect()) as conn:
            conn.execute("BEGIN IMMEDIATE")  # one writer at a time across processes
            try:
                conn.execute("DELETE FROM login_attempt WHERE bucket < ?", (bucket,))
                conn.execute("INSERT INTO login_attempt (key, bucket, count) VALUES (?, ?, 1) "
                             "ON CONFLICT (key, bucket) DO UPDATE SET count = count + 1",
                             (key, bucket))
                count = conn.execute("SELECT count FROM login_attempt WHERE key = ? AND "
                                     "bucket = ?", (key, bucket)).fetchone()[0]
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return int(count)

    def reset(self) -> None:
        """Forget the counts of this process and of the shared file (tests)."""
        with self._lock:
            self._counts.clear()
        if self.shared_file is not None and self.shared_file.exists():
            with closing(self._connect()) as conn:
                conn.execute("DELETE FROM login_attempt")


def client_key(peer: str | None, x_forwarded_for: str | None, x_real_ip: str | None,
               trusted_proxies: tuple[str, ...]) -> str:
    """The rate-limit key of a request: its real client address as resolved behind
    ``trusted_proxies``. Forwarding headers from any other peer are ignored; a trusted proxy
    that passes on garbage is keyed by its own address (its clients share one budget)."""
    resolved = resolve_client_ip(peer or "", x_forwarded_for, x_real_ip,
                                 NetworkSet.parse(trusted_proxies))
    if isinstance(resolved, Failure):
        return f"unresolved:{peer or 'unknown'}"
    return str(resolved)


def login_client_ip() -> str:
    """``client_key`` of the current Flask request, with the app's ``KYB_TRUSTED_PROXIES``."""
    from flask import request

    from app.extensions import settings
    xff = ",".join(request.headers.getlist("X-Forwarded-For")) or None
    return client_key(request.remote_addr, xff, request.headers.get("X-Real-IP"),
                      settings().trusted_proxies)
