"""Benchmark: exact caps in host-shared memory (``app.dataplane.spend``; issue #14 item 3).

Usage: ``python bench/spend.py [--iterations N] [--seconds S] [--processes P] [--threads T]
[--database-url URL]``

1. **Lease hit**, one thread: µs per ``HostSpend.charge`` when the host's unspent lease covers
   the amount — one total (a key's daily limit), and a live request's three (key daily,
   merchant daily, merchant monthly) — p50/p99 per call, the fastest 100-call batch (the cost
   when no other process takes the core) and µs per charge. Target (issue #14 helper brief):
   < 20 µs per charge. Beside it, the floor it pays: one slot's fcntl lock and
   unlock (two system calls), timed alone.
2. **Throughput**: charges/s with P processes × T threads mapping one ``spend.map`` for S
   seconds: all threads on one merchant's totals (every charge contends for the same slots),
   then each thread on a merchant of its own.
3. **Exactness** (benchmark (d) of issue #14, in process): two hosts (two map files) on one
   database, 8 threads each, 100 charges of 10 TRY each against a daily cap of 1,000 TRY:
   allowed must be exactly 100.

A temporary SQLite database by default (``--database-url`` for PostgreSQL: give a database of
your own, the bench creates the schema with ``alembic upgrade head``). The load average is
printed beside the figures: the machine is shared.
"""

from __future__ import annotations

import argparse
import datetime as dt
import fcntl
import multiprocessing
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api_keys.limits import Charge  # noqa: E402
from app.dataplane.spend import HostSpend  # noqa: E402
from app.dataplane.spend_table import _FLOCK, HEADER_SIZE, SLOT_SIZE  # noqa: E402
from app.db import make_engine  # noqa: E402
from app.migrate import upgrade  # noqa: E402

AT = dt.datetime(2026, 11, 27, 12, tzinfo=dt.UTC)
BIG = Decimal(10) ** 11
FORK = multiprocessing.get_context("fork")


def request_charges(merchant: str, amount: Decimal, limit: Decimal = BIG) -> list[Charge]:
    """A live request's charges: the key's daily limit, the merchant's daily and monthly."""
    return [Charge(f"key:key_{merchant}", "day", "TRY", amount, limit, "2026-11-27"),
            Charge(f"merchant:{merchant}", "day", "TRY", amount, limit, "2026-11-27"),
            Charge(f"merchant:{merchant}", "month", "TRY", amount, limit, "2026-11")]


def _timed(call, iterations: int) -> list[float]:
    samples = []
    for _ in range(iterations):
        started = time.perf_counter_ns()
        call()
        samples.append((time.perf_counter_ns() - started) / 1000)
    return samples


