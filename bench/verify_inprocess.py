"""Benchmark: the in-process verification decision on a cache hit.

Usage: ``python bench/verify_inprocess.py [--iterations N] [--keys K] [--blacklist-ips I]
[--blacklist-cards C]``

Builds K keys (each with a /24 IPv4 whitelist, an IPv6 /48, two back URLs and limits), caches
their records, then times N decisions as the application makes them on a cache hit:
``tokens.parse`` → ``KeyRecordCache.get`` → ``verify`` (HMAC-SHA256 compare, state, IP whitelist,
back-URL match, Decimal limits). A second series adds what ``/api/v1/auth`` does before that:
``resolve_client_ip`` behind a trusted proxy and ``site_from_headers``. The baseline, in the same
run, is a bare ``hmac.new(pepper, token, sha256)`` + ``hmac.compare_digest`` — the floor any
token check pays. p50/p99 per decision are printed with the ratio to the baseline. Target:
p50 < 20 µs.

The blacklist (R-E2): an index of I IP addresses and CIDR blocks (/32, /28, /24, /22, /16 and
IPv6 /48) and C card fingerprints is built; then, in the same run, the lookup alone (the card's
keyed fingerprint, the probe, ``BlacklistIndex.match``) and the cache-hit decision with the
lookup are timed. Target: the lookup adds < 20 µs p99.
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
from ipaddress import ip_address
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api_keys.backurls import SiteSet, parse_back_urls, site_from_headers  # noqa: E402
from api_keys.blacklist import BlacklistIndex, BlacklistProbe, Listed  # noqa: E402
from api_keys.cache import KeyRecordCache  # noqa: E402
from api_keys.cards import mask_pan, protect_pan  # noqa: E402
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


CARD_PEPPER = b"bench-pepper-new-0123456789abcd"
PANS = ("4111111111111111", "5555555555554444", "4012888888881881", "5105105105105100")


def build_blacklist(ips: int, cards: int) -> BlacklistIndex:
    """``ips`` addresses and blocks of assorted prefix lengths, ``cards`` fingerprints."""
    rng = random.Random(11)  # noqa: S311 - reproducible data, not secrets
    entries = []
    prefixes = (32, 32, 32, 28, 24, 24, 22, 16)
    for n in range(ips):
        prefix = prefixes[n % len(prefixes)]
        if n % 10 == 9:
            key = f"2a0{n % 9}:{rng.randrange(65536):x}:{rng.randrange(65536):x}::/48"
        else:
            address = (rng.randrange(1, 224) << 24) | rng.randrange(1 << 24)
            address &= ~((1 << (32 - prefix)) - 1) & 0xFFFFFFFF
            dotted = ".".join(str(address >> s & 255) for s in (24, 16, 8, 0))
            key = dotted if prefix == 32 else f"{dotted}/{prefix}"
        entries.append(Listed(f"blk_ip{n}", "ip", key, key))
    for n in range(cards):
        digest = hashlib.sha256(f"card-{n}".encode()).hexdigest()
        entries.append(Listed(f"blk_card{n}", "card", digest, "411111******1111"))
    return BlacklistIndex.build(entries, generation=1)


ADDRESSES: dict[str, object] = {}


def lookup(index: BlacklistIndex, token: str, client_ip: str, site: str) -> bool:
    """What a verification adds: the card's keyed fingerprint (its mask and Luhn check are
    paid already), the probe and the match. The client IP arrives parsed."""
    digits = PANS[len(token) % 4]
    fingerprint = hmac.new(CARD_PEPPER, b"kybgate:pan:v1:" + digits.encode(),
                           hashlib.sha256).hexdigest()
    probe = BlacklistProbe(ip=ADDRESSES[client_ip], card_fingerprint=fingerprint,
                           customer_ref="cust-42", device_id="device-7")
    return index.match(probe) is None


def decide_card(cache: KeyRecordCache, token: str, client_ip: str, site: str) -> bool:
    """The decision as the view makes it for a request with a card, without the blacklist."""
    masked = mask_pan(PANS[len(token) % 4])
    parsed = parse(token)
    record = cache.get(parsed.key_id) if parsed else None
    request = VerificationRequest(parsed, ADDRESSES[client_ip], site, "sale", Decimal("250.00"),
                                  "TRY")
    return bool(masked) and verify(request, record, NOW, PEPPERS, accept_test_keys=False,
                                   daily_spent=Decimal("1200.00")).allowed


def decide_with_blacklist(state: tuple[KeyRecordCache, BlacklistIndex], token: str,
                          client_ip: str, site: str) -> bool:
    """The same with the card protected (mask + fingerprint) and the blacklist consulted."""
    cache, index = state
    card = protect_pan(PANS[len(token) % 4], CARD_PEPPER)
    parsed = parse(token)
    record = cache.get(parsed.key_id) if parsed else None
    address = ADDRESSES[client_ip]
    probe = BlacklistProbe(ip=address, card_fingerprint=card.fingerprint,
                           customer_ref="cust-42", device_id="device-7")
    request = VerificationRequest(parsed, address, site, "sale", Decimal("250.00"), "TRY", probe)
    return verify(request, record, NOW, PEPPERS, accept_test_keys=False,
                  daily_spent=Decimal("1200.00"), blacklist=index).allowed  # fmt: skip


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
    parser.add_argument("--blacklist-ips", type=int, default=10_000)
    parser.add_argument("--blacklist-cards", type=int, default=10_000)
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
    blacklist_series(args, requests, cache, base)


def blacklist_series(args, requests, cache: KeyRecordCache, base: float) -> None:
    """The blacklist lookup's cost, alone and inside the decision, against the same run's
    decision without it."""
    started = time.perf_counter()
    index = build_blacklist(args.blacklist_ips, args.blacklist_cards)
    built_ms = (time.perf_counter() - started) * 1000
    print(f"blacklist: {args.blacklist_ips} IPs/CIDRs + {args.blacklist_cards} cards "
          f"({len(index)} entries) indexed in {built_ms:.0f} ms")
    ADDRESSES.update((ip, ip_address(ip)) for _, ip, _ in requests)
    state = (cache, index)
    for func, arg in ((lookup, index), (decide_with_blacklist, state), (decide_card, cache)):
        measure(func, arg, requests, min(20_000, args.iterations))  # warm-up
    alone = measure(lookup, index, requests, args.iterations)
    without = measure(decide_card, cache, requests, args.iterations)
    with_it = measure(decide_with_blacklist, state, requests, args.iterations)
    report("blacklist lookup alone", alone, base)
    report("verify with a card, no blacklist", without, base)
    report("verify with a card + blacklist", with_it, base)
    p99 = statistics.quantiles(alone, n=100)[98] / 1000
    added_p50 = (statistics.median(with_it) - statistics.median(without)) / 1000
    print(f"added by the blacklist: p99 {p99:.2f} µs (the lookup alone), p50 {added_p50:.2f} µs "
          f"(difference of the decisions' medians); target < 20 µs p99: "
          f"{'met' if p99 < 20 else 'NOT met'}")


if __name__ == "__main__":
    main()
