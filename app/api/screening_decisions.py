"""``POST /api/v1/merchants/{id}/screening/dismissals``, ``…/{dismissal_id}/confirm`` and
``…/{dismissal_id}/revoke``: a back office marks a screening hit "not this person" on behalf of a
proven staff approver (issue #12 item 3), or takes such a decision back. An OAuth client alone is
not a person and is refused; a strong hit needs a second, different approver's confirmation
(four eyes); one approver can revoke (the hit is raised again)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, StringConstraints

from app.api import bp
from app.api.approvers import ApproverProof, acting_as
from app.api.context import now
from app.api.framework import operation
from app.api.merchants import load_merchant
from app.errors import ApiProblem
from app.extensions import db_session, settings
from app.models import ScreeningDismissal
from app.services.assessments import active_policy
from app.services.screening import screening_index
from app.services.screening_decisions import (
    DismissalRefused,
    confirm_dismissal,
    dismiss_hit,
    revoke_dismissal,
)

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]


class DismissalIn(ApproverProof):
    """The hit (as the ``sanctions_pep`` evidence names it) and the reason it is not this
    person. ``approver`` / ``approver_otp`` name and prove the staff approver acting."""

    subject_role: Literal["legal_name", "trade_name", "owner"]
    subject: Text
    list_name: Text
    entry_id: Annotated[str, StringConstraints(min_length=1, max_length=80)]
    reason: Annotated[str, StringConstraints(min_length=3, max_length=1000)]


class ConfirmIn(ApproverProof):
    """The second approver, proven by their code."""


class RevokeIn(ApproverProof):
    """The approver revoking, proven by their code, and why the decision no longer holds."""

    reason: Annotated[str, StringConstraints(min_length=3, max_length=1000)]


class DismissalOut(BaseModel):
    """A "not this person" decision; ``status`` ``pending`` awaits the second approver,
    ``revoked`` no longer counts."""

    id: str
    merchant_id: str
    subject_role: str
    subject: str
    list_name: str
    entry_id: str
    strong: bool
    status: str
    reason: str
    dismissed_by: str
    dismissed_at: dt.datetime
    confirmed_by: str | None
    confirmed_at: dt.datetime | None
    revoked_by: str | None = None
    revoked_at: dt.datetime | None = None
    revoke_reason: str | None = None


def _out(row: ScreeningDismissal) -> DismissalOut:
    return DismissalOut(**{name: getattr(row, name) for name in DismissalOut.model_fields})


def _role(actor_name: str) -> str:
    return "approver" if actor_name.startswith("staff:") else "client"


@operation(bp, "/merchants/<merchant_id>/screening/dismissals", "POST",
           scope="decisions:write", summary="Dismiss a screening hit as not this person",
           body=DismissalIn, response=DismissalOut, status=201, tags=("decisions",),
           errors=(404, 409))
def create_dismissal(merchant_id: str, body: DismissalIn, client_id: str):
    """Record "not this person" for one current hit (``screening.hit_dismissed``); a strong
    hit's decision is ``pending`` until a second, different approver confirms it."""
    session = db_session()
    merchant = load_merchant(merchant_id)
    actor = acting_as(body)
    try:
        row = dismiss_hit(session, merchant=merchant, index=screening_index(session),
                          subject_role=body.subject_role, subject=body.subject,
                          list_name=body.list_name, entry_id=body.entry_id,
                          reason=body.reason, actor=actor, role=_role(actor.name), now=now(),
                          policy=active_policy(settings().policy_path))
    except DismissalRefused as exc:
        raise ApiProblem(409, "Dismissal refused", str(exc), kind=exc.code) from exc
    return _out(row), 201


def _dismissal(merchant_id: str, dismissal_id: str) -> ScreeningDismissal:
    row = db_session().get(ScreeningDismissal, dismissal_id)
    if row is None or row.merchant_id != merchant_id:
        raise ApiProblem(404, "Not found", "No such dismissal for this merchant.",
                         kind="not-found")
    return row


@operation(bp, "/merchants/<merchant_id>/screening/dismissals/<dismissal_id>/confirm", "POST",
           scope="decisions:write", summary="Confirm a strong hit's dismissal (four eyes)",
           body=ConfirmIn, response=DismissalOut, tags=("decisions",), errors=(404, 409))
def confirm(merchant_id: str, dismissal_id: str, body: ConfirmIn, client_id: str):
    """The second, different approver confirms (``screening.hit_dismissal_confirmed``)."""
    session = db_session()
    row = _dismissal(merchant_id, dismissal_id)
    actor = acting_as(body)
    try:
        confirm_dismissal(session, dismissal=row, actor=actor, role=_role(actor.name),
                          now=now())
    except DismissalRefused as exc:
        raise ApiProblem(409, "Dismissal refused", str(exc), kind=exc.code) from exc
    return _out(row)


@operation(bp, "/merchants/<merchant_id>/screening/dismissals/<dismissal_id>/revoke", "POST",
           scope="decisions:write", summary="Revoke a screening hit's dismissal",
           body=RevokeIn, response=DismissalOut, tags=("decisions",), errors=(404, 409))
def revoke_dismissal_decision(merchant_id: str, dismissal_id: str, body: RevokeIn,
                              client_id: str):
    """A proven approver takes the decision back (``screening.hit_dismissal_revoked``): it
    stops counting and the merchant is re-screened, so the hit is raised again."""
    session = db_session()
    row = _dismissal(merchant_id, dismissal_id)
    actor = acting_as(body)
    try:
        revoke_dismissal(session, dismissal=row, reason=body.reason, actor=actor,
                         role=_role(actor.name), now=now())
    except DismissalRefused as exc:
        raise ApiProblem(409, "Revocation refused", str(exc), kind=exc.code) from exc
    return _out(row)
