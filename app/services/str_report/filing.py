"""Recording an STR filing on a case, and auditing every export of a case's package.

A case has at most one STR. Filing needs an open case and the analyst's narrative (why the
activity is suspicious); it stores the package exactly as filed with the case (an attachment
whose SHA-256 is audited), records reference, filer, time and the package's SHA-256 on the
case, and audits ``case.str_filed``. Exports are audited as ``case.str_exported`` with the
package hash, so the trail says who took which case's report out, and in which form.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from sqlmodel import Session

from app.audit.trail import Actor, record
from app.models import Case, CaseAttachment
from app.services.personal_data import Disclosure, data_keys, seal_attachment
from app.services.str_report import values
from app.services.str_report.errors import CaseNotFound, StrConflict, StrInvalid
from app.services.str_report.package import build_str_package
from app.services.str_report.pdf import render_str_pdf

FORMATS = ("pdf", "json")
MEDIA_TYPES = {"pdf": "application/pdf", "json": "application/json"}
MAX_REFERENCE = 80
MAX_NARRATIVE = 20000


def load_case(session: Session, case_id: str) -> Case:
    """The case ``case_id``; raise :class:`CaseNotFound`."""
    case = session.get(Case, case_id)
    if case is None:
        raise CaseNotFound(f"no case with id {case_id}")
    return case


def package_bytes(package: dict[str, Any], fmt: str) -> bytes:
    """The package as a JSON document (UTF-8, indented, sorted keys) or a PDF."""
    if fmt == "json":
        return (json.dumps(package, ensure_ascii=False, sort_keys=True, indent=2)
                + "\n").encode()
    if fmt == "pdf":
        return render_str_pdf(package)
    raise StrInvalid("format", f"unknown format {fmt!r}; use one of: {', '.join(FORMATS)}")


def export_str(session: Session, *, case_id: str, actor: Actor, now: dt.datetime,
               fmt: str) -> tuple[dict[str, Any], bytes]:
    """Build case ``case_id``'s package, render it as ``fmt`` and audit the export; returns
    (package, bytes). Raise :class:`CaseNotFound` or :class:`StrInvalid` (bad format)."""
    if fmt not in FORMATS:
        raise StrInvalid("format", f"unknown format {fmt!r}; use one of: {', '.join(FORMATS)}")
    case = load_case(session, case_id)
    disclosure = Disclosure(actor=actor, purpose="STR package export",
                            keys=data_keys(session))
    package = build_str_package(session, case_id=case.id, now=now, disclosure=disclosure)
    data = package_bytes(package, fmt)
    disclosure.record(session, merchant_id=case.merchant_id, details={"case_id": case.id})
    record(session, actor.event(
        "case.str_exported", target_type="case", target_id=case.id,
        merchant_id=case.merchant_id, reason=fmt, at=now,
        details={"format": fmt, "package_sha256": package["sha256"],
                 "file_sha256": hashlib.sha256(data).hexdigest(), "size": len(data),
                 "chain_head_seq": package["audit"]["chain_head_at_export"]["seq"]}))
    return package, data


def file_str(session: Session, *, case: Case, actor: Actor, now: dt.datetime,
             reference: str | None = None, narrative: str | None = None) -> Case:
    """Record that the STR of ``case`` was filed (R-D5): reference (given, or one kybgate
    makes), filer, time and package SHA-256 on the case; the filed package kept with the case;
    ``case.str_filed`` audited. ``narrative``, when given, replaces the case's narrative.
    Raise :class:`StrConflict` for a second filing or a closed case, :class:`StrInvalid` for
    no narrative or a bad reference. Flushes; the caller commits."""
    session.add(case)
    session.flush()
    # Lock the case row (PostgreSQL; SQLite writers are serialised already) and re-read it, so
    # that two approvers filing at once cannot both pass the "not filed yet" check.
    session.refresh(case, with_for_update=True)
    _refuse_unless_fileable(case)
    text = _narrative(case, narrative)
    ref = _reference(case, reference, now)
    changed = text != (case.narrative or "")
    case.narrative = text
    session.add(case)
    session.flush()
    filing = {"reference": ref, "filed_by": actor.name, "filed_at": values.when(now)}
    disclosure = Disclosure(actor=actor, purpose="STR filing", keys=data_keys(session))
    package = build_str_package(session, case_id=case.id, now=now, filing=filing,
                                disclosure=disclosure)
    disclosure.record(session, merchant_id=case.merchant_id, details={"case_id": case.id})
    attachment = _keep_package(session, case=case, package=package, ref=ref, actor=actor,
                               now=now)
    case.str_reference, case.str_filed_by, case.str_filed_at = ref, actor.name, now
    case.str_sha256 = package["sha256"]
    session.add(case)
    session.flush()
    record(session, actor.event(
        "case.str_filed", target_type="case", target_id=case.id, merchant_id=case.merchant_id,
        reason=ref, at=now,
        details={"reference": ref, "package_sha256": package["sha256"],
                 "chain_head_seq": package["audit"]["chain_head_at_export"]["seq"],
                 "attachment_id": attachment.id, "narrative_changed": changed,
                 "alerts": len(package["alerts"]),
                 "transactions": len(package["transactions"]),
                 "api_calls": len(package["api_calls"])}))
    return case


def _refuse_unless_fileable(case: Case) -> None:
    if case.str_filed_at is not None:
        raise StrConflict(f"an STR was already filed for case {case.id} "
                       f"(reference {case.str_reference}, by {case.str_filed_by} at "
                       f"{values.when(case.str_filed_at)}); a case files one STR")
    if case.status == "closed" or case.closed_at is not None:
        raise StrConflict(f"case {case.id} is closed; an STR is filed from an open case")


def _narrative(case: Case, narrative: str | None) -> str:
    text = (narrative if narrative is not None else case.narrative or "").strip()
    if not text:
        raise StrInvalid("narrative", "an STR needs the analyst's narrative: why the activity "
                                      "is suspicious")
    if len(text) > MAX_NARRATIVE:
        raise StrInvalid("narrative", f"the narrative is at most {MAX_NARRATIVE} characters")
    return text


def _reference(case: Case, reference: str | None, now: dt.datetime) -> str:
    ref = (reference or "").strip()
    if not ref:
        return f"STR-{now.astimezone(dt.UTC):%Y%m%d}-{case.id.removeprefix('cas_')[-8:]}"
    if len(ref) > MAX_REFERENCE or not ref.isprintable():
        raise StrInvalid("reference", f"the reference is 1-{MAX_REFERENCE} printable characters")
    return ref


def _keep_package(session: Session, *, case: Case, package: dict[str, Any], ref: str,
                  actor: Actor, now: dt.datetime) -> CaseAttachment:
    """Store the package as filed with the case, so the filed version can be shown later
    even after the case moves on; its checksum goes into the trail."""
    data = package_bytes(package, "json")
    row = CaseAttachment(case_id=case.id, filename=f"str-{case.id}.json",
                         content_type="application/json", size=len(data),
                         sha256=hashlib.sha256(data).hexdigest(), content=b"",
                         uploaded_by=actor.name, uploaded_at=now)
    seal_attachment(row, data, data_keys(session))  # it holds full national ids (R-D7)
    session.add(row)
    session.flush()
    record(session, actor.event(
        "case.attachment_added", target_type="case", target_id=case.id,
        merchant_id=case.merchant_id, at=now,
        details={"attachment_id": row.id, "filename": row.filename, "sha256": row.sha256,
                 "size": row.size, "content_type": row.content_type, "source": "str_filing",
                 "reference": ref}))
    return row
