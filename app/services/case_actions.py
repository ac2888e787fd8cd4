"""What a case does to and asks of its merchant (R-D5), each audited with the case id:
request information (the portal shows it; the merchant answers), suspend the merchant, freeze
its API keys, tighten its limits, and keep documents (size and type from ``[cases]``, SHA-256
recorded in the trail).

The merchant-side changes call the existing services (``decisions.decide``,
``keys.freeze_merchant_keys``, ``key_blocking.announce_caps_change``), which audit and notify as
they always do; the case adds its own ``case.updated`` event naming the action, so the case's
timeline shows it. From a case, limits can only be lowered: raising them is a decision.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal

from sqlmodel import Session, select

from app.audit.trail import Actor
from app.models import Case, CaseAttachment, InformationRequest, Merchant
from app.services.alerts import casework
from app.services.cases import CaseRefused, audit_case, require_open
from app.services.decisions import DecisionRefused, decide
from app.services.key_blocking import announce_caps_change, caps_snapshot
from app.services.keys import freeze_merchant_keys
from app.services.notifications import notify_merchant
from app.services.verification import merchant_caps
from checks.policy import Policy

LIMIT_FIELDS = {"per_transaction": "max_amount_per_tx", "daily": "daily_amount",
                "monthly": "monthly_amount"}
# Leading bytes of the binary types the policy may allow.
SIGNATURES = {"application/pdf": (b"%PDF-",), "image/png": (b"\x89PNG\r\n\x1a\n",),
              "image/jpeg": (b"\xff\xd8\xff",)}
TEXT_TYPES = ("text/plain", "text/csv")


def _merchant(session: Session, case: Case) -> Merchant:
    merchant = session.get(Merchant, case.merchant_id)
    if merchant is None:  # pragma: no cover - a foreign key keeps it
        raise CaseRefused("the case's merchant is gone", "merchant_not_found")
    return merchant


def request_information(session: Session, *, case: Case, question: str, actor: Actor,
                        now: dt.datetime, policy: Policy) -> InformationRequest:
    """Ask the merchant a question from the case: the portal shows it until answered, the
    merchant is notified, the case waits (``waiting_for_information``)."""
    require_open(case)
    question = (question or "").strip()
    if not 5 <= len(question) <= 5000:
        raise CaseRefused("a question of 5 to 5000 characters is required", "question")
    due = now + dt.timedelta(days=casework(policy).information_request_days)
    row = InformationRequest(case_id=case.id, merchant_id=case.merchant_id, question=question,
                             requested_by=actor.name, requested_at=now, due_at=due)
    previous, case.status = case.status, "waiting_for_information"
    session.add_all([row, case])
    session.flush()
    notify_merchant(session, merchant=_merchant(session, case), event="case.info_requested",
                    payload={"request_id": row.id, "due_at": due.isoformat(),
                             "question": question}, now=now)
    audit_case(session, actor, "case.info_requested", case, now, request_id=row.id,
               question=question, due_at=due.isoformat(), before=previous,
               after=case.status)
    return row


def open_requests(session: Session, *, merchant_id: str) -> list[InformationRequest]:
    """The merchant's unanswered requests, oldest first (what the portal shows)."""
    return list(session.exec(select(InformationRequest).where(
        InformationRequest.merchant_id == merchant_id, InformationRequest.status == "open")
        .order_by(InformationRequest.requested_at, InformationRequest.id)).all())


def answer_request(session: Session, *, request: InformationRequest, answer: str,
                   actor: Actor, now: dt.datetime) -> InformationRequest:
    """The merchant's answer. When no other request of the case is open, the case goes back
    to ``investigating``. Audited on the case (``case.info_answered``)."""
    answer = (answer or "").strip()
    if request.status != "open":
        raise CaseRefused("this request was already answered", "answered")
    if not 1 <= len(answer) <= 10_000:
        raise CaseRefused("an answer of 1 to 10000 characters is required", "answer")
    request.status, request.answer = "answered", answer
    request.answered_by, request.answered_at = actor.name, now
    session.add(request)
    session.flush()
    case = session.get(Case, request.case_id)
    still_open = session.exec(select(InformationRequest.id).where(
        InformationRequest.case_id == case.id, InformationRequest.status == "open")).first()
    previous = case.status
    if still_open is None and case.status == "waiting_for_information":
        case.status = "investigating"
        session.add(case)
        session.flush()
    audit_case(session, actor, "case.info_answered", case, now, request_id=request.id,
               answer=answer, before=previous, after=case.status)
    return request


def suspend_merchant(session: Session, *, case: Case, reason: str, actor: Actor,
                     now: dt.datetime) -> str:
    """Suspend the case's merchant through the decisions service (its keys stop at once);
    returns the decision id."""
    require_open(case)
    try:
        decision = decide(session, merchant=_merchant(session, case), decision="suspend",
                          reason=f"case {case.id}: {(reason or '').strip()}", actor=actor,
                          now=now)
    except DecisionRefused as exc:
        raise CaseRefused(str(exc), exc.code) from exc
    audit_case(session, actor, "case.updated", case, now, change="merchant_suspended",
               decision_id=decision.id, text=reason)
    return decision.id


