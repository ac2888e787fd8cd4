"""The worker's turnstile (``app.turnstile``, issue #14): kept-alive requests served one at a
time in the order they arrived, and the turn given up before every wait for someone else (the
database, the audit writer's pacing, a lock another process holds, the control plane)."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from app import turnstile
from app.dataplane.pacing import Pacing, WriterClock


@pytest.fixture
def turn(monkeypatch):
    """A turnstile installed for this process, as a kybgate worker has; gone after."""
    monkeypatch.setattr(turnstile, "_turnstile", None)
    return turnstile.install()


def _wait_until(condition, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def test_turns_are_taken_in_the_order_the_threads_asked(turn):
    order: list[int] = []
    turn.enter()
    threads = []
    for n in range(6):
        def run(n: int = n) -> None:
            turn.enter()
            order.append(n)
            turn.leave()
        thread = threading.Thread(target=run)
        thread.start()
        _wait_until(lambda n=n: turn.waiting() == n + 1)  # queued behind the one before
        threads.append(thread)
    assert order == []  # nobody runs while the turn is held
    turn.leave()
    for thread in threads:
        thread.join(5)
    assert order == [0, 1, 2, 3, 4, 5]
    assert not turn.holds() and turn.waiting() == 0


def test_only_the_holder_can_hand_the_turn_on(turn):
    turn.enter()
    other = threading.Thread(target=turn.leave)  # not its turn: nothing happens
    other.start()
    other.join(5)
    assert turn.holds()
    turn.leave()
    assert not turn.holds()
    turn.leave()  # twice is harmless
    turn.enter()  # and the turn is free again
    assert turn.holds()
    turn.leave()


def test_a_thread_that_stepped_aside_lets_the_next_one_run_and_finishes_without_the_turn(turn):
    ran = threading.Event()
    turn.enter()

    def next_request() -> None:
        turn.enter()
        ran.set()
        turn.leave()
    thread = threading.Thread(target=next_request)
    thread.start()
    _wait_until(lambda: turn.waiting() == 1)
    turnstile.step_aside()  # about to wait for someone else
    assert ran.wait(5)
    assert not turn.holds()
    turn.leave()  # the end of its request: it no longer has the turn, nothing to hand on
    thread.join(5)
    assert turn.waiting() == 0


def test_a_lock_another_thread_holds_is_waited_for_without_the_turn(turn):
    lock = threading.Lock()
    turn.enter()
    turnstile.acquire(lock)  # free: taken at once, the turn kept
    assert turn.holds()
    lock.release()
    lock.acquire()  # as a thread topping a lease up from the database would hold it
    got = threading.Event()

    def request() -> None:
        turnstile.acquire(lock)
        got.set()
        lock.release()
    turn.leave()
    thread = threading.Thread(target=lambda: (turn.enter(), request(), turn.leave()))
    thread.start()
    next_one = threading.Event()
    threading.Thread(target=lambda: (turn.enter(), next_one.set(), turn.leave())).start()
    assert next_one.wait(5)  # the request waiting for the lock stepped aside
    assert not got.is_set()
    lock.release()
    assert got.wait(5)
    thread.join(5)


def test_without_a_turnstile_stepping_aside_does_nothing(monkeypatch):
    monkeypatch.setattr(turnstile, "_turnstile", None)
    assert turnstile.current() is None
    turnstile.step_aside()


def test_a_database_round_trip_gives_the_turn_up(turn):
    engine = sa.create_engine("sqlite://")
    turn.enter()
    with engine.connect() as conn:
        assert turn.holds()  # a connection from the pool is not a round trip yet
        conn.execute(sa.text("SELECT 1"))
    assert not turn.holds()
    engine.dispose()


def test_pacing_gives_the_turn_up_before_it_sleeps_and_keeps_it_when_it_does_not(turn, tmp_path):
    clock = WriterClock(str(tmp_path))
    pacing = Pacing(clock, 1.0)
    try:
        clock.publish(0.5)  # under the bound: no wait
        turn.enter()
        assert pacing.wait() == 0.0 and turn.holds()
        clock.publish(1.1)  # over it: 2 ms, not spent holding the worker's turn
        assert pacing.wait() > 0 and not turn.holds()
    finally:
        clock.close()


def test_a_slot_another_process_holds_is_waited_for_without_the_turn(turn, tmp_path):
    import fcntl
    import os
    import struct

    from app.dataplane.spend_table import HEADER_SIZE, SLOT_SIZE, SpendTable
    table = SpendTable(str(tmp_path / "spend"), slots=8)
    other = os.open(str(tmp_path / "spend"), os.O_RDWR)  # another open file: another process
    flock = struct.pack("hhqqi4x", fcntl.F_WRLCK, os.SEEK_SET, HEADER_SIZE + 3 * SLOT_SIZE,
                        SLOT_SIZE, 0)
    fcntl.fcntl(other, fcntl.F_OFD_SETLK, flock)
    try:
        taken = threading.Event()

        def charge() -> None:
            turn.enter()  # this request holds the turn when it finds the slot taken
            table.acquire([3])
            taken.set()
            table.release([3])
        thread = threading.Thread(target=charge)
        turn.leave()
        thread.start()
        time.sleep(0.2)  # the charge has the turn, finds the slot held and waits for it
        assert not taken.is_set()
        next_request = threading.Event()

        def serve_next() -> None:
            turn.enter()
            next_request.set()
            turn.leave()
        threading.Thread(target=serve_next).start()
        assert next_request.wait(5)  # the waiting charge stepped aside
        assert not taken.is_set()
        fcntl.fcntl(other, fcntl.F_OFD_SETLK, struct.pack(
            "hhqqi4x", fcntl.F_UNLCK, os.SEEK_SET, HEADER_SIZE + 3 * SLOT_SIZE, SLOT_SIZE, 0))
        assert taken.wait(5)
        thread.join(5)
    finally:
        os.close(other)
        table.close()


def test_a_request_the_control_plane_answers_is_answered_without_the_turn(turn, client):
    seen: list[bool] = []
    control_plane = client.application.wsgi_app.control_plane

    def spy(environ, start_response):
        seen.append(turn.holds())
        return control_plane(environ, start_response)
    client.application.wsgi_app.control_plane = spy
    turn.enter()
    assert client.get("/healthz").status_code == 200
    assert seen == [False]  # the views may wait on anything: not with the worker's turn
    turn.leave()
