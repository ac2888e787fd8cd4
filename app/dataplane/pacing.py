"""The workers never run far ahead of the audit trail (issue #14 item 2, R-B5): when the host's
audit writer falls behind, each verification waits a little before it is judged, so that the
events it ships reach the database within ``KYB_AUDIT_MAX_LAG`` seconds (default 1) however
hard the host is pushed.

Without it the journals take whatever the workers answer: under sustained load that the writer
cannot follow (it shares the host's cores with the workers) the shipping lag grew without
bound, 0.5 s for every second of load on the 2-core bench machine, and with it the delay
before ``GET /api/v1/audit``, the anomaly monitors and the running figures see a verification.
Every event was still durable in its journal; what the lag cost was their *timeliness*.

How: the writer publishes, at the start of every round, the age of the oldest event it found
waiting and when it looked (:class:`WriterClock`: 16 bytes of shared memory in the journal
folder). A worker's estimate of the lag now is that age plus the time since; once it passes
the bound each verification sleeps, from nothing at the bound to :data:`MAX_DELAY_SECONDS`
(``delay = (estimate - bound) * GAIN``: 10 ms at half a second over). The sleep gives the CPU
to the writer; the answers slow down until it keeps up. Below the bound nothing waits: a
writer round under load takes a few hundred milliseconds, so the lag of a host that keeps up
moves between 0.1 and 0.7 s (measured on the 2-core bench machine). A writer that has not
published for :data:`STALE_SECONDS` is down (``kybgate serve`` restarts it, ``/readyz`` says
so): then nothing waits, as before; the journals hold the events.

``KYB_AUDIT_MAX_LAG=0`` turns pacing off.
"""

from __future__ import annotations

import mmap
import os
import struct
import time

from app import turnstile

FILE_NAME = "writer.clock"
MAX_DELAY_SECONDS = 0.05  # one request's longest wait
GAIN = 0.02  # seconds of wait per second of lag over the bound
STALE_SECONDS = 5.0  # a writer silent this long is down: nothing waits for it
_CLOCK = struct.Struct("<dd")  # (published at: epoch seconds, lag then: seconds)


class WriterClock:
    """The writer's last word on its lag, shared by every process of the host through
    ``<journal folder>/writer.clock`` (created on first use)."""

    def __init__(self, directory: str) -> None:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        fd = os.open(os.path.join(directory, FILE_NAME), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if os.fstat(fd).st_size < _CLOCK.size:
                os.ftruncate(fd, _CLOCK.size)
            self._map = mmap.mmap(fd, _CLOCK.size)  # keeps a descriptor of its own
        finally:
            os.close(fd)

    def publish(self, lag_seconds: float, at: float | None = None) -> None:
        """The writer: the oldest event waiting is ``lag_seconds`` old (0: none waits)."""
        _CLOCK.pack_into(self._map, 0, time.time() if at is None else at, max(0.0, lag_seconds))

    def read(self) -> tuple[float, float]:
        """(when the writer last published, the lag it published); (0, 0) if it never did.
        A read racing a write may mix the two; the next request reads again."""
        return _CLOCK.unpack_from(self._map, 0)

    def close(self) -> None:
        """Unmap the file."""
        self._map.close()


class Pacing:
    """A worker's side: how long a verification waits before it is judged."""

    def __init__(self, clock: WriterClock, max_lag_seconds: float) -> None:
        self.clock = clock
        self.max_lag = max(0.0, max_lag_seconds)

    def estimate(self, now: float) -> float | None:
        """The shipping lag now as far as this host knows; None if the writer is down."""
        published_at, lag = self.clock.read()
        if published_at <= 0 or now - published_at > STALE_SECONDS:
            return None
        return lag + max(0.0, now - published_at)

    def delay(self, now: float | None = None) -> float:
        """Seconds to wait now (0 when the writer keeps up, is down, or pacing is off)."""
        if not self.max_lag:
            return 0.0
        estimate = self.estimate(time.time() if now is None else now)
        if estimate is None:
            return 0.0
        excess = estimate - self.max_lag
        return 0.0 if excess <= 0 else min(MAX_DELAY_SECONDS, excess * GAIN)

    def wait(self) -> float:
        """Sleep :meth:`delay` (releasing the CPU); the seconds slept."""
        pause = self.delay()
        if pause:
            turnstile.step_aside()  # the wait slows this request, not the worker's others
            time.sleep(pause)
        return pause
