"""The host's key generation counter (``app.dataplane.generation``): shared by every process
that maps the same file, bumped under a lock, read without one (issue #14 item 4)."""

from __future__ import annotations

import multiprocessing

from app.dataplane.generation import GenerationWatch, HostGeneration


def test_a_new_counter_starts_at_zero_and_counts_up(tmp_path):
    generation = HostGeneration(tmp_path / "instance" / "keys.generation")
    assert generation.current() == 0
    assert [generation.bump(), generation.bump()] == [1, 2]
    assert generation.current() == 2


def test_two_mappings_of_the_file_see_each_others_bumps(tmp_path):
    one, other = (HostGeneration(tmp_path / "keys.generation") for _ in range(2))
    one.bump()
    assert other.current() == 1


def _bump_many(path: str, times: int) -> None:
    generation = HostGeneration(path)
    for _ in range(times):
        generation.bump()


def test_bumps_from_several_processes_are_never_lost(tmp_path):
    path = str(tmp_path / "keys.generation")
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_bump_many, args=(path, 500)) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert [w.exitcode for w in workers] == [0, 0, 0]
    assert HostGeneration(path).current() == 1500


def test_a_watch_reports_a_move_once(tmp_path):
    generation = HostGeneration(tmp_path / "keys.generation")
    watch = GenerationWatch(generation)
    assert watch.changed() is False
    generation.bump()
    assert watch.changed() is True
    assert watch.changed() is False
