"""The app's huey queue: SQLite beside the instance database by default, Redis with
``KYB_REDIS_URL``; every declared job bound as a task that runs in the app's context.

One queue per app (``app.extensions["kyb.jobs"]``), built on first use, so that an app that
never enqueues never opens the jobs store.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
from typing import Any

from flask import Flask, current_app
from huey import Huey, RedisHuey, SqliteHuey
from huey.api import TaskWrapper

from app.audit.trail import Actor
from app.config import Settings
from app.db import session_scope, utcnow
from app.jobs.registry import JobSpec, declared_jobs

log = logging.getLogger("kybgate.jobs")
_build_lock = threading.Lock()


def jobs_store(settings: Settings) -> str:
    """Where the queue lives, for people: the Redis URL (no password) or the SQLite file."""
    if settings.redis_url:
        from sqlalchemy.engine import make_url
        return make_url(settings.redis_url).render_as_string(hide_password=True)
    return os.path.join(settings.instance_path, "jobs.db")


def build_huey(settings: Settings) -> Huey:
    """An unbound huey for ``settings``: ``RedisHuey`` with a Redis URL, else ``SqliteHuey``.

    Results are not stored (jobs write what they produce to the database), and times are UTC.
    """
    if settings.redis_url:
        return RedisHuey(settings.jobs_queue, url=settings.redis_url, results=False, utc=True)
    os.makedirs(settings.instance_path, exist_ok=True)
    return SqliteHuey(settings.jobs_queue, filename=jobs_store(settings), results=False,
                      utc=True)


def _task_body(app: Flask, spec: JobSpec):
    def run(**kwargs: Any) -> None:
        from app.extensions import engine
        with app.app_context(), session_scope(engine()) as session:
            actor = Actor(name=f"job:{spec.name}", request_id="job-" + secrets.token_hex(6))
            spec.fn(session, now=utcnow(), actor=actor, **kwargs)
    run.__name__ = run.__qualname__ = spec.name
    run.__doc__ = spec.fn.__doc__
    return run


def bind_jobs(huey: Huey, app: Flask) -> Huey:
    """Register every declared job on ``huey`` as a task run inside ``app``'s context; the
    tasks by job name are kept as ``huey.kyb_tasks``."""
    tasks = {}
    for spec in declared_jobs().values():
        body = _task_body(app, spec)
        if spec.schedule is not None:
            tasks[spec.name] = huey.periodic_task(
                spec.schedule, name=spec.name, retries=spec.retries,
                retry_delay=spec.retry_delay)(body)
        else:
            tasks[spec.name] = huey.task(name=spec.name, retries=spec.retries,
                                         retry_delay=spec.retry_delay)(body)
    huey.kyb_tasks = tasks
    return huey


def job_queue(app: Flask | None = None) -> Huey:
    """The huey queue of ``app`` (default: the current app), built and bound on first use."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    huey = app.extensions.get("kyb.jobs")
    if huey is None:
        with _build_lock:
            huey = app.extensions.get("kyb.jobs")
            if huey is None:
                huey = bind_jobs(build_huey(app.extensions["kyb.settings"]), app)
                app.extensions["kyb.jobs"] = huey
    return huey


def task_of(huey: Huey, name: str) -> TaskWrapper:
    """The task of the job ``name`` on a queue built by :func:`job_queue`."""
    try:
        return huey.kyb_tasks[name]
    except KeyError:
        raise KeyError(f"no job named {name!r}; declared: "
                       f"{', '.join(sorted(huey.kyb_tasks))}") from None


def run_queued_jobs(app: Flask, *, limit: int = 1000, strict: bool = True) -> list[str]:
    """Run the jobs waiting in ``app``'s queue, in this process, oldest first, until none is
    left (jobs may queue more) or ``limit`` ran; returns their names in order.

    What a worker does, without a consumer: for tests (``strict``: a failing job raises
    here) and ``kybgate jobs run`` (not strict: huey logs the failure and retries the job
    later as its declaration says). Jobs scheduled for later are not waited for.
    """
    huey, ran = job_queue(app), []
    while len(ran) < limit:
        task = huey.dequeue()
        if task is None:
            break
        ran.append(type(task).__name__)
        if strict:
            task.execute()
        else:
            huey.execute(task)
    return ran
