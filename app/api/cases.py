"""``/api/v1/cases``: open a case for a merchant from its alerts, read it, add notes, close it
(R-D5; scopes ``cases:read`` and ``cases:write``).

Four eyes through the API: an OAuth client is not a person. Closing a case that needs two
approvers (high or critical priority, a high-severity alert, a filed STR) answers ``202`` with
``close_requested_by`` set and ``status`` still ``open``; a staff approver completes it in the
console. A second call by any client is refused (409 ``four_eyes`` or ``person_required``).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints
from sqlmodel import select

from app.api import bp
from app.api.alerts import AlertOut, alert_out
from app.api.context import api_actor, now
from app.api.framework import operation
from app.api.merchants import load_merchant
from app.api.paging import id_page
from app.api.schemas import Strict
from app.errors import ApiProblem, validation_problem
from app.extensions import db_session
from app.models import Case
from app.models.casework import CASE_OUTCOMES, CASE_STATUSES
from app.services import case_actions
from app.services import cases as case_service
from app.services.assessments import current_policy

Id = Annotated[str, StringConstraints(min_length=1, max_length=40)]
# Refusals that name a field of the request (422); the others are state conflicts (409).
FIELD_CODES = {"title_required": "title", "priority": "priority", "due_in_past": "due_at",
               "alert_not_found": "alert_ids", "other_merchant": "alert_ids",
               "alert_in_case": "alert_ids", "outcome": "outcome",
               "reason_required": "reason", "text_required": "text"}


class CaseIn(Strict):
    """A new case; ``alert_ids`` may be empty (a case without an alert)."""

    merchant_id: Id
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3,
                                            max_length=200)]
    alert_ids: Annotated[list[Id], Field(max_length=100)] = []
    priority: Literal["low", "medium", "high", "critical"] | None = None
    due_at: dt.datetime | None = None


class NoteIn(Strict):
    """A note on the case."""

    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                           max_length=10_000)]


class CloseIn(Strict):
    """The case's outcome and why."""

    outcome: Literal[CASE_OUTCOMES]  # type: ignore[valid-type]
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3,
                                             max_length=1000)]


class NoteOut(BaseModel):
    """A note as stored."""

    id: str
    author: str
    text: str
    created_at: dt.datetime


class InfoRequestOut(BaseModel):
    """A question sent to the merchant and its answer."""

    id: str
    question: str
    status: str
    requested_by: str
    requested_at: dt.datetime
    due_at: dt.datetime | None
    answer: str | None
    answered_at: dt.datetime | None


class AttachmentOut(BaseModel):
    """A document kept with the case (content not included)."""

    id: str
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: str
    uploaded_at: dt.datetime


class CaseOut(BaseModel):
    """A case, its alerts, notes, requests and documents, and where its close stands."""

    id: str
    merchant_id: str
    title: str
    status: str
    priority: str
    assignee: str | None
    opened_by: str
    opened_at: dt.datetime
    due_at: dt.datetime
    alerts: list[AlertOut]
    notes: list[NoteOut]
    information_requests: list[InfoRequestOut]
    attachments: list[AttachmentOut]
    four_eyes: list[str] = Field(description="why closing needs two approvers (empty: not)")
    close_requested_by: str | None
    close_requested_at: dt.datetime | None
    outcome: str | None
    close_reason: str | None
    closed_by: str | None
    closed_at: dt.datetime | None
    str_filed_at: dt.datetime | None


class CaseQuery(Strict):
    """Filters and paging of ``GET /api/v1/cases`` (oldest first, by id)."""

    merchant_id: Id | None = None
    status: Literal[CASE_STATUSES] | None = None  # type: ignore[valid-type]
    limit: int = Field(default=50, ge=1, le=200)
    cursor: Annotated[str, StringConstraints(max_length=200)] | None = None


class CaseSummary(BaseModel):
    """A case in a list (``GET /api/v1/cases/{case_id}`` has its alerts, notes and
    documents)."""

    id: str
    merchant_id: str
    title: str
    status: str
    priority: str
    assignee: str | None
    opened_by: str
    opened_at: dt.datetime
    due_at: dt.datetime
    overdue: bool
    close_requested_by: str | None
    outcome: str | None
    closed_by: str | None
    closed_at: dt.datetime | None
    str_filed_at: dt.datetime | None


class CasePage(BaseModel):
    """A page of cases; pass ``next_cursor`` back as ``cursor``."""

    items: list[CaseSummary]
    next_cursor: str | None


def case_summary(case: Case, at: dt.datetime) -> CaseSummary:
    """The list view of ``case`` at ``at``."""
    return CaseSummary(
        id=case.id, merchant_id=case.merchant_id, title=case.title, status=case.status,
        priority=case.priority, assignee=case.assignee, opened_by=case.opened_by,
        opened_at=case.opened_at, due_at=case.due_at,
        overdue=case.status != "closed" and case.due_at < at,
        close_requested_by=case.close_requested_by, outcome=case.outcome,
        closed_by=case.closed_by, closed_at=case.closed_at, str_filed_at=case.str_filed_at)


