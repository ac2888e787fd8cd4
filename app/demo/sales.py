"""The demo's sales, sent through the real ingest path (``record_transactions``), so the
``transactions_recorded`` hook runs the monitoring scenarios and the alert queue fills with
real alerts — not rows written beside the services.

Every approved demo merchant gets up to 35 days of card sales (valid card numbers, masked and
fingerprinted on the way in). A few merchants tell a monitoring story (``DemoMerchant.pattern``):

* ``night`` — most of the month's turnover between 21:00 and 06:00 (R-C5);
* ``round`` — four sales in ten at 100, 250 or 500 TRY (R-C6);
* ``front`` — today one card used six times in 75 minutes (R-C7) and betting top-ups in the
  descriptions (R-C10);
* ``jump`` — today's turnover five times yesterday's (R-C2);
* ``stolen_card`` — today a sale with a card on the blacklist: refused and alerted (R-E2).

The back office sends them as it would in production (:func:`nightly_batches`): each day's
sales the next night at ``UPLOAD_HOUR`` local time, today's so far in the latest upload, and
monitoring judges each batch as of the moment it was sent — so a past day's alert opens that
night, not weeks later, and the demo's analysts can work it then (``app.demo.alert_desk``).

The demo's blacklist (:func:`demo_blacklist`) is added first, through the blacklist service.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session
from stdnum import luhn

from app.api.risk_schemas import TransactionIn
from app.audit.trail import Actor
from app.demo.alert_desk import AlertDesk
from app.demo.timeline import Timeline
from app.security import Keyring
from app.services.blacklist import add_entry
from app.services.transactions import record_transactions
from checks.monitoring.windows import zone
from checks.policy import Policy

STOLEN_CARD = "4000056655665556"
BLOCKED_DEVICE = "android-7f3a9c21"
TOR_EXITS = "185.220.101.0/24"
BETTING = "Bahis bakiye yükleme"
BINS = ("454360", "540667", "979207", "375622")
BATCH = 500  # what a back office sends in one POST /api/v1/transactions
# Days of sales history: the scenarios' trailing month and a few days more (each sale costs its
# row and its audit event, as in production; 60 days doubled the demo's load time).
HISTORY_DAYS = 35
# Four orders at irregular shares of the last JUMP_SPAN of today so far: too few gaps for the bot
# scenario even right after midnight, when they fall close together; recent enough that the
# alert's 3-hour clock (from the first of them) still runs when the demo is loaded.
JUMP_MOMENTS = (0.1, 0.35, 0.6, 0.9)
JUMP_SPAN = dt.timedelta(hours=2)
# The back office sends each local day's sales the next night at this local hour (R-C1's clock
# runs from the sales, so monitoring sees a day within hours of its end).
UPLOAD_HOUR = 2
ACTOR = Actor(name="demo-backoffice", request_id="demo")


def demo_blacklist(session: Session, *, keyring: Keyring, now: dt.datetime) -> int:
    """A stolen card, a Tor exit range and a fraudster's device on the blacklist."""
    analyst = Actor(name="staff:analyst@demo.kybgate.test", request_id="demo")
    entries = (("card", STOLEN_CARD, "Reported stolen by the issuing bank"),
               ("ip", TOR_EXITS, "Tor exit nodes behind a card-testing attack"),
               ("device", BLOCKED_DEVICE, "Device behind chargeback fraud at another merchant"))
    for kind, value, reason in entries:
        add_entry(session, kind=kind, value=value, reason=reason, actor=analyst,
                  keyring=keyring, now=now - dt.timedelta(days=2))
    return len(entries)


def _card(rng: random.Random) -> str:
    body = rng.choice(BINS) + "".join(str(rng.randint(0, 9)) for _ in range(9))
    return body + luhn.calc_check_digit(body)


def _sale(merchant_id: str, n: int, at: dt.datetime, amount: Decimal, rng: random.Random,
          **extra: Any) -> TransactionIn:
    body = {"merchant_id": merchant_id, "external_id": f"demo-{merchant_id[-6:]}-{n}",
            "type": "sale", "amount": amount, "currency": "TRY", "occurred_at": at,
            "card_number": _card(rng), "customer_ref": f"cust-{rng.randint(1, 4000)}",
            "client_ip": f"198.51.100.{rng.randint(1, 254)}"}
    return TransactionIn.model_validate({**body, **extra})


def _history_time(day: int, pattern: str, now: dt.datetime, rng: random.Random,
                  zone: ZoneInfo) -> dt.datetime:
    """A moment of the local calendar day ``day`` days before today (whole local days, so
    that day-to-day scenarios compare full days whatever the hour the demo runs)."""
    midnight = now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    start = midnight - dt.timedelta(days=day)
    if pattern == "night" and rng.random() < 0.7:  # 21:00 the evening before to 06:00
        return (start + dt.timedelta(seconds=rng.randint(-3 * 3600, 6 * 3600 - 1))
                ).astimezone(dt.UTC)
    return (start + dt.timedelta(seconds=rng.randint(0, 86399))).astimezone(dt.UTC)


def _amount(pattern: str, ticket: tuple[int, int], rng: random.Random) -> Decimal:
    if pattern == "round" and rng.random() < 0.4:
        return Decimal(rng.choice((100, 250, 500)))
    return Decimal(rng.randint(*ticket)) + Decimal(rng.randint(0, 99)) / 100


