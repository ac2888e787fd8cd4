"""Benchmark: what masking card numbers adds to one verification's audit event (issue #13 #4).

Usage: ``python bench/scrub_inprocess.py [--iterations N]``

``app.audit.trail.event_row`` masks card numbers in every caller-writable text field of an
event and, when its JSON dump may hold one, in ``details``. This times exactly that work
(``scrub_pans`` on each text field, ``dump_may_hold_pan`` on the dump, ``scrub_value`` when needed)
for four api.verify events: a typical allowed one, a denied one, a customer ref with a date
and numbers in it, and a customer ref with a card number in it. p50/p99 in µs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api_keys.cards import dump_may_hold_pan, scrub_pans, scrub_value  # noqa: E402
from app.audit.trail import _TEXT_FIELDS, EventDraft  # noqa: E402

NOW = dt.datetime(2026, 11, 27, tzinfo=dt.UTC)


def _verify_event(customer_ref: str | None = "cust-000123", allowed: bool = True) -> EventDraft:
    return EventDraft(
        action="api.verify", actor="client:kybc_0123456789abcdef",
        request_id="5e19870c42e4dd43f670ccc4", target_type="api_key", target_id="Zh813c7lPYZn",
        merchant_id="mer_bpq1jj3svttjm7hsvvrp" if allowed else None,
        key_id="Zh813c7lPYZn" if allowed else None, source_ip="93.184.216.34",
        operation="sale", amount=Decimal("250.00"), currency="TRY",
        card_masked="411111******1111", customer_ref=customer_ref,
        site="https://shop.example.com", decision="allow" if allowed else "deny",
        reason="ok" if allowed else "invalid_token", latency_ms=0.42,
        details={"channel": "verify", **({"charges": [{"window": "day", "amount": "250.0000"}]}
                                          if allowed else {})}, at=NOW)


def scrub(draft: EventDraft, dumped: str) -> None:
    for name in _TEXT_FIELDS:
        value = getattr(draft, name)
        if value is not None:
            scrub_pans(value)
    if dump_may_hold_pan(dumped):
        scrub_value(draft.details)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iterations", type=int, default=20000)
    args = parser.parse_args()
    cases = {"allowed, typical": _verify_event(),
             "denied": _verify_event(None, allowed=False),
             "ref with numbers": _verify_event("order 2026-11-27 no 12345 qty 3"),
             "ref with a card": _verify_event("qty 3 4111 1111 1111 1111")}
    for name, draft in cases.items():
        dumped = json.dumps(draft.details, default=str)
        samples = []
        for _ in range(args.iterations):
            start = time.perf_counter_ns()
            scrub(draft, dumped)
            samples.append(time.perf_counter_ns() - start)
        samples.sort()
        p50, p99 = statistics.median(samples) / 1000, samples[int(len(samples) * 0.99)] / 1000
        print(f"{name:18s} p50 {p50:6.2f} µs   p99 {p99:6.2f} µs")


if __name__ == "__main__":
    main()
