"""Analysts' "not this person" decisions on screening hits (issue #12 item 3, R-D2).

A reviewer dismisses a hit with a reason; a strong hit needs four eyes (a first approver
dismisses, a second, different approver confirms; an analyst can do neither). The decision is
remembered for the merchant, the subject (role, name and, for an owner, birth date) and the list
entry (list name, entry id, digest of the entry's data): ``apply_dismissals`` marks the hits of a
new screening that a still-valid decision covers, and ``sanctions_pep`` no longer counts a
confirmed one (it stays in the evidence as ``dismissed`` with who and why). A change of the
subject's name or birth date, or of the entry's data, makes the decision lapse. An approver can
revoke a decision with a reason (``revoke_dismissal``, audited; one approver is enough even for a
strong hit, because revoking only makes screening stricter): it stops counting at once and the
merchant is re-screened, so the hit is raised again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import replace

from sqlmodel import Session, select

from app.audit.trail import Actor, record
from app.crypto.data_keys import DataKeys
from app.db import as_utc
from app.models import Merchant, ScreeningDismissal
from app.services.personal_data import data_keys
from app.services.screening import _owners, screen_merchant
from app.services.screening_subjects import seal_subject
from checks.facts import HitDismissal, ScreeningHit
from checks.kyb.screening import hit_grade
from checks.policy import Policy
from checks.screening import ScreeningIndex

APPROVER_ROLES = ("approver", "admin")
PEOPLE_ROLES = ("analyst", "approver", "admin")
RESCREEN_JOB = "rescreen_after_dismissal"
RESCREEN_TRIGGER = "screening hit dismissed"
REVOKE_TRIGGER = "screening dismissal revoked"
LIVE_STATUSES = ("pending", "active")  # a revoked decision is history only


class DismissalRefused(ValueError):
    """The decision cannot be taken; ``code`` is stable (for a 403/409/422)."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def subject_digest(role: str, name: str, birth_date: dt.date | None = None,
                   keys: DataKeys | None = None) -> str:
    """The keyed blind index of what identifies a screened subject: its role, name and birth
    date (R-D7: a plain hash of a name and birth date can be reversed by trying names)."""
    text = f"{role}\x1f{' '.join(name.split()).casefold()}\x1f{birth_date or ''}"
    return keyed_digest(hashlib.sha256(text.encode()).hexdigest(), keys)


def keyed_digest(plain: str, keys: DataKeys | None = None) -> str:
    """The blind index of a subject's plain SHA-256 (migration 0020 moves stored digests)."""
    return (keys or data_keys()).blind_index("screening-subject", plain)


def _subject_digests(session: Session, merchant: Merchant) -> dict[tuple[str, str], set[str]]:
    """(role, name) → the digests of the merchant's current subjects of that role and name."""
    subjects: dict[tuple[str, str], set[str]] = {}
    keys = data_keys(session)
    names = [("legal_name", merchant.legal_name, None), ("trade_name", merchant.trade_name, None)]
    names += [("owner", p.full_name, p.birth_date) for p in _owners(session, merchant.id)]
    for role, name, born in names:
        if name:
            subjects.setdefault((role, name), set()).add(subject_digest(role, name, born, keys))
    return subjects


def apply_dismissals(session: Session, *, merchant: Merchant, hits: tuple[ScreeningHit, ...],
                     index: ScreeningIndex | None) -> tuple[ScreeningHit, ...]:
    """``hits`` with each still-valid decision attached (``hit.dismissal``)."""
    if not hits or index is None:
        return hits
    rows = session.exec(select(ScreeningDismissal)
                        .where(ScreeningDismissal.merchant_id == merchant.id,
                               ScreeningDismissal.status.in_(LIVE_STATUSES))
                        .order_by(ScreeningDismissal.dismissed_at.desc(),
                                  ScreeningDismissal.id.desc())).all()
    if not rows:
        return hits
    subjects = _subject_digests(session, merchant)
    return tuple(_with_decision(hit, rows, subjects, index) for hit in hits)


def _with_decision(hit: ScreeningHit, rows: list[ScreeningDismissal],
                   subjects: dict[tuple[str, str], set[str]],
                   index: ScreeningIndex) -> ScreeningHit:
    entry = index.entry(hit.list_name, hit.entry_id)
    if entry is None:
        return hit
    digests, entry_digest = subjects.get((hit.subject_role, hit.subject), set()), entry.digest()
    for row in rows:  # newest first
        if (row.list_name, row.entry_id, row.subject_role) == (
                hit.list_name, hit.entry_id, hit.subject_role) \
                and row.subject_digest in digests and row.entry_digest == entry_digest:
            return replace(hit, dismissal=_note(row))
    return hit