def case_out(case: Case) -> CaseOut:
    """The API view of ``case``."""
    session, at = db_session(), now()
    return CaseOut(
        id=case.id, merchant_id=case.merchant_id, title=case.title, status=case.status,
        priority=case.priority, assignee=case.assignee, opened_by=case.opened_by,
        opened_at=case.opened_at, due_at=case.due_at,
        alerts=[alert_out(a, at) for a in case_service.case_alerts(session, case)],
        notes=[NoteOut.model_validate(n, from_attributes=True)
               for n in case_service.case_notes(session, case)],
        information_requests=[InfoRequestOut.model_validate(r, from_attributes=True)
                              for r in case_actions.requests_of(session, case)],
        attachments=[AttachmentOut.model_validate(a, from_attributes=True)
                     for a in case_actions.attachments(session, case)],
        four_eyes=case_service.needs_four_eyes(session, case, current_policy()),
        close_requested_by=case.close_requested_by,
        close_requested_at=case.close_requested_at, outcome=case.outcome,
        close_reason=case.close_reason, closed_by=case.closed_by, closed_at=case.closed_at,
        str_filed_at=case.str_filed_at)


def load_case(case_id: str) -> Case:
    """The case or a 404 problem."""
    case = case_service.get_case(db_session(), case_id)
    if case is None:
        raise ApiProblem(404, "Not found", f"No case with id {case_id}.", kind="not-found")
    return case


def refused(exc: case_service.CaseRefused) -> ApiProblem:
    """422 naming the field when the refusal is about input, else 409."""
    if exc.code in FIELD_CODES:
        return validation_problem([{"field": FIELD_CODES[exc.code], "code": exc.code,
                                    "message": str(exc)}])
    return ApiProblem(409, "Conflict", str(exc), kind=exc.code)


@operation(bp, "/cases", "POST", scope="cases:write", summary="Open a case",
           body=CaseIn, response=CaseOut, status=201, tags=("cases",), errors=(404,))
def create_case(body: CaseIn, client_id: str):
    """Open a case for a merchant from its alerts (or none). Its priority defaults to the
    most severe alert's, its due time to the policy's for that priority."""
    merchant = load_merchant(body.merchant_id)
    try:
        case = case_service.open_case(db_session(), merchant=merchant, title=body.title,
                                      alert_ids=body.alert_ids, priority=body.priority,
                                      due_at=body.due_at, actor=api_actor(), now=now(),
                                      policy=current_policy())
    except case_service.CaseRefused as exc:
        raise refused(exc) from exc
    return case_out(case), 201


@operation(bp, "/cases", "GET", scope="cases:read", summary="List cases",
           query=CaseQuery, response=CasePage, tags=("cases",))
def list_cases(query: CaseQuery, client_id: str):
    """Cases filtered by merchant and status, in id (opening) order, with cursor paging."""
    stmt = select(Case)
    if query.merchant_id:
        stmt = stmt.where(Case.merchant_id == query.merchant_id)
    if query.status:
        stmt = stmt.where(Case.status == query.status)
    page, cursor = id_page(stmt, Case.id, cursor=query.cursor, limit=query.limit,
                           prefix="cas_")
    at = now()
    return CasePage(items=[case_summary(c, at) for c in page], next_cursor=cursor)


@operation(bp, "/cases/<case_id>", "GET", scope="cases:read", summary="Read a case",
           response=CaseOut, tags=("cases",), errors=(404,))
def get_case(case_id: str, client_id: str):
    """A case with its alerts, notes, information requests and documents."""
    return case_out(load_case(case_id))


@operation(bp, "/cases/<case_id>/notes", "POST", scope="cases:write", summary="Add a note",
           body=NoteIn, response=NoteOut, status=201, tags=("cases",), errors=(404,))
def add_note(case_id: str, body: NoteIn, client_id: str):
    """A note on the case, kept in its timeline."""
    try:
        note = case_service.add_note(db_session(), case=load_case(case_id), text=body.text,
                                     actor=api_actor(), now=now())
    except case_service.CaseRefused as exc:
        raise refused(exc) from exc
    return NoteOut.model_validate(note, from_attributes=True), 201


@operation(bp, "/cases/<case_id>/close", "POST", scope="cases:write", summary="Close a case",
           body=CloseIn, response=CaseOut, tags=("cases",), errors=(404, 409),
           extra_responses={202: "The close is requested; a staff approver must confirm it "
                                 "in the console (four eyes)."})
def close_case(case_id: str, body: CloseIn, client_id: str):
    """Close the case with an outcome and a reason (its open alerts close with it). A case
    that needs four eyes is not closed by a client: the answer is 202 with the close
    request recorded, and a staff approver confirms it in the console."""
    case = load_case(case_id)
    try:
        case_service.close_case(db_session(), case=case, outcome=body.outcome,
                                reason=body.reason, actor=api_actor(), role="client",
                                now=now(), policy=current_policy())
    except case_service.CaseRefused as exc:
        raise refused(exc) from exc
    return case_out(case), (200 if case.status == "closed" else 202)
