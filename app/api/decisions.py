"""``POST /api/v1/merchants/{id}/decisions``: staff decisions taken through a back office."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from app.api import bp
from app.api.approvers import ApproverProof, acting_as
from app.api.context import now
from app.api.framework import operation
from app.api.merchants import load_merchant
from app.api.schemas import Currency, Strict
from app.errors import ApiProblem
from app.extensions import db_session
from app.services.decisions import DecisionRefused, decide


class Limits(Strict):
    """Limits that come with an ``approve_with_limits`` decision (R-D3, R-E5)."""

    max_amount_per_tx: Annotated[Decimal, Field(gt=0, max_digits=16, decimal_places=2)] | None \
        = None
    daily_amount: Annotated[Decimal, Field(gt=0, max_digits=16, decimal_places=2)] | None = None
    monthly_amount: Annotated[Decimal, Field(gt=0, max_digits=16, decimal_places=2)] | None \
        = None
    currency: Currency = "TRY"


class DecisionIn(ApproverProof):
    """A decision with its mandatory reason. ``approver`` is the e-mail of the staff approver
    on whose behalf the back office acts, proven by ``approver_otp``: that approver's current
    authenticator code, which works once. Four eyes compare approvers; an OAuth client on
    its own is never an eye, so a high-tier approval needs two approvers who each proved
    themselves (here, or in the staff console)."""

    decision: Literal["approve", "approve_with_limits", "request_info", "reject", "suspend"]
    reason: Annotated[str, StringConstraints(min_length=3, max_length=2000)]
    limits: Limits | None = None


class DecisionOut(BaseModel):
    """A recorded decision; ``status`` is ``pending_second`` while a high-tier approval waits
    for its second approver."""

    id: str
    merchant_id: str
    decision: str
    status: str
    reason: str
    actor: str
    confirmed_by: str | None
    tier: str | None
    policy_version: str | None
    assessment_id: str | None
    merchant_status: str
    limits: dict
    created_at: dt.datetime


@operation(bp, "/merchants/<merchant_id>/decisions", "POST", scope="decisions:write",
           summary="Decide on a merchant", body=DecisionIn, response=DecisionOut, status=201,
           tags=("decisions",), errors=(404, 409))
def create_decision(merchant_id: str, body: DecisionIn, client_id: str):
    """Approve, approve with limits, request information, reject or suspend, with a reason.
    A high-tier approval needs two different approvers: the first answer has status
    ``pending_second``; the same decision by another approver makes it final. An approval
    needs an assessment first (409)."""
    session = db_session()
    merchant = load_merchant(merchant_id)
    if body.decision == "approve_with_limits" and body.limits is None:
        raise ApiProblem(422, "Validation failed", "approve_with_limits needs limits",
                         kind="validation", errors=[{"field": "limits", "code": "missing",
                                                     "message": "required for "
                                                                "approve_with_limits"}])
    limits = body.limits.model_dump(exclude_none=True) if body.limits else None
    try:
        row = decide(session, merchant=merchant, decision=body.decision, reason=body.reason,
                     actor=acting_as(body), now=now(), limits=limits)
    except DecisionRefused as exc:
        raise ApiProblem(409, "Decision refused", str(exc), kind=exc.code) from exc
    return DecisionOut(id=row.id, merchant_id=row.merchant_id, decision=row.decision,
                       status=row.status, reason=row.reason, actor=row.actor,
                       confirmed_by=row.confirmed_by, tier=row.tier,
                       policy_version=row.policy_version, assessment_id=row.assessment_id,
                       merchant_status=merchant.status, limits=row.limits,
                       created_at=row.created_at), 201
