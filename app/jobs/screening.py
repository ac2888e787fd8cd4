"""Screening jobs (issue #12 item 3, R-D2): once a "not this person" decision is active, or is
revoked, the merchant is re-screened and re-assessed so that its page shows the hit as dismissed,
or raised again.

``dismiss_hit`` (a possible hit), ``confirm_dismissal`` (a strong hit's second approver) and
``revoke_dismissal`` queue one ``rescreen_after_dismissal`` after their commit; a repeated run
does nothing.
"""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session

from app.audit.trail import Actor
from app.jobs.registry import job
from app.services import screening_decisions


@job(screening_decisions.RESCREEN_JOB, retries=3, retry_delay=60)
def rescreen_after_dismissal(session: Session, *, now: dt.datetime, actor: Actor,
                             merchant_id: str, dismissal_id: str) -> None:
    """Re-assess the merchant with its screening refreshed."""
    screening_decisions.rescreen_after_dismissal(session, merchant_id=merchant_id,
                                                 dismissal_id=dismissal_id, actor=actor,
                                                 now=now)
