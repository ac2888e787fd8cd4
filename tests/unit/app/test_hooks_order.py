"""``hooks.subscribe(first=True)``: the running figures are updated before the monitoring
scenarios read them (the sector outlier reads the per-day figures of the same batch)."""

from __future__ import annotations

from collections import defaultdict

from app.services import hooks, monitoring
from app.services.figures import on_transactions_recorded as update_figures


def test_figures_subscriber_runs_before_the_scenarios():
    subscribers = hooks._subscribers["transactions_recorded"]
    assert subscribers[0] is update_figures
    assert monitoring.on_transactions_recorded in subscribers[1:]


def test_first_puts_a_subscriber_ahead_and_never_twice(monkeypatch):
    monkeypatch.setattr(hooks, "_subscribers", defaultdict(list))
    calls: list[str] = []

    def late(**_):
        calls.append("late")

    def early(**_):
        calls.append("early")
    hooks.subscribe("keys_changed")(late)
    hooks.subscribe("keys_changed", first=True)(early)
    hooks.subscribe("keys_changed", first=True)(early)
    hooks.publish("keys_changed", session=None, actor=None, now=None, merchant_id="m",
                  key_ids=[])
    assert calls == ["early", "late"]
