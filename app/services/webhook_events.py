"""Which audit actions are webhook events (R-D6), and under which event type.

Every state change is audited through ``app.audit.trail``; the trail asks this table whether
an event is also a webhook, so events are emitted from one place, in the same transaction as the
change (see ``app.services.webhooks.enqueue_for_events``). A lookup in a dict per appended event
is the whole cost for actions that are not webhooks; the verification path (``api.verify``,
appended by the audit batcher) never comes here.
"""

from __future__ import annotations

from typing import Any

#: audit action → webhook event type
WEBHOOK_ACTIONS: dict[str, str] = {
    "assessment.completed": "kyb.assessment.completed",
    "alert.opened": "aml.alert.opened",
    "alert.closed": "aml.alert.closed",
    "case.opened": "case.opened",
    "case.closed": "case.closed",
    "case.str_filed": "case.str_filed",
    "key.created": "key.created",
    "key.revoked": "key.revoked",
    "keys.frozen": "key.frozen",
    "keys.unfrozen": "key.unfrozen",
    # app.services.decisions audits a final decision with the status before and after
    "decision.approve": "kyb.merchant.status_changed",
    "decision.approve_with_limits": "kyb.merchant.status_changed",
    "decision.request_info": "kyb.merchant.status_changed",
    "decision.reject": "kyb.merchant.status_changed",
    "decision.suspend": "kyb.merchant.status_changed",
}

#: every event type a webhook endpoint may subscribe to
EVENT_TYPES: tuple[str, ...] = tuple(sorted(set(WEBHOOK_ACTIONS.values())))


def webhook_type(action: str, details: dict[str, Any] | None) -> str | None:
    """The webhook event type of an audit event, or None when it is not one. A decision is
    a status change only when it moved the status (a first approval awaiting the second
    approver does not)."""
    kind = WEBHOOK_ACTIONS.get(action)
    if kind == "kyb.merchant.status_changed":
        before = ((details or {}).get("before") or {}).get("status")
        after = ((details or {}).get("after") or {}).get("status")
        if after is None or before == after:
            return None
    return kind