def _best_batch(call, iterations: int, size: int = 100) -> float:
    """µs per call in the fastest batch of ``size`` calls: what the call costs while no other
    process takes the core (the machine is shared; p50 includes their time slices)."""
    best = float("inf")
    for _ in range(max(1, iterations // size)):
        started = time.perf_counter_ns()
        for _ in range(size):
            call()
        best = min(best, (time.perf_counter_ns() - started) / 1000 / size)
    return best


def _p(samples: list[float], q: float) -> float:
    return sorted(samples)[min(len(samples) - 1, int(len(samples) * q))]


def lease_hit(folder: Path, url: str, iterations: int) -> None:
    engine = make_engine(url)
    host = HostSpend(folder / "hit" / "spend.map", engine)
    one = [request_charges("mer_hit", Decimal("12.5"))[0]]
    three = request_charges("mer_hit", Decimal("12.5"))
    for charges in (one, three):  # the first lease, outside the timing
        assert host.charge(charges, AT).allowed
    fd = host.table._fd
    lock = _FLOCK.pack(fcntl.F_WRLCK, os.SEEK_SET, HEADER_SIZE, SLOT_SIZE, 0)
    unlock = _FLOCK.pack(fcntl.F_UNLCK, os.SEEK_SET, HEADER_SIZE, SLOT_SIZE, 0)

    def floor() -> None:
        fcntl.fcntl(fd, fcntl.F_OFD_SETLKW, lock)
        fcntl.fcntl(fd, fcntl.F_OFD_SETLK, unlock)

    print("1. lease hit, one thread (µs)")
    for name, call, per in (("fcntl lock+unlock", floor, 1),
                            ("charge, 1 total", lambda: host.charge(one, AT), 1),
                            ("charge, 3 totals", lambda: host.charge(three, AT), 3)):
        _timed(call, iterations // 10)  # warm up
        samples = _timed(call, iterations)
        best = _best_batch(call, iterations)
        print(f"   {name:18s} p50 {_p(samples, .5):7.2f}  p99 {_p(samples, .99):7.2f}  "
              f"mean {statistics.fmean(samples):7.2f}  best batch {best:7.2f}  "
              f"per charge p50 {_p(samples, .5) / per:6.2f} best {best / per:6.2f}")
    host.close()
    engine.dispose()


def _throughput_process(path: str, url: str, threads: int, seconds: float, shared: bool,
                        index: int, start, out) -> None:
    engine = make_engine(url)
    host = HostSpend(path, engine)
    counts = [0] * threads

    def run(n: int) -> None:
        merchant = "mer_shared" if shared else f"mer_{index}_{n}"
        charges = request_charges(merchant, Decimal("1.25"))
        start.wait()
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            for _ in range(50):
                assert host.charge(charges, AT).allowed
            counts[n] += 50

    workers = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    out.put(sum(counts))
    host.close()
    engine.dispose()


def throughput(folder: Path, url: str, processes: int, threads: int, seconds: float) -> None:
    print(f"2. throughput, {processes} processes x {threads} threads, {seconds:g} s, "
          "3 totals per request")
    for shared in (True, False):
        start, out = FORK.Event(), FORK.Queue()
        path = str(folder / ("shared" if shared else "own") / "spend.map")
        workers = [FORK.Process(target=_throughput_process, args=(
            path, url, threads, seconds, shared, n, start, out)) for n in range(processes)]
        for worker in workers:
            worker.start()
        time.sleep(1.0)  # let every thread reach the start line
        start.set()
        requests = sum(out.get(timeout=seconds + 120) for _ in workers)
        for worker in workers:
            worker.join()
        label = "one merchant (contended)" if shared else "a merchant per thread"
        print(f"   {label:26s} {requests / seconds:9.0f} requests/s  "
              f"{3 * requests / seconds:9.0f} charges/s")


def _exact_process(path: str, url: str, start, out) -> None:
    engine = make_engine(url)
    host = HostSpend(path, engine)
    allowed = [0] * 8
    charge = [Charge("merchant:mer_exact", "day", "TRY", Decimal(10), Decimal(1000),
                     "2026-11-27")]

    def run(n: int) -> None:
        start.wait()
        for _ in range(100 // 8 + (1 if n < 100 % 8 else 0)):
            allowed[n] += host.charge(charge, AT).allowed

    workers = [threading.Thread(target=run, args=(n,)) for n in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    out.put(sum(allowed))


def exactness(folder: Path, url: str) -> None:
    start, out = FORK.Event(), FORK.Queue()
    workers = [FORK.Process(target=_exact_process, args=(
        str(folder / f"host{n}" / "spend.map"), url, start, out)) for n in range(2)]
    for worker in workers:
        worker.start()
    start.set()
    allowed = sum(out.get(timeout=120) for _ in workers)
    for worker in workers:
        worker.join()
    print(f"3. exactness: 2 hosts x 8 threads, 200 charges of 10 TRY against 1,000: "
          f"{allowed} allowed (target exactly 100)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=20000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kyb-bench-spend-") as temp:
        folder = Path(temp)
        url = args.database_url or f"sqlite:///{folder / 'kyb.db'}"
        upgrade(url)
        print(f"machine: {platform.machine()} {os.cpu_count()} cpu, Python "
              f"{platform.python_version()}, {url.split(':', 1)[0]}, "
              f"load average {os.getloadavg()[0]:.2f}")
        lease_hit(folder, url, args.iterations)
        throughput(folder, url, args.processes, args.threads, args.seconds)
        exactness(folder, url)
        print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
