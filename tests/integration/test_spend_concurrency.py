"""Exact caps under concurrency (``app.dataplane.spend``; issue #14 item 3 and benchmark (d);
R-E5, SAMA 004 §15 g): never more allowed than the limit across threads, processes and hosts;
exactly ``limit / amount`` with uniform amounts; a process killed mid-charge leaves no lock.

Real processes (fork) map one real ``spend.map`` and lease from one real database (SQLite and,
with ``KYB_TEST_POSTGRES_URL``, PostgreSQL); a "host" is a ``HostSpend`` with its own map file.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import multiprocessing
import os
import signal
import threading
from decimal import Decimal
from pathlib import Path

from api_keys.limits import Charge
from app.dataplane import spend_leases
from app.dataplane.spend import HostSpend, _slot_key
from app.dataplane.spend_table import _FLOCK, HEADER_SIZE, SLOT_SIZE
from app.db import make_engine

NOON = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)
TOTAL = ("merchant:mer_1", "2026-11-27", "TRY")
FORK = multiprocessing.get_context("fork")


def daily(amount: str | Decimal, limit: str = "1000") -> Charge:
    return Charge("merchant:mer_1", "day", "TRY", Decimal(amount), Decimal(limit), "2026-11-27")


def _charge_in_threads(host: HostSpend, per_thread: list[list[str]], start) -> list:
    """Each thread charges its amounts once ``start`` is set; (amount, allowed) per charge."""
    results: list[tuple[Decimal, bool]] = []

    def run(amounts: list[str]) -> None:
        start.wait()
        for amount in amounts:
            results.append((Decimal(amount), host.charge([daily(amount)], NOON).allowed))

    threads = [threading.Thread(target=run, args=(amounts,)) for amounts in per_thread]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def _process(map_path: str, url: str, per_thread: list[list[str]], start, out) -> None:
    engine = make_engine(url)
    host = HostSpend(map_path, engine)
    out.put(_charge_in_threads(host, per_thread, start))
    host.close()
    engine.dispose()


def _run_processes(url: str, maps: list[Path], per_process: list[list[list[str]]]) -> list:
    """One forked process per entry (with its map file), all starting together."""
    start, out = FORK.Event(), FORK.Queue()
    workers = [FORK.Process(target=_process, args=(str(path), url, work, start, out))
               for path, work in zip(maps, per_process, strict=True)]
    for worker in workers:
        worker.start()
    start.set()
    results = [out.get(timeout=240) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    assert [w.exitcode for w in workers] == [0] * len(workers)
    return [entry for result in results for entry in result]


def _split(amounts: list[str], parts: int) -> list[list[str]]:
    return [amounts[n::parts] for n in range(parts)]


def _allowed(results: list) -> list[Decimal]:
    return [amount for amount, ok in results if ok]


def test_threads_of_one_process_allow_exactly_the_limit(db_url, tmp_path):
    engine = make_engine(db_url)
    host = HostSpend(tmp_path / "spend.map", engine)
    start = threading.Event()
    start.set()
    results = _charge_in_threads(host, _split(["10"] * 200, 16), start)
    assert len(_allowed(results)) == 100
    assert spend_leases.leased(engine, TOTAL) == 1000
    engine.dispose()


def test_two_processes_of_eight_threads_on_one_host_allow_exactly_the_limit(db_url, tmp_path):
    work = [_split(["10"] * 100, 8) for _ in range(2)]
    results = _run_processes(db_url, [tmp_path / "spend.map"] * 2, work)
    assert len(results) == 200
    assert len(_allowed(results)) == 100


def test_mixed_amounts_on_one_host_are_exact_across_processes(db_url, tmp_path):
    """Never over; and every refused amount was more than what is left at the end."""
    amounts = [str(Decimal(7 + (n * 37) % 90) + Decimal("0.25")) for n in range(160)]
    results = _run_processes(db_url, [tmp_path / "spend.map"] * 2,
                             [_split(amounts[:80], 8), _split(amounts[80:], 8)])
    total = sum(_allowed(results), Decimal(0))
    assert total <= 1000
    assert all(amount > 1000 - total for amount, ok in results if not ok)


def test_two_hosts_on_one_database_allow_exactly_100_of_200_charges_of_10_against_1000(
        db_url, tmp_path):
    """Issue #14 benchmark (d): two hosts (own map files), 8 threads each, 100 charges each."""
    work = [_split(["10"] * 100, 8) for _ in range(2)]
    results = _run_processes(db_url, [tmp_path / "a" / "spend.map", tmp_path / "b" / "spend.map"],
                             work)
    assert len(_allowed(results)) == 100
    engine = make_engine(db_url)
    assert spend_leases.leased(engine, TOTAL) == 1000
    engine.dispose()


