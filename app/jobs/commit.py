"""Enqueue jobs when, and only when, the session's transaction commits.

``enqueue_after_commit`` keeps the job in ``session.info``; a session ``after_commit`` hook
hands it to the queue once the rows it reads are committed, and ``after_rollback`` drops it.
A job that is enqueued but then fails to reach the store is logged, not raised: the commit
has happened and the request's answer must not change because of it (the periodic jobs
catch up with what was missed).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app, has_app_context
from huey import Huey
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.jobs.queue import job_queue, task_of

log = logging.getLogger("kybgate.jobs")
_PENDING = "kyb.jobs.pending"


def enqueue(huey: Huey, name: str, **kwargs: Any) -> None:
    """Put the job ``name`` with ``kwargs`` on ``huey`` now."""
    task_of(huey, name)(**kwargs)  # calling a huey task enqueues it


def enqueue_after_commit(session: Session, name: str, **kwargs: Any) -> None:
    """Queue the job ``name(**kwargs)`` on the current app's queue once ``session`` commits.

    Nothing is queued if the transaction rolls back; the same job with the same arguments is
    queued once per transaction. ``kwargs`` must be JSON-like.
    """
    if not has_app_context():
        # A bare script (no app, so no queue): the periodic sweeps pick up what this would
        # have done (applications never assessed, webhooks due).
        log.info("no app context: job %s not queued", name)
        return
    huey = job_queue(current_app._get_current_object())  # type: ignore[attr-defined]
    task_of(huey, name)  # an unknown job fails here, in the caller, not after the commit
    pending = session.info.setdefault(_PENDING, [])
    if not any((queued, args) == (name, kwargs) for _, queued, args in pending):
        pending.append((huey, name, kwargs))


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    for huey, name, kwargs in pending or ():
        try:
            enqueue(huey, name, **kwargs)
        except Exception:  # noqa: BLE001 - see the module docstring
            log.exception("job %s %s could not be queued", name, kwargs)


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, previous_transaction) -> None:
    # Any rollback of the outermost transaction, also one that had not reached the database
    # yet. A savepoint's rollback drops nothing (jobs are not tracked per savepoint).
    if previous_transaction.parent is None and not previous_transaction.nested:
        session.info.pop(_PENDING, None)
