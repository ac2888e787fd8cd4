"""``/api/v1/alerts``: read monitoring alerts and work them from a back office (R-C1, R-D5):
list and read (``alerts:read``), assign and close with a disposition and a reason
(``alerts:write``). ``due_at`` is 3 hours after ``occurred_at``, the earliest transaction or
API call behind the alert."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, EmailStr, Field, StringConstraints
from sqlmodel import select

from app.api import bp
from app.api.context import api_actor, now
from app.api.framework import operation
from app.api.paging import id_page
from app.api.schemas import Strict
from app.errors import ApiProblem, validation_problem
from app.extensions import db_session
from app.models import Alert, StaffUser
from app.services import alerts as alert_service

Id = Annotated[str, StringConstraints(min_length=1, max_length=40)]


class AlertQuery(Strict):
    """Filters and paging of ``GET /api/v1/alerts`` (oldest first, by id)."""

    merchant_id: Id | None = None
    status: Literal["open", "in_review", "closed"] | None = None
    limit: int = Field(default=50, ge=1, le=200)
    cursor: Annotated[str, StringConstraints(max_length=200)] | None = None


class AlertOut(BaseModel):
    """An alert and where its work stands."""

    id: str
    merchant_id: str | None
    scenario: str
    severity: str
    summary: str
    evidence: dict[str, Any]
    status: str
    occurred_at: dt.datetime | None
    opened_at: dt.datetime
    due_at: dt.datetime
    overdue: bool
    escalated_at: dt.datetime | None
    assignee: str | None
    case_id: str | None
    disposition: str | None
    reason: str | None
    closed_by: str | None
    closed_at: dt.datetime | None


class AlertPage(BaseModel):
    """A page of alerts; pass ``next_cursor`` back as ``cursor``."""

    items: list[AlertOut]
    next_cursor: str | None


class AssignIn(Strict):
    """``assignee``: the e-mail of an active staff member, or null to unassign."""

    assignee: EmailStr | None


class CloseIn(Strict):
    """How the alert ended and why."""

    disposition: Literal["true_positive", "false_positive", "duplicate", "not_suspicious"]
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3,
                                             max_length=500)]


def alert_out(alert: Alert, at: dt.datetime) -> AlertOut:
    """The API view of ``alert`` at ``at``."""
    return AlertOut(
        id=alert.id, merchant_id=alert.merchant_id, scenario=alert.scenario,
        severity=alert.severity, summary=alert.summary, evidence=alert.details or {},
        status=alert.status, occurred_at=alert.occurred_at, opened_at=alert.opened_at,
        due_at=alert.due_at, overdue=alert.status != "closed" and alert.due_at < at,
        escalated_at=alert.escalated_at, assignee=alert.assignee, case_id=alert.case_id,
        disposition=alert.disposition, reason=alert.resolution, closed_by=alert.closed_by,
        closed_at=alert.closed_at)


def load_alert(alert_id: str) -> Alert:
    """The alert or a 404 problem."""
    alert = alert_service.get_alert(db_session(), alert_id)
    if alert is None:
        raise ApiProblem(404, "Not found", f"No alert with id {alert_id}.", kind="not-found")
    return alert


def state_problem(exc: ValueError) -> ApiProblem:
    """A refused change: 409 naming why."""
    return ApiProblem(409, "Conflict", str(exc), kind=getattr(exc, "code", "conflict"))


@operation(bp, "/alerts", "GET", scope="alerts:read", summary="List alerts",
           query=AlertQuery, response=AlertPage, tags=("alerts",))
def list_alerts(query: AlertQuery, client_id: str):
    """Alerts filtered by merchant and status, in id (opening) order, with cursor paging."""
    stmt = select(Alert)
    if query.merchant_id:
        stmt = stmt.where(Alert.merchant_id == query.merchant_id)
    if query.status:
        stmt = stmt.where(Alert.status == query.status)
    page, cursor = id_page(stmt, Alert.id, cursor=query.cursor, limit=query.limit,
                           prefix="alr_")
    at = now()
    return AlertPage(items=[alert_out(a, at) for a in page], next_cursor=cursor)


@operation(bp, "/alerts/<alert_id>", "GET", scope="alerts:read", summary="Read an alert",
           response=AlertOut, tags=("alerts",), errors=(404,))
def get_alert(alert_id: str, client_id: str):
    """One alert with its evidence (cards masked, as stored)."""
    return alert_out(load_alert(alert_id), now())


@operation(bp, "/alerts/<alert_id>/assign", "POST", scope="alerts:write",
           summary="Assign an alert", body=AssignIn, response=AlertOut, tags=("alerts",),
           errors=(404, 409))
def assign_alert(alert_id: str, body: AssignIn, client_id: str):
    """Give an open or in-review alert to a staff member (null: nobody)."""
    alert, session = load_alert(alert_id), db_session()
    name = None
    if body.assignee is not None:
        user = session.exec(select(StaffUser).where(StaffUser.email == body.assignee.lower(),
                                                    StaffUser.active.is_(True))).first()
        if user is None:
            raise validation_problem([{"field": "assignee", "code": "not_staff",
                                       "message": "no active staff member with this "
                                                  "e-mail"}])
        name = f"staff:{user.email}"
    try:
        alert_service.assign_alert(session, alert=alert, assignee=name, actor=api_actor(),
                                   now=now())
    except alert_service.AlertStateError as exc:
        raise state_problem(exc) from exc
    return alert_out(alert, now())


@operation(bp, "/alerts/<alert_id>/close", "POST", scope="alerts:write",
           summary="Close an alert", body=CloseIn, response=AlertOut, tags=("alerts",),
           errors=(404, 409))
def close_alert(alert_id: str, body: CloseIn, client_id: str):
    """Close an open or in-review alert with its disposition and a reason (both required)."""
    alert = load_alert(alert_id)
    try:
        alert_service.close_alert(db_session(), alert=alert, disposition=body.disposition,
                                  reason=body.reason, actor=api_actor(), now=now())
    except alert_service.AlertStateError as exc:
        raise state_problem(exc) from exc
    return alert_out(alert, now())