def test_two_hosts_with_mixed_amounts_never_exceed_and_give_back_the_rest(db_url, tmp_path):
    maps = [tmp_path / "a" / "spend.map", tmp_path / "b" / "spend.map"]
    amounts = [str(Decimal(3 + (n * 53) % 70) + Decimal("0.5")) for n in range(100)]
    results = _run_processes(db_url, maps, [_split(amounts[:50], 8), _split(amounts[50:], 8)])
    total = sum(_allowed(results), Decimal(0))
    assert total <= 1000
    engine = make_engine(db_url)
    for path in maps:
        host = HostSpend(path, engine)
        host.release_idle(NOON + dt.timedelta(seconds=5), everything=True)
        host.close()
    assert spend_leases.leased(engine, TOTAL) == total  # nothing stranded on either host
    engine.dispose()


def _slot_lock_is_free(path: Path, slot: int) -> bool:
    """Try the slot's byte-range lock from a separate open of the file, without waiting."""
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.fcntl(fd, fcntl.F_OFD_SETLK, _FLOCK.pack(
            fcntl.F_WRLCK, os.SEEK_SET, HEADER_SIZE + slot * SLOT_SIZE, SLOT_SIZE, 0))
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def _pause_in_the_lease(map_path: str, url: str, leasing) -> None:
    """Charge, and stop for good inside the database lease (the slot's lock held)."""
    def stuck(*_args: object, **_kwargs: object) -> None:
        leasing.set()
        threading.Event().wait()

    spend_leases.lease = stuck  # this child only: hold the lock where a charge waits longest
    HostSpend(map_path, make_engine(url)).charge([daily("10")], NOON)


def test_a_process_killed_mid_charge_leaves_no_lock_held(db_url, tmp_path):
    path = tmp_path / "spend.map"
    leasing = FORK.Event()
    child = FORK.Process(target=_pause_in_the_lease, args=(str(path), db_url, leasing))
    child.start()
    assert leasing.wait(timeout=60)
    engine = make_engine(db_url)
    host = HostSpend(path, engine)
    slot = host.table.find(*_slot_key(*TOTAL)[:2])
    assert not _slot_lock_is_free(path, slot)
    os.kill(child.pid, signal.SIGKILL)
    child.join(timeout=30)
    assert _slot_lock_is_free(path, slot)
    done: list[bool] = []
    worker = threading.Thread(target=lambda: done.append(host.charge([daily("10")], NOON).allowed))
    worker.start()
    worker.join(timeout=30)
    assert done == [True]
    engine.dispose()


def test_a_forked_child_does_not_share_its_parents_locks(tmp_path):
    """OFD locks belong to an open file; a child reopens the map so it is excluded too."""
    host = HostSpend(tmp_path / "spend.map", make_engine(f"sqlite:///{tmp_path / 'x.db'}"))
    held = FORK.Event()
    host.table.acquire([7])
    held.set()
    try:
        child = FORK.Process(target=lambda: _child_locks(host, held))
        child.start()
        child.join(timeout=30)
        assert child.exitcode == 0
    finally:
        host.table.release([7])


def _child_locks(host: HostSpend, held) -> None:
    """In the child: the inherited table was reopened, so the parent's slot 7 lock excludes
    it (a non-blocking attempt through the child's own file fails)."""
    try:
        fcntl.fcntl(host.table._fd, fcntl.F_OFD_SETLK, _FLOCK.pack(
            fcntl.F_WRLCK, os.SEEK_SET, HEADER_SIZE + 7 * SLOT_SIZE, SLOT_SIZE, 0))
    except BlockingIOError:
        os._exit(0 if held.is_set() else 2)
    os._exit(1)

