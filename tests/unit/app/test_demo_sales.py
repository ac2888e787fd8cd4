"""The demo's sales stories raise their monitoring scenario at any hour the demo is loaded, and
a plain merchant's history raises none (``app.demo.sales``; issue 9 item 6)."""

from __future__ import annotations

import datetime as dt
import random
from types import SimpleNamespace

import pytest

from api_keys.cards import protect_pan
from app.demo.sales import JUMP_SPAN, UPLOAD_HOUR, nightly_batches, plan_sales
from checks.monitoring import Activity, MonitoredTransaction, evaluate
from checks.monitoring.windows import zone
from checks.policy import load_policy

POLICY = load_policy()
PEPPER = b"test-pepper-0123456789abcdef"
HOURS = [dt.datetime(2026, 11, 20, h, m, tzinfo=dt.UTC) for h, m in
         ((0, 5), (3, 0), (9, 30), (20, 59), (21, 0), (23, 55))]  # 03:05 … 02:55 Istanbul
STORIES = [("night", 15, (200, 1200), {"night_turnover"}),
           ("round", 10, (150, 900), {"round_amounts"}),
           ("front", 30, (500, 1000), {"card_velocity", "suspicious_description"}),
           ("jump", 20, (120, 600), {"turnover_jump"}),
           ("", 25, (150, 1800), set())]


def _monitored(item) -> MonitoredTransaction:
    card = protect_pan(item.card_number, PEPPER).fingerprint if item.card_number else None
    return MonitoredTransaction(occurred_at=item.occurred_at, amount_try=item.amount,
                                card_fingerprint=card, customer_ref=item.customer_ref,
                                client_ip=item.client_ip, description=item.description)


@pytest.mark.parametrize("now", HOURS, ids=[f"{h:%H%M}Z" for h in HOURS])
@pytest.mark.parametrize(("pattern", "per_day", "ticket", "expected"), STORIES,
                         ids=[s[0] or "plain" for s in STORIES])
def test_each_story_raises_its_scenarios_at_any_hour(now, pattern, per_day, ticket, expected):
    spec = SimpleNamespace(pattern=pattern, sales_per_day=per_day, ticket=ticket)
    items = plan_sales("mer_demo000000000001", spec, activated_days=37, now=now,
                       rng=random.Random(7), zone=zone(POLICY))  # noqa: S311
    assert all(item.occurred_at <= now for item in items)
    activity = Activity(transactions=tuple(_monitored(i) for i in items))
    found = {hit.code for hit in evaluate(activity, POLICY, now)}
    assert found == expected


# The back office's nightly uploads (issue #11: the history was sent in one batch "now", so
# month-window alerts were born weeks overdue).
ISTANBUL = zone(POLICY)


def _local(y, mo, d, h, mi=0, s=0) -> dt.datetime:
    return dt.datetime(y, mo, d, h, mi, s, tzinfo=ISTANBUL).astimezone(dt.UTC)


def _at(moment: dt.datetime, n: int = 0):
    return SimpleNamespace(occurred_at=moment, merchant_id="mer_demo000000000001", n=n)


def test_each_days_sales_are_sent_the_next_night_and_today_s_at_now():
    now = _local(2026, 11, 24, 10, 30)
    items = [_at(_local(2026, 11, 22, 0, 0, 0)), _at(_local(2026, 11, 22, 23, 59, 59)),
             _at(_local(2026, 11, 23, 0, 0, 0)), _at(_local(2026, 11, 24, 9, 0))]
    batches = nightly_batches(items, now=now, zone=ISTANBUL)
    assert [(at, [i.occurred_at for i in batch]) for at, batch in batches] == [
        (_local(2026, 11, 23, UPLOAD_HOUR), [items[0].occurred_at, items[1].occurred_at]),
        (_local(2026, 11, 24, UPLOAD_HOUR), [items[2].occurred_at]),
        (now, [items[3].occurred_at])]
    assert all(i.occurred_at <= at for at, batch in batches for i in batch)


@pytest.mark.parametrize(("minutes", "sent_at_now"), [(-1, True), (1, False)])
def test_yesterdays_upload_waits_for_the_night_run_just_before_it_is_sent_at_now(
        minutes, sent_at_now):
    now = _local(2026, 11, 24, UPLOAD_HOUR) + dt.timedelta(minutes=minutes)
    batches = nightly_batches([_at(_local(2026, 11, 23, 22, 0))], now=now, zone=ISTANBUL)
    assert [at for at, _ in batches] == [now if sent_at_now else _local(2026, 11, 24,
                                                                          UPLOAD_HOUR)]


@pytest.mark.parametrize("now", HOURS, ids=[f"{h:%H%M}Z" for h in HOURS])
def test_todays_jump_falls_within_the_alert_clock_at_any_hour(now):
    spec = SimpleNamespace(pattern="jump", sales_per_day=20, ticket=(120, 600))
    items = plan_sales("mer_demo000000000001", spec, activated_days=37, now=now,
                       rng=random.Random(7), zone=zone(POLICY))  # noqa: S311
    today = [i for i in items if i.occurred_at.astimezone(ISTANBUL).date()
             == now.astimezone(ISTANBUL).date() and i.amount == items[-1].amount]
    assert len(today) == 4
    assert all(now - JUMP_SPAN <= i.occurred_at <= now for i in today)
    assert JUMP_SPAN < dt.timedelta(hours=POLICY.alert_sla_hours)
