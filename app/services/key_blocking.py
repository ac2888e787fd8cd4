"""What a merchant's status or risk tier does to its API keys, at once.

* A merchant that stops being approved (suspended, rejected…) gets ``merchant_not_active`` on
  every key; approved again, its keys work again (revoked ones stay revoked).
* A re-assessment that moves an approved merchant to the high tier blocks its keys
  (``merchant_not_active``) until a high-tier (four-eyes) approval follows the assessment
  (``app.services.verification.high_tier_unapproved``).

Either way the change is audited and the merchant notified with the old and new values (R-E4),
and ``keys_changed`` drops the cached key records in every process on commit.

A change of the merchant's caps (a re-approval with other limits, a move between the low and
medium tiers while it has no limits of its own) applies to its keys at once and is announced
the same way (``keys.caps_changed``; SAMA 004 §15 d: the customer is told when a default limit
is raised, and here also when it is lowered).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlmodel import Session, select

from api_keys.limits import MerchantCaps, plain_amount
from app.audit.trail import Actor, record
from app.models import ApiKey, Merchant, MerchantStatus
from app.services import hooks
from app.services.assessments import current_policy
from app.services.notifications import notify_merchant
from app.services.verification import merchant_caps


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
        notify_merchant(session, merchant=merchant, event=action,
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


def caps_snapshot(caps: MerchantCaps) -> dict[str, str | None]:
    """Caps as the audit trail and the merchant's notice show them."""
    return {"currency": caps.currency, "per_transaction": plain_amount(caps.per_transaction),
            "daily": plain_amount(caps.daily), "monthly": plain_amount(caps.monthly),
            "source": caps.source}


def _caps_words(before: MerchantCaps, after: MerchantCaps) -> str:
    old, new = caps_snapshot(before), caps_snapshot(after)
    parts = []
    for name, label in (("per_transaction", "per transaction"), ("daily", "per day"),
                        ("monthly", "per month")):
        if old[name] != new[name] or old["currency"] != new["currency"]:
            parts.append(f"{label} {old[name] or 'no limit'} {old['currency']} → "
                         f"{new[name] or 'no limit'} {new['currency']}")
    return "; ".join(parts)


def announce_caps_change(session: Session, *, merchant: Merchant, before: MerchantCaps,
                         actor: Actor, now: dt.datetime, reason: str) -> None:
    """If the merchant's caps now differ from ``before``: audit, notify and drop the cached
    key records, so the new caps apply to the next request."""
    after = merchant_caps(merchant, current_policy())
    change = _caps_words(before, after)
    if not change:
        return
    raised = any(
        (new is None and old is not None) or (new is not None and old is not None and new > old)
        for old, new in ((before.per_transaction, after.per_transaction),
                         (before.daily, after.daily), (before.monthly, after.monthly)))
    _announce(session, merchant=merchant, actor=actor, now=now, action="keys.caps_changed",
              before=caps_snapshot(before), after=caps_snapshot(after),
              message=("Your payment limits were raised: " if raised else
                       "Your payment limits changed: ") + change, reason=reason)


def _tier_changed(session: Session, merchant: Merchant, old: str | None, new: str | None,
                  actor: Actor, now: dt.datetime) -> None:
    if new != "high" and old != new and merchant.status == MerchantStatus.approved:
        done = session.info.setdefault("kyb.caps_announced", set())
        if (merchant.id, old, new) not in done:  # both tier hooks may fire for one change
            done.add((merchant.id, old, new))
            announce_caps_change(session, merchant=merchant, actor=actor, now=now,
                                 before=merchant_caps(merchant, current_policy(), tier=old),
                                 reason=f"tier_{new}")
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
