"""Staff decisions on merchants: approve, approve with limits, request information, reject,
suspend. Each needs a reason, records the policy version and tier it was taken under (R-D4),
is audited, and tells the merchant. A high-tier approval needs two different approvers (four
eyes): the first approval waits as ``pending_second`` until another approver confirms it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlmodel import Session, select

from app.audit.trail import Actor, record
from app.models import Assessment, Decision, Merchant, MerchantStatus, StaffUser
from app.services import hooks
from app.services.assessments import current_policy
from app.services.notifications import notify_merchant
from app.services.verification import merchant_caps

DECISIONS = ("approve", "approve_with_limits", "request_info", "reject", "suspend")
# Which statuses each decision may start from.
ALLOWED_FROM = {
    "approve": {"applied", "in_review", "info_requested", "suspended"},
    "approve_with_limits": {"applied", "in_review", "info_requested", "suspended"},
    "request_info": {"applied", "in_review"},
    "reject": {"applied", "in_review", "info_requested"},
    "suspend": {"approved"},
}
RESULT_STATUS = {"approve": "approved", "approve_with_limits": "approved",
                 "request_info": "info_requested", "reject": "rejected",
                 "suspend": "suspended"}
class DecisionRefused(Exception):
    """A decision that may not be taken now; ``code`` says why (for a 409/422)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code



def _require_staff_approver(session: Session, actor: Actor) -> None:
    """Four eyes are two people: each eye of a high-tier approval is an active staff user with
    the approver (or admin) role, authenticated by the console or by a proven code. An OAuth
    client, the CLI or a system actor is never one."""
    kind, _, email = actor.name.partition(":")
    user = session.exec(select(StaffUser).where(StaffUser.email == email,
                                                StaffUser.active.is_(True))).first() \
        if kind == "staff" else None
    if user is None or user.role not in {"approver", "admin"}:
        raise DecisionRefused("four_eyes", "four eyes: a high-risk approval needs two "
                                           "authenticated staff approvers; "
                                           f"{actor.name} is not one")


def _latest_assessment(session: Session, merchant: Merchant) -> Assessment | None:
    if not merchant.latest_assessment_id:
        return None
    return session.get(Assessment, merchant.latest_assessment_id)


def _pending(session: Session, merchant: Merchant) -> Decision | None:
    return session.exec(select(Decision).where(
        Decision.merchant_id == merchant.id, Decision.status == "pending_second")
        .order_by(Decision.created_at.desc())).first()


def _check_allowed(merchant: Merchant, decision: str, reason: str,
                   assessment: Assessment | None) -> None:
    if decision not in DECISIONS:
        raise DecisionRefused("unknown_decision", f"unknown decision {decision!r}")
    if not reason or len(reason.strip()) < 3:
        raise DecisionRefused("reason_required", "every decision needs a reason")
    if merchant.status not in ALLOWED_FROM[decision]:
        raise DecisionRefused("invalid_transition",
                              f"cannot {decision.replace('_', ' ')} a merchant that is "
                              f"{merchant.status.replace('_', ' ')}")
    if decision.startswith("approve") and assessment is None:
        raise DecisionRefused("assessment_required",
                              "a risk assessment is required before approval (R-A1)")


def decide(session: Session, *, merchant: Merchant, decision: str, reason: str,
           actor: Actor, now: dt.datetime, limits: dict[str, Any] | None = None) -> Decision:
    """Take ``decision`` on ``merchant``. A high-tier approval by a first approver returns a
    ``pending_second`` decision; the same decision by a different approver makes it final.
    Raises ``DecisionRefused`` when the decision may not be taken."""
    assessment = _latest_assessment(session, merchant)
    _check_allowed(merchant, decision, reason, assessment)
    tier = assessment.tier if assessment else merchant.tier
    row = Decision(merchant_id=merchant.id, decision=decision, reason=reason.strip(),
                   actor=actor.name, assessment_id=assessment.id if assessment else None,
                   policy_version=assessment.policy_version if assessment else None,
                   tier=tier, limits=_limits(limits), created_at=now)
    if decision.startswith("approve") and tier == "high":
        _require_staff_approver(session, actor)
        pending = _pending(session, merchant)
        if pending is None:
            row.status = "pending_second"
            session.add(row)
            _audit(session, actor, merchant, row, stage="first_approval")
            session.flush()
            return row
        if pending.actor == actor.name:
            raise DecisionRefused("four_eyes", "four eyes: a second, different approver must "
                                               "confirm this high-risk approval")
        pending.status, pending.confirmed_by, pending.confirmed_at = "superseded", actor.name, now
        session.add(pending)
        row.confirmed_by, row.confirmed_at = pending.actor, pending.created_at
        row.limits = row.limits or pending.limits
    _apply(session, merchant, row, actor, now)
    return row


def _limits(limits: dict[str, Any] | None) -> dict[str, Any]:
    if not limits:
        return {}
    return {k: (format(Decimal(str(v)), "f") if k != "currency" and v is not None else v)
            for k, v in limits.items()}


def _apply(session: Session, merchant: Merchant, row: Decision, actor: Actor,
           now: dt.datetime) -> None:
    old = merchant.status
    new = RESULT_STATUS[row.decision]
    caps_before = merchant_caps(merchant, current_policy())
    merchant.status = new
    if new == MerchantStatus.approved:
        merchant.activated_at = merchant.activated_at or now
        merchant.limits = row.limits
    merchant.updated_at = now
    session.add_all([merchant, row])
    session.flush()
    _audit(session, actor, merchant, row, stage="final", old=old, new=new)
    notify_merchant(session, merchant=merchant, event=f"merchant.{new}",
                    payload={"old_status": old, "new_status": new, "reason": row.reason},
                    now=now)
    if old != new:
        hooks.publish("status_changed", session=session, actor=actor, now=now,
                      merchant=merchant, old=old, new=new)
    if new == MerchantStatus.approved:  # (re-)approved: its keys take any new caps at once
        from app.services.key_blocking import announce_caps_change
        announce_caps_change(session, merchant=merchant, actor=actor, now=now,
                             before=caps_before, reason=f"decision_{row.decision}")


def _audit(session: Session, actor: Actor, merchant: Merchant, row: Decision, *, stage: str,
           old: str | None = None, new: str | None = None) -> None:
    record(session, actor.event(
        f"decision.{row.decision}", target_type="decision", target_id=row.id,
        merchant_id=merchant.id, decision=row.decision, reason=stage,
        details={"reason": row.reason, "tier": row.tier, "policy_version": row.policy_version,
                 "assessment_id": row.assessment_id, "limits": row.limits,
                 "first_approver": row.confirmed_by, "stage": stage,
                 "before": {"status": old}, "after": {"status": new}}))