def plan_sales(merchant_id: str, spec: Any, *, activated_days: int, now: dt.datetime,
               rng: random.Random, zone: ZoneInfo) -> list[TransactionIn]:
    """The merchant's sales history up to yesterday and its story's sales of today."""
    items: list[TransactionIn] = []
    for day in range(min(HISTORY_DAYS, activated_days), 0, -1):
        for _ in range(max(0, int(rng.gauss(spec.sales_per_day, spec.sales_per_day / 4)))):
            at = _history_time(day, spec.pattern, now, rng, zone)
            items.append(_sale(merchant_id, len(items), at,
                               _amount(spec.pattern, spec.ticket, rng), rng))
    return items + _today(merchant_id, spec, items, now, rng, zone)


def _today(merchant_id: str, spec: Any, history: list[TransactionIn], now: dt.datetime,
           rng: random.Random, zone: ZoneInfo) -> list[TransactionIn]:
    n, out = len(history), []
    if spec.pattern == "front":
        card = _card(rng)
        for i in range(6):  # one card, six sales in 75 minutes
            out.append(_sale(merchant_id, n + i, now - dt.timedelta(minutes=120 - 15 * i),
                             Decimal(rng.randint(*spec.ticket)), rng, card_number=card))
        for i in range(3):
            out.append(_sale(merchant_id, n + 6 + i, now - dt.timedelta(minutes=40 - 10 * i),
                             Decimal("750.00"), rng, description=BETTING))
    elif spec.pattern == "jump":  # four large orders at irregular moments of the last hours
        midnight = now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
        yesterday = sum((t.amount for t in history if t.occurred_at.astimezone(zone).date()
                         == (midnight - dt.timedelta(days=1)).date()), Decimal(0))
        amount = (5 * max(yesterday, Decimal(1000)) / len(JUMP_MOMENTS)).quantize(Decimal(1)) \
            + Decimal("7.35")
        start = max(midnight, now - JUMP_SPAN)
        for i, share in enumerate(JUMP_MOMENTS):
            out.append(_sale(merchant_id, n + i, start + (now - start) * share, amount, rng))
    elif spec.pattern == "stolen_card":
        out.append(_sale(merchant_id, n, now - dt.timedelta(minutes=30), Decimal("18999.00"),
                         rng, card_number=STOLEN_CARD, device_id=BLOCKED_DEVICE))
    return out


def nightly_batches(items: list[TransactionIn], *, now: dt.datetime, zone: ZoneInfo
                    ) -> list[tuple[dt.datetime, list[TransactionIn]]]:
    """``items`` as the back office sends them: each local day's sales the next night at
    ``UPLOAD_HOUR`` local time, and whatever that would send after ``now`` — today's sales —
    at ``now``. Oldest first."""
    by_day: dict[dt.date, list[TransactionIn]] = {}
    for item in items:
        by_day.setdefault(item.occurred_at.astimezone(zone).date(), []).append(item)
    batches: dict[dt.datetime, list[TransactionIn]] = {}
    for day, sold in sorted(by_day.items()):
        sent = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(UPLOAD_HOUR), zone)
        batches.setdefault(min(sent.astimezone(dt.UTC), now), []).extend(sold)
    return sorted(batches.items(), key=lambda batch: batch[0])


class BackOffice:
    """The institution's back office: one upload a night of every merchant's sales of the day
    before (and today's so far at ``now``), on the demo's timeline, each judged by monitoring
    as of the moment it was sent; then the analysts work what it opened (``AlertDesk``)."""

    def __init__(self, session: Session, timeline: Timeline, *, keyring: Keyring,
                 policy: Policy, now: dt.datetime, rng: random.Random,
                 desk: AlertDesk) -> None:
        self.session, self.timeline, self.keyring, self.policy = session, timeline, keyring, \
            policy
        self.now, self.rng, self.desk = now, rng, desk
        self.pending: dict[dt.datetime, list[TransactionIn]] = {}
        self.patterns: dict[str, str] = {}

    def plan(self, merchant_id: str, spec: Any, *, activated_days: int) -> None:
        """Add the merchant's sales (``plan_sales``) to the uploads that will send them; run
        once the merchant exists, before its first sale is sent."""
        self.patterns[merchant_id] = spec.pattern
        items = plan_sales(merchant_id, spec, activated_days=activated_days, now=self.now,
                           rng=self.rng, zone=zone(self.policy))
        for at, batch in nightly_batches(items, now=self.now, zone=zone(self.policy)):
            if at not in self.pending:
                self.pending[at] = []
                self.timeline.at(at, lambda at=at: self.send(at), "back office upload")
            self.pending[at].extend(batch)

    def send(self, at: dt.datetime) -> None:
        """The upload planned at ``at``; then the analysts plan their work on its alerts."""
        batch = self.pending.pop(at)
        record_sales(self.session, batch, keyring=self.keyring, policy=self.policy, now=at)
        for merchant_id in dict.fromkeys(item.merchant_id for item in batch):
            self.desk.work_new_alerts(merchant_id, self.patterns[merchant_id], at)


def record_sales(session: Session, items: list[TransactionIn], *, keyring: Keyring,
                 policy: Policy, now: dt.datetime) -> tuple[int, int]:
    """Send ``items`` in batches as the back office would; returns (recorded, refused)."""
    recorded = refused = 0
    for start in range(0, len(items), BATCH):
        for result in record_transactions(session, items=items[start:start + BATCH],
                                          actor=ACTOR, keyring=keyring, policy=policy,
                                          now=now):
            recorded += result.row is not None and not result.duplicate
            refused += result.refused is not None
    return recorded, refused
