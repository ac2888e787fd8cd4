"""``/api/v1/cases/{id}/str``: the suspicious-transaction report (STR) package of a case as
JSON or PDF (scope ``cases:read``), and the record of its filing (scope ``cases:write``)
(R-D5). Every export is audited as ``case.str_exported``; a filing as ``case.str_filed``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from flask import Response
from pydantic import BaseModel, Field, StringConstraints

from app.api import bp
from app.api.context import api_actor, now
from app.api.framework import operation
from app.api.schemas import Strict
from app.errors import ApiProblem, validation_problem
from app.extensions import db_session
from app.services.str_report import (
    MEDIA_TYPES,
    CaseNotFound,
    StrConflict,
    StrInvalid,
    export_str,
    file_str,
    load_case,
)
from app.services.str_report.filing import MAX_NARRATIVE, MAX_REFERENCE


class StrQuery(Strict):
    """How to return the package."""

    format: Literal["json", "pdf"] = Field(
        default="json", description="json: the package with its SHA-256; pdf: the printable "
                                    "report (English / Turkish headings)")


class StrPackageOut(BaseModel):
    """The STR package. ``sha256`` is SHA-256 over the canonical JSON (sorted keys, no
    whitespace, UTF-8) of every other key; every item carries ``anchors`` (audit ``seq`` and
    ``hash``), and ``audit.chain_head_at_export`` is the chain head when it was built."""

    format: str
    generated_at: str
    case: dict[str, Any]
    filing: dict[str, Any] | None
    merchant: dict[str, Any]
    persons: list[dict[str, Any]]
    linked_merchants: dict[str, Any]
    alerts: list[dict[str, Any]]
    transactions: list[dict[str, Any]]
    missing_transaction_ids: list[str]
    api_calls: list[dict[str, Any]]
    narrative: dict[str, Any]
    decisions: dict[str, Any]
    assessment: dict[str, Any] | None
    policy_versions: list[dict[str, Any]]
    audit: dict[str, Any]
    sha256_of: str
    sha256: str


class StrFilingIn(Strict):
    """The filing of a case's STR."""

    reference: Annotated[str, StringConstraints(min_length=1, max_length=MAX_REFERENCE)] | None = (
        Field(default=None, description="The reference it was filed under; default: one "
                                        "kybgate makes (STR-YYYYMMDD-…)"))
    narrative: Annotated[str, StringConstraints(max_length=MAX_NARRATIVE)] | None = Field(
        default=None, description="The analyst's narrative; default: the case's own")


class StrFilingOut(BaseModel):
    """The filing as recorded on the case."""

    case_id: str
    reference: str
    filed_by: str
    filed_at: str
    sha256: str


def _not_found(exc: CaseNotFound) -> ApiProblem:
    return ApiProblem(404, "Not found", str(exc), kind="not-found")


@operation(bp, "/cases/<case_id>/str", "GET", scope="cases:read",
           summary="Export a case's suspicious-transaction report", query=StrQuery,
           response=StrPackageOut, tags=("cases",), errors=(404, 422),
           media_types={"application/pdf": {"type": "string", "format": "binary"}})
def export_case_str(case_id: str, query: StrQuery, client_id: str):
    """The STR package of the case: merchant, persons and owners (full national ids, as MASAK
    asks, with their masks; the decryption is audited),
    linked merchants, alerts with scenarios and evidence, transactions and API calls concerned
    (cards masked: first 6 / last 4), narrative and notes, decisions and who took them, policy
    versions, and the audit events anchoring each item. ``format=pdf`` returns the printed
    report. The export is audited."""
    try:
        package, data = export_str(db_session(), case_id=case_id, actor=api_actor(),
                                   now=now(), fmt=query.format)
    except CaseNotFound as exc:
        raise _not_found(exc) from exc
    if query.format == "json":
        return package
    return Response(data, mimetype=MEDIA_TYPES["pdf"], headers={
        "Content-Disposition": f'attachment; filename="str-{case_id}.pdf"',
        "X-Package-SHA256": package["sha256"]})


@operation(bp, "/cases/<case_id>/str", "POST", scope="cases:write",
           summary="Record the filing of a case's suspicious-transaction report",
           body=StrFilingIn, response=StrFilingOut, status=201, tags=("cases",),
           errors=(404, 409))
def file_case_str(case_id: str, body: StrFilingIn, client_id: str):
    """Record that the case's STR was filed: reference, filer, time and package SHA-256 on
    the case; the package as filed kept with the case; ``case.str_filed`` audited. 409 when
    an STR was already filed or the case is closed; 422 without a narrative."""
    session = db_session()
    try:
        case = file_str(session, case=load_case(session, case_id), actor=api_actor(),
                        now=now(), reference=body.reference, narrative=body.narrative)
    except CaseNotFound as exc:
        raise _not_found(exc) from exc
    except StrConflict as exc:
        raise ApiProblem(409, "Conflict", str(exc), kind="str-conflict") from exc
    except StrInvalid as exc:
        raise validation_problem([{"field": exc.field, "code": "invalid",
                                   "message": str(exc)}]) from exc
    return StrFilingOut(case_id=case.id, reference=case.str_reference,
                        filed_by=case.str_filed_by,
                        filed_at=case.str_filed_at.isoformat().replace("+00:00", "Z"),
                        sha256=case.str_sha256)