def _note(row: ScreeningDismissal) -> HitDismissal:
    return HitDismissal(dismissal_id=row.id, status=row.status, reason=row.reason,
                        dismissed_by=row.dismissed_by, dismissed_at=row.dismissed_at,
                        confirmed_by=row.confirmed_by, confirmed_at=row.confirmed_at)


def find_hit(session: Session, *, merchant: Merchant, index: ScreeningIndex | None,
             subject_role: str, subject: str, list_name: str,
             entry_id: str) -> ScreeningHit | None:
    """The merchant's current hit on that subject and list entry, decisions attached."""
    hits, _ = screen_merchant(session, merchant=merchant, index=index)
    hits = apply_dismissals(session, merchant=merchant, hits=hits, index=index)
    return next((hit for hit in hits if (hit.subject_role, hit.subject, hit.list_name,
                                         hit.entry_id) == (subject_role, subject, list_name,
                                                           entry_id)), None)


def dismiss_hit(session: Session, *, merchant: Merchant, index: ScreeningIndex | None,
                subject_role: str, subject: str, list_name: str, entry_id: str, reason: str,
                actor: Actor, role: str, now: dt.datetime, policy: Policy) -> ScreeningDismissal:
    """Record "not this person" for the hit. A possible hit's decision is ``active`` at once; a
    strong hit's is ``pending`` until ``confirm_dismissal`` by a second, different approver.
    Raises ``DismissalRefused`` (reason_required, person_required, approver_required,
    no_such_hit, already_dismissed)."""
    text = (reason or "").strip()
    if not 3 <= len(text) <= 1000:
        raise DismissalRefused("a reason of 3 to 1000 characters is required", "reason_required")
    if role not in PEOPLE_ROLES:
        raise DismissalRefused("only a person signed in to the console can dismiss a hit",
                               "person_required")
    hit = find_hit(session, merchant=merchant, index=index, subject_role=subject_role,
                   subject=subject, list_name=list_name, entry_id=entry_id)
    if hit is None:
        raise DismissalRefused("no such screening hit for this merchant now", "no_such_hit")
    if hit.dismissal is not None:
        raise DismissalRefused(f"this hit already has a decision ({hit.dismissal.status})",
                               "already_dismissed")
    strong = hit_grade(hit, policy) == "strong"
    if strong and role not in APPROVER_ROLES:
        raise DismissalRefused("a strong hit needs two approvers; an analyst cannot dismiss it",
                               "approver_required")
    row = _store(session, merchant, hit, index, text, actor, now, strong)
    record(session, actor.event(
        "screening.hit_dismissed", target_type="screening_dismissal", target_id=row.id,
        merchant_id=merchant.id, reason=text, at=now,
        details={"subject_role": hit.subject_role, "subject": row.subject,  # masked (R-D7)
                 "list_name": hit.list_name, "entry_id": hit.entry_id,
                 "entry_name": hit.entry_name, "score": hit.score, "strong": strong,
                 "status": row.status}))
    session.flush()
    if row.status == "active":
        queue_rescreen(session, dismissal=row)
    return row


def _store(session: Session, merchant: Merchant, hit: ScreeningHit, index: ScreeningIndex,
           text: str, actor: Actor, now: dt.datetime, strong: bool) -> ScreeningDismissal:
    entry = index.entry(hit.list_name, hit.entry_id)
    born = None
    if hit.subject_role == "owner":
        born = next((p.birth_date for p in _owners(session, merchant.id)
                     if p.full_name == hit.subject), None)  # opened for screening, audited
    keys = data_keys(session)
    row = ScreeningDismissal(
        merchant_id=merchant.id, subject_role=hit.subject_role, subject="",
        subject_digest=subject_digest(hit.subject_role, hit.subject, born, keys),
        list_name=hit.list_name, entry_id=hit.entry_id, entry_name=hit.entry_name[:300],
        entry_digest=entry.digest(), strong=strong,
        status="pending" if strong else "active", reason=text, dismissed_by=actor.name,
        dismissed_at=now)
    seal_subject(row, hit.subject[:300], keys)
    session.add(row)
    session.flush()
    return row


