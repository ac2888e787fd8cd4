"""Demo API traffic: a live key for each approved demo merchant and today's payment requests
through the real verification path, replayed in time order with the rest of the demo
(``app.demo.timeline``), so that the demo's keys, audit trail, running totals and limit
meters show what production looks like (R-B5, R-E5).

Every request goes through ``Verifier.verify`` — the decision, the audit event in the hash chain,
the running totals settled under the chain lock — exactly as ``POST /api/v1/verify`` does. A few
are refused on purpose: a call from outside the whitelist, a site that is not the merchant's,
a payment from a blacklisted device (``blacklisted``, which opens a ``blacklist_hit`` alert),
and for the busiest merchant enough volume to reach its daily cap.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from flask import Flask
from sqlmodel import Session

from api_keys.cards import mask_pan
from api_keys.limits import period_start
from api_keys.whitelist import parse_ip
from app.audit.trail import Actor
from app.dataplane.runtime import runtime
from app.demo.sales import BLOCKED_DEVICE
from app.demo.timeline import Timeline
from app.models import Merchant
from app.services.api_anomalies import day_start
from app.services.keys import issue_key
from app.services.verification import VerificationInput

SEED = 20261122
CARDS = ("4111111111111111", "5555555555554444", "4012888888881881", "5105105105105100")


@dataclass(frozen=True)
class Traffic:
    """What the demo sent for one merchant."""

    merchant_id: str
    allowed: int
    refused: int


class DemoTraffic:
    """Today's verifications of the demo's live keys, counted per merchant as they run."""

    def __init__(self, app: Flask, session: Session) -> None:
        self.verifier = runtime(app).verifier
        self.session = session
        self.tokens: dict[str, str] = {}
        self.counts: dict[str, list[int]] = {}
        self.actor = Actor(name="demo-gateway", request_id="demo")

    def issue(self, merchant_id: str, domain: str, servers: str, now: dt.datetime) -> None:
        """A live key (active at once) bound to the merchant's site and a /28 of its servers."""
        issued = issue_key(self.session, merchant=self.session.get(Merchant, merchant_id),
                           name="checkout", environment="live", ip_whitelist=[servers],
                           back_urls=[f"https://{domain}"],
                           actor=Actor(name="demo-loader", request_id="demo"), now=now,
                           peppers=self.verifier.peppers, activation_delay=0)
        self.tokens[merchant_id] = issued.token

    def verify(self, merchant_id: str, request: dict, at: dt.datetime) -> None:
        """One verification through ``Verifier.verify`` (it commits its own audit event)."""
        result = self.verifier.verify(
            VerificationInput(token=self.tokens[merchant_id], **request), actor=self.actor,
            now=at, started=time.perf_counter())
        counts = self.counts.setdefault(merchant_id, [0, 0])
        counts[0 if result.decision.allowed else 1] += 1

    def totals(self) -> list[Traffic]:
        """What was sent, per merchant."""
        return [Traffic(mid, allowed, refused) for mid, (allowed, refused) in self.counts.items()]


# The demo's API traffic covers today so far, or the last MIN_TRAFFIC_SPAN when the day is
# younger: squeezed into the minutes after midnight, the same cards and the same rhythm set off
# card velocity and bot alerts for every merchant (seen at 00:04 UTC: 63 open alerts).
MIN_TRAFFIC_SPAN = dt.timedelta(hours=12)


def traffic_start(now: dt.datetime) -> dt.datetime:
    """When the demo's API traffic begins: UTC midnight, or ``MIN_TRAFFIC_SPAN`` before
    ``now`` if that is earlier."""
    return min(day_start(now), now - MIN_TRAFFIC_SPAN)


def one_limit_day(start: dt.datetime, now: dt.datetime, zone: dt.tzinfo
                  ) -> tuple[dt.datetime, dt.datetime]:
    """The longer part of ``[start, now]`` that lies on one day of the limits' calendar
    (``zone``: the policy's ``limit_timezone``): where a merchant's volume must fall to reach
    its daily cap (seen missing at 03:30 UTC: the span crossed Istanbul midnight, 21:00 UTC,
    near its middle, and neither day's total reached the cap)."""
    midnight = period_start("day", now, zone).astimezone(dt.UTC)
    if midnight <= start:
        return start, now
    return (start, midnight) if midnight - start > now - midnight else (midnight, now)


def plan_api_traffic(timeline: Timeline, traffic: DemoTraffic,
                     merchants: list[tuple[Callable[[], str], str, tuple[int, int], int, bool]],
                     *, now: dt.datetime, limit_zone: dt.tzinfo = dt.UTC) -> None:
    """For each ``(merchant id getter, domain, (ticket min, ticket max), requests, reaches
    cap)``: plan its live key two days ago and ``requests`` verifications spread from
    :func:`traffic_start` until ``now`` (interleaved across merchants by the timeline, as a
    gateway sees them); a merchant meant to reach its daily cap has them all on one day of
    ``limit_zone``'s calendar (:func:`one_limit_day`)."""
    rng = random.Random(SEED)  # noqa: S311 - reproducible demo amounts, not secrets
    start = traffic_start(now)
    # The anomaly story's six calls fall on the monitor's own day (``day_start``), within the
    # two hours before ``now`` or since that day began if that is less.
    story = max(day_start(now), now - dt.timedelta(hours=2))
    for n, (merchant_id, domain, (low, high), count, reaches_cap) in enumerate(merchants):
        first, last = one_limit_day(start, now, limit_zone) if reaches_cap else (start, now)
        span = (last - first).total_seconds()
        servers = f"93.184.216.{16 * (n % 15)}/28"  # live keys refuse reserved ranges
        issued_at = now - dt.timedelta(days=2)
        timeline.at(issued_at, lambda m=merchant_id, d=domain, s=servers, t=issued_at:
                    traffic.issue(m(), d, s, t), domain)
        for i in range(count):
            at = first + dt.timedelta(seconds=span * (i + 1) / (count + 1))
            client = f"93.184.216.{16 * (n % 15) + 1 + i % 14}"
            site = f"https://{domain}/checkout"
            # Customer refs only where the demo shows an API anomaly (R-B6): the first
            # merchant's first server serves six customers in its last six calls — recent, so
            # the alert's 3-hour clock (from the first of them) still runs at the demo's end.
            customer = f"cust-{i}" if n == 0 and i >= count - 6 else None
            if customer:
                client = f"93.184.216.{16 * (n % 15) + 1}"
                at = story + (now - story) * (i - count + 7) / 7
            elif i % 29 == 7:
                client = "93.184.217.23"  # a call from outside the whitelist
            elif i % 31 == 11:
                site = f"https://{domain}.evil.example/checkout"  # not the merchant's site
            # The second merchant's third payment from the end comes from a blacklisted device
            # (R-E2), within the hours before the demo's end as well.
            device = BLOCKED_DEVICE if n == 1 and i == count - 3 else f"web-{n}-{i % 5}"
            request = {
                "client_ip": parse_ip(client), "site": site, "channel": "verify",
                "operation": "sale",
                "amount": Decimal(rng.randint(low, high)).quantize(Decimal("1.00")),
                "currency": "TRY", "card_masked": mask_pan(CARDS[i % len(CARDS)]),
                "customer_ref": customer, "destination_ip": "185.15.59.224",
                "device_id": device}
            timeline.at(at, lambda m=merchant_id, r=request, a=at: traffic.verify(m(), r, a),
                        domain)


__all__ = ["DemoTraffic", "Traffic", "plan_api_traffic"]