def freeze_keys(session: Session, *, case: Case, reason: str, actor: Actor,
                now: dt.datetime) -> bool:
    """Freeze every API key of the merchant (the kill switch); False if already frozen."""
    require_open(case)
    text = (reason or "").strip() or "frozen from case"
    done = freeze_merchant_keys(session, merchant=_merchant(session, case), actor=actor,
                                now=now, reason=f"case {case.id}: {text}"[:200])
    if done:
        audit_case(session, actor, "case.updated", case, now, change="keys_frozen", text=text)
    return done


def tighten_limits(session: Session, *, case: Case, limits: dict[str, Decimal | None],
                   reason: str, actor: Actor, now: dt.datetime, policy: Policy) -> dict:
    """Lower the merchant's caps (TRY; keys ``per_transaction``, ``daily``, ``monthly``); a
    value above the cap in force is refused. Applies to its keys at once (and notifies it)."""
    require_open(case)
    merchant = _merchant(session, case)
    before = merchant_caps(merchant, policy)
    wanted = {k: Decimal(v) for k, v in limits.items() if v is not None}
    if not wanted or set(wanted) - set(LIMIT_FIELDS):
        raise CaseRefused("give per_transaction, daily and/or monthly", "limits")
    current = {"per_transaction": before.per_transaction, "daily": before.daily,
               "monthly": before.monthly}
    for name, value in wanted.items():
        cap = current[name] if before.currency == "TRY" else None
        if value <= 0 or (cap is not None and value > cap):
            raise CaseRefused(f"{name} must be above 0 and at most the current cap "
                              f"({cap}); raising a limit is a decision", "limits")
    new = {LIMIT_FIELDS[k]: (str(wanted[k]) if k in wanted else
                             (str(current[k]) if current[k] is not None else None))
           for k in LIMIT_FIELDS}
    merchant.limits = {**{k: v for k, v in new.items() if v is not None}, "currency": "TRY"}
    merchant.updated_at = now
    session.add(merchant)
    session.flush()
    announce_caps_change(session, merchant=merchant, before=before, actor=actor, now=now,
                         reason=f"case {case.id}"[:60])
    after = caps_snapshot(merchant_caps(merchant, policy))
    audit_case(session, actor, "case.updated", case, now, change="limits_adjusted",
               before=caps_snapshot(before), after=after, text=reason)
    return after


def sniff_type(content: bytes, filename: str) -> str | None:
    """The type the bytes really are (PDF, PNG, JPEG, or UTF-8 text; CSV by its name), or
    None for anything else."""
    for kind, heads in SIGNATURES.items():
        if content.startswith(heads):
            return kind
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if "\x00" in text:
        return None
    return "text/csv" if filename.lower().endswith(".csv") else "text/plain"


def add_attachment(session: Session, *, case: Case, filename: str, content: bytes,
                   actor: Actor, now: dt.datetime, policy: Policy) -> CaseAttachment:
    """Keep a document with the case after checking its size and its real type against the
    policy; its SHA-256 goes into the audit event (``case.attachment_added``)."""
    rules = casework(policy)
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()[:200]
    if not name:
        raise CaseRefused("the file needs a name", "filename")
    if not content:
        raise CaseRefused("the file is empty", "empty")
    if len(content) > rules.attachment_max_bytes:
        raise CaseRefused(f"the file is {len(content)} bytes; at most "
                          f"{rules.attachment_max_bytes} are allowed", "too_large")
    kind = sniff_type(content, name)
    if kind not in rules.attachment_types:
        raise CaseRefused(f"files of this type are not accepted (allowed: "
                          f"{', '.join(rules.attachment_types)})", "type_not_allowed")
    digest = hashlib.sha256(content).hexdigest()
    row = CaseAttachment(case_id=case.id, filename=name, content_type=kind, size=len(content),
                         sha256=digest, content=content, uploaded_by=actor.name,
                         uploaded_at=now)
    session.add(row)
    session.flush()
    audit_case(session, actor, "case.attachment_added", case, now, attachment_id=row.id,
               filename=name, content_type=kind, size=len(content), sha256=digest)
    return row


def attachments(session: Session, case: Case) -> list[CaseAttachment]:
    """The case's documents (without loading their content twice), oldest first."""
    return list(session.exec(select(CaseAttachment).where(CaseAttachment.case_id == case.id)
                             .order_by(CaseAttachment.uploaded_at, CaseAttachment.id)).all())


def requests_of(session: Session, case: Case) -> list[InformationRequest]:
    """Every information request of the case, oldest first."""
    return list(session.exec(select(InformationRequest).where(
        InformationRequest.case_id == case.id)
        .order_by(InformationRequest.requested_at, InformationRequest.id)).all())