def confirm_dismissal(session: Session, *, dismissal: ScreeningDismissal, actor: Actor,
                      role: str, now: dt.datetime) -> ScreeningDismissal:
    """The second approver's confirmation of a strong hit's dismissal (four eyes). Raises
    ``DismissalRefused`` (not_pending, approver_required, four_eyes)."""
    if dismissal.status != "pending":
        raise DismissalRefused("this decision is not awaiting confirmation", "not_pending")
    if role not in APPROVER_ROLES:
        raise DismissalRefused("only an approver can confirm dismissing a strong hit",
                               "approver_required")
    if dismissal.dismissed_by == actor.name:
        raise DismissalRefused("four eyes: a second, different approver must confirm",
                               "four_eyes")
    dismissal.status, dismissal.confirmed_by, dismissal.confirmed_at = "active", actor.name, now
    session.add(dismissal)
    record(session, actor.event(
        "screening.hit_dismissal_confirmed", target_type="screening_dismissal",
        target_id=dismissal.id, merchant_id=dismissal.merchant_id, at=now,
        details={"subject_role": dismissal.subject_role, "subject": dismissal.subject,
                 "list_name": dismissal.list_name, "entry_id": dismissal.entry_id,
                 "dismissed_by": dismissal.dismissed_by}))
    session.flush()
    queue_rescreen(session, dismissal=dismissal)
    return dismissal


def revoke_dismissal(session: Session, *, dismissal: ScreeningDismissal, reason: str,
                     actor: Actor, role: str, now: dt.datetime) -> ScreeningDismissal:
    """An approver takes back a "not this person" decision (pending or active): it stops
    counting at once, the merchant is re-screened after the commit and the hit is raised
    again. Audited as ``screening.hit_dismissal_revoked``. Raises ``DismissalRefused``
    (reason_required, approver_required, already_revoked)."""
    text = (reason or "").strip()
    if not 3 <= len(text) <= 1000:
        raise DismissalRefused("a reason of 3 to 1000 characters is required", "reason_required")
    if role not in APPROVER_ROLES:
        raise DismissalRefused("only an approver can revoke a dismissal", "approver_required")
    if dismissal.status not in LIVE_STATUSES:
        raise DismissalRefused("this decision is already revoked", "already_revoked")
    before = dismissal.status
    dismissal.status, dismissal.revoked_by, dismissal.revoked_at = "revoked", actor.name, now
    dismissal.revoke_reason = text
    session.add(dismissal)
    record(session, actor.event(
        "screening.hit_dismissal_revoked", target_type="screening_dismissal",
        target_id=dismissal.id, merchant_id=dismissal.merchant_id, reason=text, at=now,
        details={"subject_role": dismissal.subject_role, "subject": dismissal.subject,
                 "list_name": dismissal.list_name, "entry_id": dismissal.entry_id,
                 "dismissed_by": dismissal.dismissed_by, "status_before": before,
                 "strong": dismissal.strong}))
    session.flush()
    queue_rescreen(session, dismissal=dismissal)
    return dismissal


def queue_rescreen(session: Session, *, dismissal: ScreeningDismissal) -> None:
    """Queue, once the session commits, the re-assessment that shows an active or revoked
    decision."""
    from app.jobs import enqueue_after_commit
    enqueue_after_commit(session, RESCREEN_JOB, merchant_id=dismissal.merchant_id,
                         dismissal_id=dismissal.id)


def rescreen_after_dismissal(session: Session, *, merchant_id: str, dismissal_id: str,
                             actor: Actor, now: dt.datetime) -> str | None:
    """Re-screen and re-assess the merchant (``sanctions_pep`` refreshed, other network facts
    reused) so that its page reflects an active or a revoked decision; returns the new
    assessment's id. Nothing is done for a merchant never assessed, a decision still pending,
    or when the current assessment already follows the decision (a repeated run)."""
    from flask import has_app_context

    from app.models import Assessment
    from app.services.assessments import assess_merchant, current_policy
    from app.services.facts import lookup_sources
    from app.services.screening import screening_index
    dismissal = session.get(ScreeningDismissal, dismissal_id)
    merchant = session.get(Merchant, merchant_id)
    if not has_app_context() or dismissal is None or dismissal.status == "pending" \
            or merchant is None or not merchant.latest_assessment_id:
        return None
    revoked = dismissal.status == "revoked"
    trigger = REVOKE_TRIGGER if revoked else RESCREEN_TRIGGER
    since = dismissal.revoked_at if revoked else (dismissal.confirmed_at
                                                  or dismissal.dismissed_at)
    latest = session.get(Assessment, merchant.latest_assessment_id)
    if latest is not None and latest.trigger == trigger \
            and as_utc(latest.created_at) >= as_utc(since):
        return None
    assessment = assess_merchant(session, merchant=merchant, actor=actor, now=now,
                                 trigger=trigger, sources=lookup_sources(),
                                 index=screening_index(session), policy=current_policy(),
                                 refresh_checks=("sanctions_pep",))
    return assessment.id
