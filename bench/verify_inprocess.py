"""Benchmark: the in-process verification decision on a cache hit.

Usage: ``python bench/verify_inprocess.py [--iterations N] [--keys K]``

Builds K keys (each with a /24 IPv4 whitelist, an IPv6 /48, two back URLs and limits), caches
their records, then times N decisions as the application makes them on a cache hit:
``tokens.parse`` → ``KeyRecordCache.get`` → ``verify`` (HMAC-SHA256 compare, state, IP whitelist,
back-URL match, Decimal limits). A second series adds what ``/api/v1/auth`` does before that:
``resolve_client_ip`` behind a trusted proxy and ``site_from_headers``. The baseline, in the same
run, is a bare ``hmac.new(pepper, token, sha256)`` + ``hmac.compare_digest`` — the floor any
token check pays. p50/p99 per decision are printed with the ratio to the baseline. Target:
p50 < 20 µs.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import platform
import random
import statistics
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api_keys.backurls import SiteSet, parse_back_urls, site_from_headers  # noqa: E402
from api_keys.cache import KeyRecordCache  # noqa: E402
from api_keys.client_ip import resolve_client_ip  # noqa: E402
from api_keys.tokens import Peppers, generate, hash_token, parse  # noqa: E402
from api_keys.verification import KeyRecord, Limits, VerificationRequest, verify  # noqa: E402
from api_keys.whitelist import NetworkSet, parse_whitelist  # noqa: E402

NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)
PEPPERS = Peppers({1: b"bench-pepper-old-0123456789abcd", 2: b"bench-pepper-new-0123456789abcd"}, 2)
TRUSTED = NetworkSet.parse(["10.0.0.0/8"])


def build_keys(count: int) -> tuple[list[tuple[str, str, str]], KeyRecordCache]:
    """``count`` keys cached; returns (token, client ip, site) triples that should be allowed."""
    cache = KeyRecordCache(ttl_seconds=3600, max_entries=count + 10)
    requests = []
    for n in range(count):
        issued = generate("live")
        version, digest = hash_token(issued.token, PEPPERS)
        net = f"{31 + n // 65536 % 60}.{n // 256 % 256}.{n % 256}"
        whitelist = parse_whitelist([f"{net}.0/24", f"2a00:{n % 65536:x}::/48"], "live")
        sites = parse_back_urls([f"https://shop{n}.com", f"https://pay.shop{n}.com.tr"], "live")
        cache.put(
            KeyRecord(
                key_id=issued.key_id, merchant_id=f"m-{n}", environment="live",
                token_hash=digest, pepper_version=version, status="active",
                activates_at=datetime(2026, 1, 1, tzinfo=UTC),
                networks=NetworkSet(whitelist.networks), back_urls=SiteSet(sites, "live"),
                limits=Limits("TRY", Decimal("10000"), Decimal("100000"), frozenset({"sale"})),
            )
        )  # fmt: skip
        requests.append((issued.token, f"{net}.{n % 250 + 1}", f"https://www.shop{n}.com/cart"))
    return requests, cache


def decide(cache: KeyRecordCache, token: str, client_ip: str, site: str) -> bool:
    parsed = parse(token)
    record = cache.get(parsed.key_id) if parsed else None
    request = VerificationRequest(parsed, client_ip, site, "sale", Decimal("250.00"), "TRY")
    return verify(request, record, NOW, PEPPERS, accept_test_keys=False,
                  daily_spent=Decimal("1200.00")).allowed  # fmt: skip


def decide_from_headers(cache: KeyRecordCache, token: str, client_ip: str, site: str) -> bool:
    resolved = resolve_client_ip("10.0.0.5", f"203.0.113.9, {client_ip}", None, TRUSTED)
    chosen = site_from_headers(site, None, None)
    return decide(cache, token, resolved, chosen)  # type: ignore[arg-type]


def baseline(stored: dict[str, str], token: str, client_ip: str, site: str) -> bool:
    digest = hmac.new(b"bench-pepper-new-0123456789abcd", token.encode(), hashlib.sha256)
    return hmac.compare_digest(digest.hexdigest(), stored[token])


def measure(func, state, requests, iterations: int) -> list[int]:
    timings = []
    clock = time.perf_counter_ns
    for i in range(iterations):
        token, ip, site = requests[i % len(requests)]
        start = clock()
        ok = func(state, token, ip, site)
        timings.append(clock() - start)
        if not ok:
            raise SystemExit(f"unexpected denial for request {i}")
    return timings


def report(name: str, timings: list[int], base_p50: float | None = None) -> float:
    cuts = statistics.quantiles(timings, n=100)
    p50, p99 = statistics.median(timings) / 1000, cuts[98] / 1000
    ratio = f"  {p50 / base_p50:5.1f}x baseline p50" if base_p50 else ""
    print(f"{name:<34} p50 {p50:7.2f} µs   p99 {p99:7.2f} µs{ratio}")
    return p50


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iterations", type=int, default=200_000)
    parser.add_argument("--keys", type=int, default=1000)
    args = parser.parse_args()
    requests, cache = build_keys(args.keys)
    random.Random(7).shuffle(requests)  # noqa: S311 - request order, not a secret
    stored = {token: hash_token(token, PEPPERS)[1] for token, _, _ in requests}
    print(f"python {platform.python_version()} on {platform.machine()}; "
          f"{args.keys} cached keys, {args.iterations} decisions per series")  # fmt: skip
    for func, state in ((baseline, stored), (decide, cache), (decide_from_headers, cache)):
        measure(func, state, requests, min(20_000, args.iterations))  # warm-up
    base = report("baseline: bare HMAC + compare", measure(baseline, stored, requests,
                                                           args.iterations))  # fmt: skip
    p50 = report("verify on cache hit", measure(decide, cache, requests, args.iterations), base)
    report("+ client IP and site resolution",
           measure(decide_from_headers, cache, requests, args.iterations), base)  # fmt: skip
    print(f"target p50 < 20 µs: {'met' if p50 < 20 else 'NOT met'}")


if __name__ == "__main__":
    main()
