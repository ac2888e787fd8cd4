"""``GET /api/v1/merchants/{id}/monitoring``: the latest verdict of every monitoring scenario for
a merchant — ``hit``, ``clear``, ``insufficient_data`` (with why) or ``not_evaluated`` — per
stream (the transaction feed and verification traffic)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel

from app.api import bp
from app.api.framework import operation
from app.api.merchants import load_merchant
from app.extensions import db_session
from app.services.scenario_results import overview


class ScenarioResultOut(BaseModel):
    """One scenario's latest verdict on one stream."""

    stream: Literal["transactions", "verifications"]
    scenario: str
    status: Literal["hit", "clear", "insufficient_data", "not_evaluated"]
    reason: str | None
    hits: int
    policy_version: str | None
    evaluated_at: dt.datetime | None


class MonitoringOut(BaseModel):
    """Every scenario's latest verdict for the merchant."""

    merchant_id: str
    results: list[ScenarioResultOut]


@operation(bp, "/merchants/<merchant_id>/monitoring", "GET", scope="merchants:read",
           summary="Monitoring scenario verdicts of a merchant", response=MonitoringOut,
           tags=("monitoring",), errors=(404,))
def get_monitoring(merchant_id: str, client_id: str):
    """The latest verdict of each transaction-monitoring scenario for the merchant: ``hit``
    (an alert was opened), ``clear``, ``insufficient_data`` with the reason the scenario could
    not judge (below its sample minimum, a missing field, no base day...), or
    ``not_evaluated`` when nothing has been evaluated yet. Never silence."""
    merchant = load_merchant(merchant_id)
    rows = overview(db_session(), merchant_id=merchant.id)
    return MonitoringOut(merchant_id=merchant.id,
                         results=[ScenarioResultOut(**row) for row in rows])
