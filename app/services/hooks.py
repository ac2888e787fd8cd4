"""Follow-ups of domain events, so that the service which changes a merchant need not know
every consequence (re-assessment, key blocking, cache invalidation).

Events and their keyword arguments (all also get ``session``, ``actor`` and ``now``):
- ``merchant_changed``: ``merchant``, ``changes`` (list of MerchantChange)
- ``status_changed``: ``merchant``, ``old``, ``new`` (merchant status)
- ``tier_changed``: ``merchant``, ``old``, ``new`` (risk tier)
- ``keys_changed``: ``merchant_id``, ``key_ids`` (keys revoked, frozen, rotated…)
- ``transactions_recorded``: ``merchant_id``, ``transactions`` (newly stored Transaction rows)
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from sqlmodel import Session

from app.audit.trail import Actor
from app.models import Merchant, MerchantChange

EVENTS = ("merchant_changed", "status_changed", "tier_changed", "keys_changed",
          "transactions_recorded")
_subscribers: dict[str, list[Callable[..., Any]]] = defaultdict(list)


def subscribe(event: str, *, first: bool = False
              ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: call ``fn(session=, actor=, now=, **event_fields)`` on ``event``.
    ``first`` runs it before the subscribers already registered (e.g. the running figures are
    updated before the monitoring scenarios read them)."""
    if event not in EVENTS:
        raise ValueError(f"unknown event {event!r}; known: {', '.join(EVENTS)}")

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        if fn not in _subscribers[event]:
            _subscribers[event].insert(0, fn) if first else _subscribers[event].append(fn)
        return fn
    return register


def publish(event: str, *, session: Session, actor: Actor, now: dt.datetime,
            **fields: Any) -> None:
    """Run every subscriber of ``event`` in registration order, in the caller's transaction."""
    if event not in EVENTS:
        raise ValueError(f"unknown event {event!r}")
    for fn in list(_subscribers[event]):
        fn(session=session, actor=actor, now=now, **fields)


def on_merchant_changed(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Register ``fn(session, merchant=, changes=, actor=, now=)`` for merchant changes."""
    return subscribe("merchant_changed")(fn)


def merchant_changed(session: Session, *, merchant: Merchant, changes: list[MerchantChange],
                     actor: Actor, now: dt.datetime) -> None:
    """Publish a change of ``merchant`` (nothing when nothing changed)."""
    if changes:
        publish("merchant_changed", session=session, actor=actor, now=now, merchant=merchant,
                changes=changes)


_on_tier: list[Callable[..., Any]] = []


def on_tier_changed(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Register ``fn(session, merchant=, old_tier=, new_tier=, assessment=, actor=, now=)``,
    run when an assessment moves a merchant to another risk tier (e.g. keys react to "high")."""
    if fn not in _on_tier:
        _on_tier.append(fn)
    return fn


def tier_changed(session: Session, *, merchant: Merchant, old_tier: str | None, new_tier: str,
                 assessment: Any, actor: Actor, now: dt.datetime) -> None:
    """Run every tier subscriber (nothing when the tier did not change)."""
    if old_tier == new_tier:
        return
    for fn in list(_on_tier):
        fn(session, merchant=merchant, old_tier=old_tier, new_tier=new_tier,
           assessment=assessment, actor=actor, now=now)
