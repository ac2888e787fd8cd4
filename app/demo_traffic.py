"""Demo API traffic: a live key for each approved demo merchant and today's payment requests
through the real verification path, so that the demo's keys, audit trail, running totals and
limit meters show what production looks like (R-B5, R-E5).

Every request goes through ``Verifier.verify`` — the decision, the audit event in the hash chain,
the running totals settled under the chain lock — exactly as ``POST /api/v1/verify`` does. A few
are refused on purpose: a call from outside the whitelist, a site that is not the merchant's,
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
from api_keys.whitelist import parse_ip
from app.audit.trail import Actor
from app.keys_feature import runtime
from app.models import Merchant
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


def demo_api_traffic(app: Flask, session_factory: Callable[[], Session],
                     merchants: list[tuple[str, str, tuple[int, int], int]], *,
                     now: dt.datetime,
                     progress: Callable[[str], None] = lambda _name: None) -> list[Traffic]:
    """For each ``(merchant id, domain, (ticket min, ticket max), requests)``: issue a live key
    (active at once) bound to the merchant's site and a /28 of its servers, then send
    ``requests`` verifications spread over today until ``now``. Commits its own work."""
    rng = random.Random(SEED)  # noqa: S311 - reproducible demo amounts, not secrets
    verifier = runtime(app).verifier
    actor = Actor(name="demo-gateway", request_id="demo")
    out = []
    for n, (merchant_id, domain, (low, high), count) in enumerate(merchants):
        servers = f"93.184.216.{16 * (n % 15)}/28"  # live keys refuse reserved ranges
        with session_factory() as session:
            merchant = session.get(Merchant, merchant_id)
            issued = issue_key(session, merchant=merchant, name="checkout", environment="live",
                               ip_whitelist=[servers], back_urls=[f"https://{domain}"],
                               actor=Actor(name="demo-loader", request_id="demo"),
                               now=now - dt.timedelta(days=2), peppers=verifier.peppers,
                               activation_delay=0)
            token = issued.token
            session.commit()
        midnight = now.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        span = max((now - midnight).total_seconds(), 60.0)
        allowed = refused = 0
        for i in range(count):
            at = midnight + dt.timedelta(seconds=span * (i + 1) / (count + 1))
            client = f"93.184.216.{16 * (n % 15) + 1 + i % 14}"
            site = f"https://{domain}/checkout"
            # Customer refs only where the demo shows an API anomaly (R-B6): the first
            # merchant's first server serves six customers in a day.
            customer = f"cust-{i}" if n == 0 and i < 6 else None
            if customer:
                client = f"93.184.216.{16 * (n % 15) + 1}"
            if i % 29 == 7:
                client = "93.184.217.23"  # a call from outside the whitelist
            elif i % 31 == 11:
                site = f"https://{domain}.evil.example/checkout"  # not the merchant's site
            request = VerificationInput(
                token=token, client_ip=parse_ip(client), site=site, channel="verify",
                operation="sale", amount=Decimal(rng.randint(low, high)).quantize(Decimal("1.00")),
                currency="TRY", card_masked=mask_pan(CARDS[i % len(CARDS)]),
                customer_ref=customer, destination_ip="185.15.59.224")
            result = verifier.verify(request, actor=actor, now=at, started=time.perf_counter())
            if result.decision.allowed:
                allowed += 1
            else:
                refused += 1
        out.append(Traffic(merchant_id, allowed, refused))
        progress(domain)
    return out


__all__ = ["Traffic", "demo_api_traffic"]
