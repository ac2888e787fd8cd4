"""``kybgate worker`` (the huey consumer that runs background jobs) and ``kybgate jobs``
(look at the queue, or run what waits in it once, in this process)."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections import Counter

import click
from flask import current_app
from flask.cli import with_appcontext
from huey import signals as huey_signals

from app.extensions import settings
from app.jobs.queue import job_queue, jobs_store, run_queued_jobs
from app.jobs.registry import declared_jobs

log = logging.getLogger("kybgate.jobs")


def _count_outcomes(huey) -> Counter:
    counts: Counter = Counter()

    @huey.signal(huey_signals.SIGNAL_COMPLETE, huey_signals.SIGNAL_ERROR,
                 huey_signals.SIGNAL_RETRYING, huey_signals.SIGNAL_INTERRUPTED)
    def count(sig: str, task, exc=None) -> None:  # noqa: ARG001 - huey's receiver signature
        counts[sig] += 1
        if sig == huey_signals.SIGNAL_ERROR:
            log.error("job %s (%s) failed: %r", type(task).__name__, task.id, exc)
    return counts


def _exit_with_parent(parent: int | None) -> None:
    """Stop gracefully (as on SIGTERM) once ``parent`` (default: the process that started
    this one) is no longer this process's parent."""
    parent = parent or os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGTERM)
    threading.Thread(target=watch, name="kyb-worker-parent-watch", daemon=True).start()


@click.command("worker")
@click.option("--workers", "-w", type=click.IntRange(1, 64), default=2, show_default=True,
              envvar="KYB_JOB_WORKERS", help="Jobs run at once (threads). Env: KYB_JOB_WORKERS.")
@click.option("--periodic/--no-periodic", default=True, show_default=True,
              help="Also enqueue the periodic jobs on their schedule (e.g. renewing expired "
                   "assessments every 5 minutes). Safe with several workers: periodic jobs "
                   "claim their rows.")
@click.option("--max-delay", type=click.FloatRange(0.1, 60), default=2.0, show_default=True,
              help="Longest pause, in seconds, between two looks at an idle queue.")
@click.option("--exit-with-parent", is_flag=True,
              help="Stop when the process that started this one is gone (what `kybgate "
                   "serve` uses).")
@click.option("--parent-pid", type=int, hidden=True,
              help="The parent --exit-with-parent watches (given by `kybgate serve`, so that a "
                   "parent lost while this process was still starting is noticed too).")
@with_appcontext
def worker(workers: int, periodic: bool, max_delay: float, exit_with_parent: bool,
           parent_pid: int | None) -> None:
    """Run the background jobs: assessments of new applications, renewals of expired
    assessments, and whatever else is queued. The queue is SQLite in the instance folder
    (<instance>/jobs.db), or Redis when KYB_REDIS_URL is set, so run as many workers, on as
    many hosts, as the load needs. `kybgate serve` starts one by itself (--no-worker to
    leave it out). SIGTERM stops gracefully: running jobs finish (at most 30 s), then it
    prints a summary; Ctrl-C (SIGINT) stops at once (an interrupted job's transaction rolls
    back and the periodic jobs queue its work again)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    huey = job_queue(current_app._get_current_object())  # type: ignore[attr-defined]
    counts = _count_outcomes(huey)
    consumer = huey.create_consumer(workers=workers, worker_type="thread", periodic=periodic,
                                    max_delay=max_delay, graceful_signal="TERM",
                                    shutdown_timeout=30)
    if exit_with_parent:
        _exit_with_parent(parent_pid)
    names = ", ".join(sorted(declared_jobs()))
    click.echo(f"kybgate worker: {workers} workers, periodic {'on' if periodic else 'off'}, "
               f"queue {settings().jobs_queue!r} in {jobs_store(settings())}; jobs: {names}")
    started = time.monotonic()
    consumer.run()
    click.echo(f"kybgate worker stopped after {time.monotonic() - started:.0f} s: "
               f"{counts[huey_signals.SIGNAL_COMPLETE]} jobs done, "
               f"{counts[huey_signals.SIGNAL_ERROR]} failed, "
               f"{counts[huey_signals.SIGNAL_RETRYING]} retries, "
               f"{counts[huey_signals.SIGNAL_INTERRUPTED]} interrupted")


@click.group("jobs")
def jobs_group() -> None:
    """The background job queue (see `kybgate worker`)."""


@jobs_group.command("pending")
@with_appcontext
def jobs_pending() -> None:
    """Count the jobs waiting in the queue, by job."""
    huey = job_queue(current_app._get_current_object())  # type: ignore[attr-defined]
    waiting = Counter(type(task).__name__ for task in huey.pending())
    click.echo(f"{sum(waiting.values())} jobs waiting in {jobs_store(settings())}")
    for name, count in sorted(waiting.items()):
        click.echo(f"  {count:>6}  {name}")


@jobs_group.command("run")
@click.option("--limit", type=click.IntRange(1), default=1000, show_default=True,
              help="Run at most this many jobs.")
@with_appcontext
def jobs_run(limit: int) -> None:
    """Run the waiting jobs once, in this process, oldest first, then exit (for a host
    without a worker, or to drain the queue by hand). A failing job is logged and retried
    later as its declaration says."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    ran = run_queued_jobs(app, limit=limit, strict=False)
    waiting = Counter(ran)
    click.echo(f"ran {len(ran)} jobs" + "".join(f"; {n} {name}" for name, n in
                                                 sorted(waiting.items())))


def commands() -> list[click.Command]:
    """The commands this module adds to ``kybgate``."""
    return [worker, jobs_group]
