"""Which audit actions are webhook events (R-D6), with the action names the services use."""

from __future__ import annotations

import pytest

from app.services.webhook_events import EVENT_TYPES, webhook_type

CHANGED = {"before": {"status": "approved"}, "after": {"status": "suspended"}}


@pytest.mark.parametrize("action, details, expected", [
    ("assessment.completed", {}, "kyb.assessment.completed"),
    ("alert.opened", {}, "aml.alert.opened"),
    ("alert.closed", {}, "aml.alert.closed"),
    ("case.opened", {}, "case.opened"),
    ("case.closed", {}, "case.closed"),
    ("case.str_filed", {}, "case.str_filed"),
    ("key.created", {}, "key.created"),
    ("key.revoked", {}, "key.revoked"),
    ("keys.frozen", {}, "key.frozen"),
    ("keys.unfrozen", {}, "key.unfrozen"),
    ("decision.suspend", CHANGED, "kyb.merchant.status_changed"),
    ("decision.approve", {"before": {"status": None}, "after": {"status": None}}, None),
    ("decision.reject", {"before": {"status": "rejected"}, "after": {"status": "rejected"}},
     None),
    ("api.verify", {}, None),
    ("alert.assigned", {}, None),
    ("case.note_added", {}, None),
])
def test_audit_action_maps_to_its_webhook_type(action, details, expected):
    assert webhook_type(action, details) == expected


def test_every_event_type_the_issue_names_can_be_subscribed():
    assert set(EVENT_TYPES) == {
        "kyb.assessment.completed", "kyb.merchant.status_changed", "aml.alert.opened",
        "aml.alert.closed", "case.opened", "case.closed", "case.str_filed", "key.created",
        "key.revoked", "key.frozen", "key.unfrozen"}
