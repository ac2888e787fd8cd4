"""Monitoring jobs (R-C1): the POS scenarios over a merchant's verification traffic, judged in
the job worker rather than in the host's audit writer.

The audit writer notes which merchants' verifications it shipped (``app.services.
api_anomalies.AnomalyMonitor``, at most once per merchant per
``verification_eval_interval_seconds``) and queues ``evaluate_verification_scenarios`` for each
(:func:`queue_scenarios`). One evaluation reads the merchant's verifications of the trailing
days and costs ~30 µs of CPU per verification: seconds for a busy merchant. Run on the writer's
own thread it held the writer's interpreter that long, and every worker of the host waited for
the shipping it delayed (``app.dataplane.pacing``). A run judges the stream as it is when it
runs, so a queued run that is late or repeated is harmless.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable

from flask import Flask
from sqlmodel import Session

from app.audit.trail import Actor
from app.jobs.commit import enqueue
from app.jobs.queue import job_queue
from app.jobs.registry import job
from app.services.assessments import current_policy
from app.services.verification_monitoring import evaluate_verifications

SCENARIOS_JOB = "evaluate_verification_scenarios"
log = logging.getLogger("kybgate.jobs")


@job(SCENARIOS_JOB, retries=2, retry_delay=30)
def evaluate_verification_scenarios(session: Session, *, now: dt.datetime, actor: Actor,
                                    merchant_id: str) -> None:
    """Judge the merchant's verification stream now: verdicts stored, alerts opened."""
    evaluate_verifications(session, merchant_id=merchant_id, now=now, policy=current_policy())


def queue_scenarios(app: Flask) -> Callable[[Iterable[str]], None]:
    """What the audit writer's monitor calls with the merchants due: one job each on
    ``app``'s queue (a queue that cannot be reached is logged; the next round retries)."""
    def run(merchants: Iterable[str]) -> None:
        huey = job_queue(app)
        for merchant_id in merchants:
            try:
                enqueue(huey, SCENARIOS_JOB, merchant_id=merchant_id)
            except Exception:  # noqa: BLE001 - the merchant's next shipped batch queues it again
                log.exception("verification scenarios of %s not queued", merchant_id)
    return run
