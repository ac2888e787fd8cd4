"""Background jobs (R-D1): work that must not sit on a request's path, run by ``kybgate worker``.

The runner is huey: ``SqliteHuey`` in ``<instance>/jobs.db`` by default (embedded, nothing to
run), ``RedisHuey`` when ``KYB_REDIS_URL`` is set (several hosts share one queue;
``KYB_JOBS_QUEUE`` names it). Each consumer process builds one app; every job runs inside its
app context with its own session, which commits once when the job returns.

Declare a job (any module listed in :data:`app.jobs.registry.JOB_MODULES`)::

    from app.jobs import job

    @job("send_welcome_mail", retries=3, retry_delay=60)
    def send_welcome_mail(session, *, now, actor, merchant_id: str) -> None:
        ...  # a service call: it flushes, the runner commits

Enqueue it from a view or a service, only once the caller's transaction has committed (a job
never runs before the rows it reads exist; a rolled-back transaction enqueues nothing)::

    from app.jobs import enqueue_after_commit
    enqueue_after_commit(session, "send_welcome_mail", merchant_id=merchant.id)

Wire a plain service function ``fn(session, *, now, actor)`` as a periodic job (5 lines in a
module listed in ``JOB_MODULES``; the worker's scheduler enqueues it when the crontab matches,
a worker runs it in its own transaction and commits)::

    from app.jobs import crontab, periodic_job
    from app.services.alerts import escalate_overdue_alerts  # wherever the service lives

    @periodic_job("escalate_overdue_alerts", crontab(minute="*"))
    def escalate_overdue(session, *, now, actor) -> None:
        escalate_overdue_alerts(session, now=now, actor=actor)

(``deliver_due_webhooks`` the same way, e.g. ``crontab(minute="*")``; a job that needs a
transaction per item claims a batch and queues one job per item with
``enqueue_after_commit``, as ``renew_expired_assessments`` does.) Every worker started with
``--periodic`` (the default) enqueues periodic jobs, so a periodic job must be safe when two
run at once: claim rows with a compare-and-set update (as
:func:`app.services.assessment_renewal.claim_expired_assessments` does) or
``FOR UPDATE SKIP LOCKED``.

Tests opt in: nothing runs in-line. ``run_queued_jobs(app)`` executes what a test queued, in
the test's process, against whatever world (sandbox servers) the test set up;
``enqueue(job_queue(app), "escalate_overdue_alerts")`` queues a periodic job now.
"""

from __future__ import annotations

from huey import crontab

from app.jobs.commit import enqueue, enqueue_after_commit
from app.jobs.queue import job_queue, run_queued_jobs
from app.jobs.registry import JOB_MODULES, job, periodic_job

__all__ = ["JOB_MODULES", "crontab", "enqueue", "enqueue_after_commit", "job", "job_queue",
           "periodic_job", "run_queued_jobs"]
