"""Per-client-IP rate limit of login attempts: in Redis when ``KYB_REDIS_URL`` is set (shared
by every app process), else in this process. Fixed windows keep it to one INCR per attempt."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class LoginRateLimiter:
    """At most ``limit`` attempts per ``window`` seconds per key (a client IP)."""

    def __init__(self, *, limit: int = 20, window: int = 300, redis_url: str | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self._redis = None
        if redis_url:
            import redis
            self._redis = redis.Redis.from_url(redis_url, socket_timeout=0.5,
                                               socket_connect_timeout=0.5)
        self._counts: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> bool:
        """Count one attempt for ``key``; False when the limit for this window is exceeded."""
        bucket = int(self.clock()) // self.window
        if self._redis is not None:
            try:
                return self._hit_redis(key, bucket)
            except Exception:  # noqa: BLE001 - a Redis outage must not open or close logins
                log.warning("login rate limit: Redis unavailable, counting in process")
        with self._lock:
            for old in [k for k in self._counts if k[1] < bucket]:
                del self._counts[old]
            count = self._counts.get((key, bucket), 0) + 1
            self._counts[(key, bucket)] = count
        return count <= self.limit

    def _hit_redis(self, key: str, bucket: int) -> bool:
        name = f"kyb:login:{key}:{bucket}"
        pipe = self._redis.pipeline()
        pipe.incr(name)
        pipe.expire(name, self.window * 2)
        count, _ = pipe.execute()
        return int(count) <= self.limit

    def reset(self) -> None:
        """Forget the in-process counts (tests)."""
        with self._lock:
            self._counts.clear()
