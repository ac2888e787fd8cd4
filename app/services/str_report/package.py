"""Assembling the STR package of a case (R-D5) and its SHA-256.

The package is a JSON object with deterministic ordering (every list sorted by time then id, or
by audit ``seq``) and JSON-native values, so the same case at the same moment and chain head
gives byte-identical canonical JSON. ``sha256`` is SHA-256 over the canonical JSON (sorted keys,
no whitespace, UTF-8) of every other key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import defer
from sqlmodel import Session, select

from app.models import (
    Alert,
    Assessment,
    AuditEvent,
    Case,
    CaseAttachment,
    CaseNote,
    Decision,
    InformationRequest,
    Merchant,
    Ownership,
    Person,
    Transaction,
)
from app.services.ownership import find_shared_ownership
from app.services.personal_data import Disclosure
from app.services.sealed_assessments import open_assessment
from app.services.str_report import anchors as anchoring
from app.services.str_report import evidence, values
from app.services.str_report.errors import CaseNotFound

FORMAT = "kybgate.str/1"
SHA256_RULE = ("SHA-256 of the canonical JSON (sorted keys, no whitespace, UTF-8) of every key "
               "of this package except sha256")
NATIONAL_ID_NOTE = ("kybgate keeps national ids sealed (AES-GCM) with a keyed blind index and "
                    "this mask (R-D7); the full number is decrypted for this package only, "
                    "and the decryption is recorded in the audit trail.")


@dataclass
class Gathered:
    """The rows of one case that the package is made of."""

    case: Case
    merchant: Merchant
    alerts: list[Alert]
    notes: list[CaseNote]
    attachments: list[CaseAttachment]
    requests: list[InformationRequest]
    transactions: list[Transaction]
    txn_alerts: dict[str, list[str]]
    missing_txn_ids: list[str]
    calls: dict[int, AuditEvent] = field(default_factory=dict)
    call_alerts: dict[int, list[str]] = field(default_factory=dict)
    call_status: dict[str, str] = field(default_factory=dict)
    decisions: list[Decision] = field(default_factory=list)
    assessment: Assessment | None = None
    events: dict[str, list[AuditEvent]] = field(default_factory=dict)


def canonical_json(package: dict[str, Any]) -> bytes:
    """The bytes the package hash is computed over (``sha256`` itself left out)."""
    body = {k: v for k, v in package.items() if k != "sha256"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode()


def package_sha256(package: dict[str, Any]) -> str:
    """Hex SHA-256 of :func:`canonical_json`."""
    return hashlib.sha256(canonical_json(package)).hexdigest()


def build_str_package(session: Session, *, case_id: str, now: dt.datetime,
                      disclosure: Disclosure,
                      filing: dict[str, Any] | None = None) -> dict[str, Any]:
    """The STR package of case ``case_id`` as of ``now`` with its ``sha256``; raise
    :class:`CaseNotFound`. ``filing`` (reference, filed_by, filed_at) is set while a filing is
    being recorded; otherwise the case's recorded filing, if any, is shown. The persons'
    names, birth dates and full national ids (what MASAK asks for) are opened through
    ``disclosure``; the caller records it once the package is built (the package names the
    chain head, so the disclosure event comes after it)."""
    case = session.get(Case, case_id)
    if case is None:
        raise CaseNotFound(f"no case with id {case_id}")
    rows = _gather(session, case)
    package = {
        "format": FORMAT, "generated_at": values.when(now),
        "case": _case(rows), "filing": filing or _recorded_filing(case),
        "merchant": _merchant(rows, disclosure),
        "persons": _persons(session, rows.merchant, disclosure),
        "linked_merchants": _linked(session, rows.merchant, disclosure),
        "alerts": _alerts(rows), "transactions": _transactions(rows),
        "missing_transaction_ids": rows.missing_txn_ids, "api_calls": _api_calls(rows),
        "narrative": _narrative(rows), "decisions": _decisions(session, rows),
        "assessment": _assessment(rows, disclosure), "policy_versions": _policy_versions(rows),
        "audit": {"chain_head_at_export": anchoring.head(session),
                  "verify_with": "kybgate audit verify"},
        "sha256_of": SHA256_RULE,
    }
    package["sha256"] = package_sha256(package)
    return package


def _by_case(session: Session, model: Any, case_id: str, order: Any) -> list[Any]:
    stmt = select(model).where(model.case_id == case_id).order_by(order, model.id)
    if model is CaseAttachment:  # the package lists files by checksum; never load their bytes
        stmt = stmt.options(defer(CaseAttachment.content))
    return list(session.exec(stmt).all())


def _gather(session: Session, case: Case) -> Gathered:
    merchant = session.get(Merchant, case.merchant_id)
    alerts = _by_case(session, Alert, case.id, Alert.opened_at)
    txn_alerts: dict[str, list[str]] = defaultdict(list)
    for alert in alerts:
        for tid in evidence.transaction_ids(alert.details):
            txn_alerts[tid].append(alert.id)
    txns = evidence.load_transactions(session, merchant_id=merchant.id, ids=txn_alerts)
    loaded = {t.id for t in txns}
    rows = Gathered(case=case, merchant=merchant, alerts=alerts,
                    notes=_by_case(session, CaseNote, case.id, CaseNote.created_at),
                    attachments=_by_case(session, CaseAttachment, case.id,
                                         CaseAttachment.uploaded_at),
                    requests=_by_case(session, InformationRequest, case.id,
                                      InformationRequest.requested_at),
                    transactions=txns, txn_alerts=dict(txn_alerts),
                    missing_txn_ids=sorted(set(txn_alerts) - loaded))
    _gather_calls(session, rows)
    rows.decisions = list(session.exec(select(Decision).where(
        Decision.merchant_id == merchant.id).order_by(Decision.created_at, Decision.id)).all())
    if merchant.latest_assessment_id:
        rows.assessment = session.get(Assessment, merchant.latest_assessment_id)
    rows.events = anchoring.events_by_target(session, merchant_id=merchant.id,
                                             ids=_target_ids(rows))
    return rows


def _gather_calls(session: Session, rows: Gathered) -> None:
    for alert in rows.alerts:
        calls, status = evidence.api_calls(session, alert)
        rows.call_status[alert.id] = status
        for call in calls:
            rows.calls[call.seq] = call
            rows.call_alerts.setdefault(call.seq, []).append(alert.id)


def _target_ids(rows: Gathered) -> list[str]:
    ids = [rows.case.id, rows.merchant.id]
    for group in (rows.alerts, rows.notes, rows.attachments, rows.requests, rows.transactions,
                  rows.decisions):
        ids += [r.id for r in group]
    if rows.assessment is not None:
        ids.append(rows.assessment.id)
    return ids


def _anchors(rows: Gathered, target_id: str) -> list[dict[str, Any]]:
    """Events targeting the item, and case events that name it in their details (a note or
    attachment may be audited against its case with ``details.note_id`` and the like)."""
    direct = rows.events.get(target_id, [])
    if target_id == rows.case.id:
        return anchoring.anchors(direct)
    named = [e for e in rows.events.get(rows.case.id, [])
             if target_id in (e.details or {}).values()]
    return anchoring.anchors({e.seq: e for e in direct + named}.values())


def _case(rows: Gathered) -> dict[str, Any]:
    c = rows.case
    return {"id": c.id, "title": values.text(c.title), "status": c.status,
            "priority": c.priority, "assignee": c.assignee, "opened_by": c.opened_by,
            "opened_at": values.when(c.opened_at), "due_at": values.when(c.due_at),
            "close_requested_by": c.close_requested_by,
            "close_requested_at": values.when(c.close_requested_at), "outcome": c.outcome,
            "close_reason": values.text(c.close_reason), "closed_by": c.closed_by,
            "closed_at": values.when(c.closed_at), "anchors": _anchors(rows, c.id)}


def _recorded_filing(case: Case) -> dict[str, Any] | None:
    if case.str_filed_at is None:
        return None
    return {"reference": case.str_reference, "filed_by": case.str_filed_by,
            "filed_at": values.when(case.str_filed_at), "package_sha256": case.str_sha256}


def _merchant(rows: Gathered, disclosure: Disclosure) -> dict[str, Any]:
    m = rows.merchant
    contacts = disclosure.contacts(m)  # an STR names how to reach the merchant (audited)
    return {"id": m.id, "legal_name": m.legal_name, "trade_name": m.trade_name,
            "country": m.country, "tax_id": m.tax_id,
            "registration_number": m.registration_number,
            "founded_on": values.when(m.founded_on), "sector": m.sector, "website": m.website,
            "email": contacts.email, "phone": contacts.phone, "iban": m.iban,
            "signup_ip": m.signup_ip,
            "status": str(m.status), "tier": m.tier, "frozen": bool(m.frozen),
            "created_at": values.when(m.created_at), "anchors": _anchors(rows, m.id)}


def _persons(session: Session, merchant: Merchant,
             disclosure: Disclosure) -> list[dict[str, Any]]:
    """Owners and directors, current and past, with the full national id and its mask."""
    links = session.exec(select(Ownership, Person).join(Person, Person.id == Ownership.person_id)
                         .where(Ownership.merchant_id == merchant.id)).all()
    out = []
    for o, p in links:
        who = disclosure.identity(p)
        out.append({"person_id": p.id, "full_name": who.display_name, "role": o.role,
                    "share_pct": values.amount(o.share_pct),
                    "birth_date": values.when(who.birth_date), "nationality": p.nationality,
                    "national_id": who.national_id, "national_id_masked": p.national_id_masked,
                    "national_id_note": NATIONAL_ID_NOTE, "added_at": values.when(o.added_at),
                    "removed_at": values.when(o.removed_at)})
    return sorted(out, key=lambda x: (x["added_at"] or "", x["full_name"], x["person_id"],
                                      x["role"]))


def _linked(session: Session, merchant: Merchant, disclosure: Disclosure) -> dict[str, Any]:
    shared = find_shared_ownership(session, merchant=merchant, disclosure=disclosure)
    return {"merchants": [{"merchant_id": x.merchant_id, "name": x.name, "status": x.status,
                           "shares": list(x.shares)} for x in shared.linked],
            "merchants_per_owner": [{"owner_name": x.owner_name, "merchants": x.merchants}
                                    for x in shared.merchants_per_owner]}


def _alerts(rows: Gathered) -> list[dict[str, Any]]:
    return [{"id": a.id, "scenario": a.scenario, "severity": a.severity,
             "summary": values.text(a.summary), "status": a.status, "assignee": a.assignee,
             "disposition": a.disposition, "resolution": values.text(a.resolution),
             "closed_by": a.closed_by, "occurred_at": values.when(a.occurred_at),
             "opened_at": values.when(a.opened_at), "due_at": values.when(a.due_at),
             "escalated_at": values.when(a.escalated_at), "closed_at": values.when(a.closed_at),
             "evidence": values.evidence(a.details or {}),
             "transaction_ids": evidence.transaction_ids(a.details),
             "api_calls": rows.call_status.get(a.id, "not_applicable"),
             "anchors": _anchors(rows, a.id)} for a in rows.alerts]


def _transactions(rows: Gathered) -> list[dict[str, Any]]:
    return [evidence.transaction_entry(t, rows.txn_alerts.get(t.id, []), _anchors(rows, t.id))
            for t in rows.transactions]


def _api_calls(rows: Gathered) -> list[dict[str, Any]]:
    return [evidence.api_call_entry(rows.calls[seq], rows.call_alerts[seq])
            for seq in sorted(rows.calls)]


def _narrative(rows: Gathered) -> dict[str, Any]:
    return {
        "text": values.text(rows.case.narrative),
        "notes": [{"id": n.id, "author": n.author, "created_at": values.when(n.created_at),
                   "text": values.text(n.text), "anchors": _anchors(rows, n.id)}
                  for n in rows.notes],
        "information_requests": [
            {"id": r.id, "question": values.text(r.question), "status": r.status,
             "requested_by": r.requested_by, "requested_at": values.when(r.requested_at),
             "answer": values.text(r.answer), "answered_by": r.answered_by,
             "answered_at": values.when(r.answered_at), "anchors": _anchors(rows, r.id)}
            for r in rows.requests],
        "attachments": [
            {"id": a.id, "filename": a.filename, "content_type": a.content_type,
             "size": a.size, "sha256": a.sha256, "uploaded_by": a.uploaded_by,
             "uploaded_at": values.when(a.uploaded_at), "anchors": _anchors(rows, a.id)}
            for a in rows.attachments],
    }


def _decisions(session: Session, rows: Gathered) -> dict[str, Any]:
    """Who decided what: the case's and its alerts' events (assign, close, escalate, note…),
    the merchant's decisions, and key actions taken while the case was open."""
    ids = [rows.case.id] + [r.id for group in (rows.alerts, rows.notes, rows.attachments,
                                               rows.requests) for r in group]
    timeline = sorted({e.seq: e for i in ids for e in rows.events.get(i, [])}.values(),
                      key=lambda e: e.seq)
    keys = anchoring.key_actions(session, merchant_id=rows.merchant.id,
                                 since=rows.case.opened_at)
    merchant = [{"id": d.id, "decision": d.decision, "reason": values.text(d.reason),
                 "actor": d.actor, "status": d.status, "confirmed_by": d.confirmed_by,
                 "confirmed_at": values.when(d.confirmed_at), "tier": d.tier,
                 "policy_version": d.policy_version, "assessment_id": d.assessment_id,
                 "created_at": values.when(d.created_at), "anchors": _anchors(rows, d.id)}
                for d in rows.decisions]
    return {"case_events": [anchoring.event_entry(e) for e in timeline],
            "merchant_decisions": merchant,
            "key_actions": [anchoring.event_entry(e) for e in keys]}


