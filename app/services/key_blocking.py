"""What a merchant's status or risk tier does to its API keys, at once.

* A merchant that stops being approved (suspended, rejected…) gets ``merchant_not_active`` on
  every key; approved again, its keys work again (revoked ones stay revoked).
* A re-assessment that moves an approved merchant to the high tier blocks its keys
  (``merchant_not_active``) until a high-tier (four-eyes) approval follows the assessment
  (``app.services.verification.high_tier_unapproved``).

Either way the change is audited and the merchant notified with the old and new values (R-E4),
and ``keys_changed`` drops the cached key records in every process on commit.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlmodel import Session, select

from app.audit.trail import Actor, record
from app.models import ApiKey, Merchant, MerchantStatus
from app.services import hooks
from app.services.notifications import notify_merchant


def _key_ids(session: Session, merchant: Merchant) -> list[str]:
    return list(session.exec(select(ApiKey.id).where(ApiKey.merchant_id == merchant.id,
                                                     ApiKey.status == "active")).all())


def _announce(session: Session, *, merchant: Merchant, actor: Actor, now: dt.datetime,
              action: str, before: dict[str, Any], after: dict[str, Any], message: str,
              reason: str) -> None:
    key_ids = _key_ids(session, merchant)
    if key_ids:
        record(session, actor.event(action, target_type="merchant", target_id=merchant.id,
                                    merchant_id=merchant.id, reason=reason, at=now,
                                    details={"before": before, "after": after,
                                             "key_ids": key_ids, "message": message}))
        notify_merchant(session, merchant=merchant, event=action, subject=message,
                        body=f"{message}.\n\nBefore: {before}\nAfter: {after}",
                        payload={"before": before, "after": after, "key_ids": key_ids},
                        now=now)
    hooks.publish("keys_changed", session=session, actor=actor, now=now,
                  merchant_id=merchant.id, key_ids=key_ids)


@hooks.subscribe("status_changed")
def on_status_changed(*, session: Session, actor: Actor, now: dt.datetime, merchant: Merchant,
                      old: str, new: str, **_: Any) -> None:
    """Block (or unblock) the merchant's keys when it leaves (or returns to) ``approved``."""
    if MerchantStatus.approved not in {old, new}:
        return
    blocked = new != MerchantStatus.approved
    _announce(session, merchant=merchant, actor=actor, now=now,
              action="keys.blocked" if blocked else "keys.unblocked",
              before={"status": old}, after={"status": new},
              message=("Your API keys are blocked: merchant status is now " + new) if blocked
              else "Your API keys work again: merchant approved",
              reason=f"merchant_{new}")


def _tier_changed(session: Session, merchant: Merchant, old: str | None, new: str | None,
                  actor: Actor, now: dt.datetime) -> None:
    if new != "high" or old == "high":
        return
    done = session.info.setdefault("kyb.tier_blocked", set())
    if merchant.id in done:  # both tier hooks may fire for one change
        return
    done.add(merchant.id)
    if merchant.status != MerchantStatus.approved:
        hooks.publish("keys_changed", session=session, actor=actor, now=now,
                      merchant_id=merchant.id, key_ids=[])
        return
    _announce(session, merchant=merchant, actor=actor, now=now, action="keys.blocked",
              before={"tier": old}, after={"tier": new},
              message="Your API keys are blocked: a re-assessment placed you in the high risk "
                      "tier; they work again after a new approval", reason="tier_high")


@hooks.subscribe("tier_changed")
def on_tier_published(*, session: Session, actor: Actor, now: dt.datetime, merchant: Merchant,
                      old: str | None = None, new: str | None = None, **_: Any) -> None:
    """``publish("tier_changed", old=, new=)`` → block keys on a move to the high tier."""
    _tier_changed(session, merchant, old, new, actor, now)


@hooks.on_tier_changed
def on_tier_changed(session: Session, *, merchant: Merchant, old_tier: str | None,
                    new_tier: str, actor: Actor, now: dt.datetime, **_: Any) -> None:
    """``hooks.tier_changed(...)`` → block keys on a move to the high tier."""
    _tier_changed(session, merchant, old_tier, new_tier, actor, now)
