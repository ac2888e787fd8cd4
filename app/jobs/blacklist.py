"""Blacklist jobs (R-D1, R-E2): re-assess the merchants an added or removed entry touches.

``add_entry`` and ``remove_entry`` queue one ``reassess_blacklist_entry`` per entry change
after their commit. A run re-assesses at most the policy's ``renewals_per_run`` merchants and,
when more are left, queues itself again; merchants already re-assessed for the change are
skipped, so a retried or repeated run is harmless.
"""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session

from app.audit.trail import Actor
from app.jobs.commit import enqueue_after_commit
from app.jobs.registry import job
from app.services import blacklist
from app.services.assessments import current_policy


@job(blacklist.REASSESS_JOB, retries=3, retry_delay=60)
def reassess_blacklist_entry(session: Session, *, now: dt.datetime, actor: Actor,
                             entry_id: str, change: str) -> None:
    """Re-run the ``blacklist`` check of the merchants the entry's change touches."""
    limit = current_policy().assessments.renewals_per_run
    _, more = blacklist.reassess_touched(session, entry_id=entry_id, change=change,
                                         actor=actor, now=now, limit=limit)
    if more:
        enqueue_after_commit(session, blacklist.REASSESS_JOB, entry_id=entry_id,
                            change=change)