def _assessment(rows: Gathered, disclosure: Disclosure) -> dict[str, Any] | None:
    a = rows.assessment
    if a is None:
        return None
    opened = open_assessment(a, disclosure)  # the reasons name owners: sealed, audited
    return {"id": a.id, "policy_version": a.policy_version, "policy_digest": a.policy_digest,
            "score": a.score, "tier": a.tier, "recommended_action": a.recommended_action,
            "reasons": values.evidence(list(opened.reasons)),
            "created_at": values.when(a.created_at), "anchors": _anchors(rows, a.id)}


def _policy_versions(rows: Gathered) -> list[dict[str, Any]]:
    """Each policy version the package relies on and the items decided under it."""
    used: dict[str, list[str]] = defaultdict(list)
    for a in rows.alerts:  # the alert's evidence, or the audit event that opened it
        for details in [a.details or {}] + [e.details or {} for e in rows.events.get(a.id, [])]:
            version = details.get("policy_version")
            if isinstance(version, str):
                used[version].append(a.id)
    for d in rows.decisions:
        if d.policy_version:
            used[d.policy_version].append(d.id)
    if rows.assessment is not None:
        used[rows.assessment.policy_version].append(rows.assessment.id)
    return [{"version": v, "used_by": sorted(set(ids))} for v, ids in sorted(used.items())]
