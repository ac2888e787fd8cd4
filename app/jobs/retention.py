"""The daily retention purge (R-D7): erase personal data whose retention period has ended
(``app.services.retention``). Two workers running it at once is safe: the second finds the
rows already erased (``personal_data_erased_at``, ``erased_at``) and does nothing."""

from __future__ import annotations

from app.jobs import crontab, periodic_job
from app.services.assessments import current_policy
from app.services.retention import purge_personal_data


@periodic_job("purge_expired_personal_data", crontab(minute="17", hour="3"))
def purge_expired_personal_data(session, *, now, actor) -> None:
    """Erase what the active policy's ``[retention]`` says has been kept long enough."""
    purge_personal_data(session, policy=current_policy(), now=now, actor=actor)
