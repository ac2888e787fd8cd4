"""The declared jobs: a registry of plain functions, bound to a huey queue per app.

Jobs are declared before any app exists (at import time of their module), so they are not
huey tasks themselves: :func:`app.jobs.queue.job_queue` turns each spec into a task of the
app's queue. The registry refuses two jobs with one name.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# Modules that declare jobs; imported before a queue is built. Add yours here.
JOB_MODULES: tuple[str, ...] = ("app.jobs.assessments", "app.jobs.operations",
                               "app.jobs.blacklist", "app.jobs.screening",
                               "app.jobs.retention", "app.jobs.monitoring")


@dataclass(frozen=True)
class JobSpec:
    """One declared job: ``fn(session, *, now, actor, **kwargs)`` and how huey runs it."""

    name: str
    fn: Callable[..., Any]
    retries: int = 0
    retry_delay: int = 0
    schedule: Callable[..., bool] | None = None  # a huey crontab for periodic jobs


_jobs: dict[str, JobSpec] = {}


def _register(spec: JobSpec) -> None:
    known = _jobs.get(spec.name)
    where = (spec.fn.__module__, spec.fn.__qualname__)
    if known is not None and (known.fn.__module__, known.fn.__qualname__) != where:
        raise ValueError(f"job {spec.name!r} is declared twice")
    _jobs[spec.name] = spec  # the same function again (a module reloaded) replaces itself


def job(name: str, *, retries: int = 0,
        retry_delay: int = 0) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: declare ``fn(session, *, now, actor, **kwargs)`` as the job ``name``.

    Keyword arguments given at enqueue time must be JSON-like (ids, not rows). The function
    is returned unchanged, so it stays callable (and testable) as plain code.
    """
    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        _register(JobSpec(name, fn, retries, retry_delay))
        return fn
    return register


def periodic_job(name: str, schedule: Callable[..., bool], *, retries: int = 0,
                 retry_delay: int = 0) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: declare ``fn(session, *, now, actor)`` as a job the worker's scheduler
    enqueues whenever ``schedule`` (a ``huey.crontab``) matches the minute."""
    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        _register(JobSpec(name, fn, retries, retry_delay, schedule))
        return fn
    return register


def declared_jobs() -> dict[str, JobSpec]:
    """Every declared job by name, after importing :data:`JOB_MODULES`."""
    for module in JOB_MODULES:
        importlib.import_module(module)
    return dict(_jobs)
