"""Benchmarks of token verification (prints figures for the README).

Usage: ``python bench/verify.py [--part a|b|c|e|all] [--seconds 10] [--connections 16]``

(a) In-process decision on a cache hit: ``bench/verify_inprocess.py`` (pure ``api_keys``) and
    the application's own path, ``Verifier.decide`` (parse → cache → verify) — p50/p99.
(b) Over HTTP: ``kybgate serve`` with 2 workers on 127.0.0.1 and ``wrk`` (Lua script for the
    POST body). Throughput of ``POST /api/v1/verify`` (durable audit, caps in force, an amount
    on every request) as a ratio of a *plain Flask POST endpoint* (``bench/plain_app.py``, a
    separate tiny app) served by gunicorn with the same settings, alternated in the same run;
    kybgate's own ``POST /api/v1/bench/bare`` (``KYB_BENCH_ENDPOINTS=1``) is shown beside them,
    and ``plain*``: the same plain app on ``kybgate serve``'s own worker class
    (``app.gunicorn_worker``, which keeps connections alive where gthread cannot), so the run
    also gives verify against a plain endpoint on one and the same server. The audit writer's
    shipping lag (logged over 1 s) is printed: past ``KYB_AUDIT_MAX_LAG`` the workers pace.
    Target (issue #14): ratio ≥ 0.8, verify p99 ≤ 2× the plain p99. The load average is printed
    beside the figures (the machine is shared). ``--ceiling`` also measures
    ``../shared/prototypes/journal_ceiling_app.py`` (the issue's yardstick) the same way.
    ``--fsync off|batch|always`` sets ``KYB_AUDIT_FSYNC`` (default: the product's, ``batch``).
    Each target is warmed up for 2 s, then the targets are alternated ``--rounds`` times
    (default 3); besides best against best, each round's verify is paired with the plain run
    just before it (the machine's speed drifts), and the median of those ratios is printed.
(c) Crash: load from client threads, ``kill -9`` of the whole server (master and workers)
    mid-load, restart; every allowed answer the client received must have its audit event
    (matched by ``audit_id``) and ``kybgate audit verify`` must pass.
(d) Exactness: 200 concurrent verifications of 10 TRY against a merchant's daily cap of
    1,000 TRY across both workers of one ``kybgate serve``: exactly 100 allowed. Then the cap is
    raised to 2,000 and 200 more are split over **two** ``kybgate serve`` instances (two
    instance folders: two hosts) on the same database: exactly 100 more allowed. Meaningful
    for "two hosts" on PostgreSQL (``--database-url``); SQLite runs it too.
(e) Revocation: 16 client threads hammer ``POST /api/v1/verify`` with one key across both
    workers; ``DELETE /api/v1/keys/{id}`` is called mid-load; every answer to a request sent
    after the revoke returned must be ``key_revoked`` (target: 0 allowed).

Loopback only, bounded loops; a temporary SQLite database (or ``--database-url``).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLOSED_PORT = 9  # discard: nothing listens on it here, so a lookup is refused at once
WARM_UP_SECONDS = 2  # (b) each target's unmeasured run before the alternation
sys.path.insert(0, str(ROOT))
VENV_BIN = Path(sys.executable).parent
CLIENT_IP = "93.184.216.34"
SITE = "https://anadolucicek.com.tr"


def _env(db_url: str, instance: str) -> dict[str, str]:
    return {**os.environ, "KYB_DATABASE_URL": db_url, "KYB_INSTANCE_PATH": instance,
            "KYB_TOKEN_PEPPER": "bench-pepper-0123456789abcdef",
            "KYB_SECRET_KEY": "bench-secret-key-0123456789abcdefghij",
            "KYB_KEY_ACTIVATION_DELAY": "0", "KYB_BENCH_ENDPOINTS": "1", "KYB_ENV": "testing",
            # The seeded merchant's first assessment runs in ``kybgate serve``'s job worker: its
            # DNS, RDAP, WHOIS and website lookups go to a closed local port and end "unknown"
            # at once, never to the real domain.
            "KYB_DNS_NAMESERVERS": f"127.0.0.1:{CLOSED_PORT}",
            "KYB_WHOIS_SERVER": f"127.0.0.1:{CLOSED_PORT}",
            "KYB_RDAP_BOOTSTRAP": f"http://127.0.0.1:{CLOSED_PORT}/dns.json"}


def seed(env: dict[str, str]) -> dict[str, str]:
    """Migrate, create an OAuth client, an approved merchant and a live key; return tokens."""
    os.environ.update(env)
    from sqlmodel import Session

    from app import create_app
    from app.migrate import upgrade
    from app.models import Merchant
    from tests.factories import application
    upgrade(env["KYB_DATABASE_URL"])
    app = create_app({"TESTING": True})
    out = app.test_cli_runner().invoke(args=["clients", "create", "--name", "bench", "--scopes",
                                             "merchants:write keys:write verify", "--json"])
    creds = json.loads(out.output)
    client = app.test_client()
    bearer = client.post("/oauth/token", data={"grant_type": "client_credentials",
                                               "client_id": creds["client_id"],
                                               "client_secret": creds["client_secret"]}
                         ).get_json()["access_token"]
    auth = {"Authorization": f"Bearer {bearer}"}
    merchant_id = client.post("/api/v1/merchants", json=application(), headers=auth
                              ).get_json()["id"]
    with Session(app.extensions["kyb.engine"]) as session:
        merchant = session.get(Merchant, merchant_id)
        merchant.status, merchant.tier = "approved", "low"
        # A large merchant approved with its own caps: every request is charged to its daily
        # and monthly totals (settled in the audit commit), and none reaches them.
        merchant.limits = {"currency": "TRY", "max_amount_per_tx": "100000",
                           "daily_amount": "1000000000", "monthly_amount": "10000000000"}
        session.add(merchant)
        session.commit()
    key = client.post(f"/api/v1/merchants/{merchant_id}/keys", headers=auth, json={
        "name": "bench", "environment": "live", "ip_whitelist": ["93.184.216.0/24"],
        "back_urls": [SITE]}).get_json()
    app.extensions["kyb.engine"].dispose()
    return {"bearer": bearer, "token": key["token"], "merchant_id": merchant_id,
            "key_id": key["key_id"]}


def verify_body(token: str, n: int = 0) -> dict[str, object]:
    """A realistic verification request."""
    return {"token": token, "client_ip": CLIENT_IP, "origin": SITE, "operation": "sale",
            "amount": "149.90", "currency": "TRY", "card_number": "4111111111111111",
            "customer_ref": f"cust-{n % 50}", "destination_ip": "185.15.59.224"}


# --- (a) -----------------------------------------------------------------------------------

def part_a(iterations: int) -> None:
    print("== (a) in-process decision on a cache hit")
    subprocess.run([sys.executable, str(ROOT / "bench" / "verify_inprocess.py"),  # noqa: S603
                    "--iterations", str(iterations)], check=True)
    from decimal import Decimal

    from api_keys.backurls import SiteSet
    from api_keys.cache import KeyRecordCache
    from api_keys.tokens import Peppers, generate, hash_token
    from api_keys.verification import KeyRecord, Limits
    from api_keys.whitelist import NetworkSet, parse_ip
    from app.services.verification import VerificationInput, Verifier
    peppers = Peppers({1: b"bench-pepper-0123456789abcdef"}, 1)
    issued = generate("live")
    version, digest = hash_token(issued.token, peppers)
    record = KeyRecord(issued.key_id, "mer_x", "live", digest, version, "active",
                       datetime(2026, 1, 1, tzinfo=UTC), NetworkSet.parse(["93.184.216.0/24"]),
                       SiteSet.parse([SITE], "live"),
                       Limits("TRY", Decimal("1000"), None, frozenset({"sale"})))
    cache = KeyRecordCache()
    cache.put(record)
    verifier = Verifier(engine=None, peppers=peppers, batcher=None, cache=cache,  # type: ignore[arg-type]
                        accept_test_keys=False)
    request = VerificationInput(issued.token, parse_ip(CLIENT_IP), SITE, "verify", "sale",
                                Decimal("149.90"), "TRY")
    now = datetime.now(UTC)
    timings = []
    for _ in range(iterations):
        start = time.perf_counter_ns()
        verifier.decide(request, now)
        timings.append(time.perf_counter_ns() - start)
    timings.sort()
    p50, p99 = timings[len(timings) // 2] / 1000, timings[int(len(timings) * 0.99)] / 1000
    print(f"app Verifier.decide (cache hit)    p50 {p50:7.2f} µs   p99 {p99:7.2f} µs   "
          f"target p50 < 20 µs: {'met' if p50 < 20 else 'NOT met'}")


# --- servers ---------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(env: dict[str, str], port: int, workers: int = 2, threads: int = 8,
                 worker_connections: int = 1000, audit_writer: bool = True,
                 timeout: float = 120) -> subprocess.Popen:
    """``kybgate serve`` in its own process group (so kill -9 reaches every worker); if it
    is not up within ``timeout`` seconds the whole group is killed."""
    log = open(Path(env["KYB_INSTANCE_PATH"]) / "server.log", "ab")  # noqa: SIM115
    proc = subprocess.Popen([str(VENV_BIN / "kybgate"), "serve", "--bind", f"127.0.0.1:{port}",  # noqa: S603
                             "--workers", str(workers), "--threads", str(threads),
                             "--worker-connections", str(worker_connections),
                             "--audit-writer" if audit_writer else "--no-audit-writer",
                             "--no-upgrade"], env=env, cwd=ROOT,
                            stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.2)
    stop_server(proc, signal.SIGKILL)  # master, workers, writer: nothing left behind
    tail = (Path(env["KYB_INSTANCE_PATH"]) / "server.log").read_text(errors="replace")[-2000:]
    raise RuntimeError(f"kybgate serve did not come up:\n{tail}")


KYB_WORKER = "app.gunicorn_worker.KeepAliveThreadWorker"  # kybgate serve's worker class


def start_gunicorn(app_spec: str, chdir: Path, port: int, log_path: Path, *, workers: int,
                   threads: int, worker_connections: int, worker_class: str = "gthread"
                   ) -> subprocess.Popen:
    """A plain gunicorn serving ``app_spec`` with ``kybgate serve``'s settings: stock gthread,
    or ``worker_class`` (:data:`KYB_WORKER`: kybgate's own, importable from the project)."""
    log = open(log_path, "ab")  # noqa: SIM115
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([str(VENV_BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}",  # noqa: S603
                             "--workers", str(workers), "--threads", str(threads),
                             "--worker-class", worker_class, "--worker-connections",
                             str(worker_connections), "--chdir", str(chdir), app_spec],
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                            env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc
        except OSError:
            time.sleep(0.2)
    stop_server(proc, signal.SIGKILL)
    raise RuntimeError(f"gunicorn {app_spec} did not come up (see {log_path})")


def load_average() -> str:
    """The 1-minute load average, printed beside every figure (the machine is shared)."""
    return f"load {os.getloadavg()[0]:.2f}"


def stop_server(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    """Signal the server's whole process group and wait."""
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        return
    proc.wait(timeout=30)


# --- (b) -----------------------------------------------------------------------------------

WRK_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {bearer}"
wrk.body = '{body}'
"""


def wrk(url: str, script: Path, seconds: int, connections: int) -> tuple[float, float]:
    """Requests/s and p99 latency (ms) from one wrk run; raises on non-2xx answers."""
    out = subprocess.run(["/usr/bin/wrk", "-t", "1", "-c", str(connections), "-d",  # noqa: S603
                          f"{seconds}s", "--latency", "-s", str(script), url],
                         capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        print(f"  {url}: {errors.group(1)} non-2xx answers")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)", out).groups()
    p99 = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    return rps, p99


def _audit_count(env: dict[str, str]) -> int:
    return sum(_audit_reasons(env).values())


def _audit_reasons(env: dict[str, str]) -> dict[str, int]:
    """Verification events by reason (a bench whose requests are refused measures nothing)."""
    import sqlalchemy as sa
    engine = sa.create_engine(env["KYB_DATABASE_URL"])
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT reason, count(*) FROM audit_event "
                                    "WHERE action = 'api.verify' GROUP BY reason")).all()
    engine.dispose()
    return {reason: count for reason, count in rows}


def _cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User + system CPU seconds of each process so far (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            out[pid] = (int(fields[11]) + int(fields[12])) / tick
        except (FileNotFoundError, IndexError, ValueError):
            out[pid] = 0.0
    return out


def _server_processes(proc: subprocess.Popen) -> tuple[list[int], list[int]]:
    """(gunicorn workers, audit writer) pids of a ``kybgate serve`` process tree (its job
    worker, ``kybgate worker``, is neither)."""
    children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True,  # noqa: S603, S607
                              text=True, check=False).stdout.split()
    workers, writer = [], []
    for pid in map(int, children):
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        if b"kybgate worker" in cmdline:
            continue
        (writer if b"audit writer" in cmdline else workers).append(pid)
    return workers, writer


def part_b(env: dict[str, str], creds: dict[str, str], seconds: int, connections: int,
           tmp: Path, audit_writer: bool = True, rounds: int = 3) -> None:
    """Throughput of verify against the plain endpoint, alternated; CPU per request in the
    workers and in the host's audit writer."""
    workers = int(os.environ.get("BENCH_WORKERS", "2"))
    threads = max(8, connections // workers)
    # Each worker holds at most its share of wrk's keep-alive connections; otherwise the first
    # worker to wake can take them all and the run measures one worker (seen: 1,100 vs 2,900
    # req/s for the same bare endpoint).
    per_worker = max(1, connections // workers)
    mode = (f"journals shipped by one audit writer process, "
            f"KYB_AUDIT_FSYNC={env.get('KYB_AUDIT_FSYNC', 'batch')}" if audit_writer else
            "an audit writer thread per worker (commit before the answer)")
    print(f"== (b) HTTP: kybgate serve, {workers} workers x {threads} threads "
          f"(at most {per_worker} connections each), {mode}; wrk -c{connections} -d{seconds}s")
    port, plain_port, same_port = _free_port(), _free_port(), _free_port()
    proc = start_server(env, port, workers=workers, threads=threads,
                        worker_connections=per_worker, audit_writer=audit_writer)
    plain = start_gunicorn("plain_app:app", ROOT / "bench", plain_port, tmp / "plain.log",
                           workers=workers, threads=threads, worker_connections=per_worker)
    # The same plain app on kybgate serve's own worker class: what the server alone gives.
    same = start_gunicorn("plain_app:app", ROOT / "bench", same_port, tmp / "plain-kyb.log",
                          workers=workers, threads=threads, worker_connections=per_worker,
                          worker_class=KYB_WORKER)
    worker_pids, writer_pids = _server_processes(proc)
    plain_pids, same_pids = _server_processes(plain)[0], _server_processes(same)[0]
    script = tmp / "verify.lua"
    script.write_text(WRK_LUA.format(bearer=creds["bearer"],
                                     body=json.dumps(verify_body(creds["token"]))))
    targets = (("plain", f"http://127.0.0.1:{plain_port}/bare", plain_pids),
               ("plain*", f"http://127.0.0.1:{same_port}/bare", same_pids),
               ("bare", f"http://127.0.0.1:{port}/api/v1/bench/bare", worker_pids),
               ("verify", f"http://127.0.0.1:{port}/api/v1/verify", worker_pids))
    try:
        before = _audit_count(env)
        results: dict[str, list[tuple[float, float, float, float, str]]] = {
            name: [] for name, _, _ in targets}
        for _, url, _ in targets:  # warm every target up (caches, leases, JIT-less imports)
            wrk(url, script, WARM_UP_SECONDS, connections)
        for _ in range(rounds):  # alternate, so none gets the warmer machine
            for name, url, pids in targets:
                load = load_average()
                cpu0 = _cpu_seconds(pids + writer_pids)
                rps, p99 = wrk(url, script, seconds, connections)
                cpu1 = _cpu_seconds(pids + writer_pids)
                requests = max(1.0, rps * seconds)
                in_workers = sum(cpu1[p] - cpu0[p] for p in pids) / requests * 1000
                in_writer = sum(cpu1[p] - cpu0[p] for p in writer_pids) / requests * 1000
                results[name].append((rps, p99, in_workers, in_writer, load))
    finally:
        stop_server(plain)
        stop_server(same)
        stop_server(proc)  # the writer ships what the journals still hold, then stops
        audited = _audit_count(env) - before
        log = (tmp / "server.log").read_text(errors="replace")
        (ROOT / "instance").mkdir(exist_ok=True)
        (ROOT / "instance" / "bench-server.log").write_text(log)
        problems = [line for line in log.splitlines() if " 50" in line or "Error" in line]
        if problems:
            print("  server problems:", *problems[:5], sep="\n    ")
        batches = re.findall(r"audit writer stopped: (\d+) events in (\d+) batches", log)
    best = {name: max(r[0] for r in runs) for name, runs in results.items()}
    p99 = {name: min(r[1] for r in runs) for name, runs in results.items()}
    for name, runs in results.items():
        text = ", ".join(f"{rps:.0f} req/s p99 {lat:.1f} ms (CPU/request: server "
                         f"{cpu_w:.2f} ms, writer {cpu_a:.2f} ms; {load})"
                         for rps, lat, cpu_w, cpu_a, load in runs)
        print(f"{name:<7} {text}")
    if batches:
        events, count = map(int, batches[-1])
        lags = [float(x) for x in re.findall(r"shipping lag ([0-9.]+) s", log)]
        print(f"audit writer: {events} events in {count} batches "
              f"({events / max(count, 1):.1f} per commit); shipping lag over 1 s logged "
              f"{len(lags)} times, max {max(lags, default=0.0):.1f} s")
    # The machine's speed drifts from minute to minute: each round's verify against the plain
    # run just before it is the fairer pairing; their median is the figure to quote.
    pairs = list(zip(results["verify"], results["plain"], strict=True))
    paired = sorted(v[0] / p[0] for v, p in pairs)
    paired_p99 = sorted(v[1] / p[1] for v, p in pairs)
    print(f"per round, verify/plain: {', '.join(f'{r:.2f}' for r in paired)} (median "
          f"{paired[len(paired) // 2]:.2f}); p99 verify/plain: "
          f"{', '.join(f'{r:.1f}x' for r in paired_p99)} (median "
          f"{paired_p99[len(paired_p99) // 2]:.1f}x)")
    print(f"verify/plain throughput ratio {best['verify'] / best['plain']:.2f} (target >= 0.8); "
          f"kybgate bare/plain {best['bare'] / best['plain']:.2f}; "
          f"verify/kybgate bare {best['verify'] / best['bare']:.2f}")
    print(f"on one server (plain* = plain_app on kybgate serve's worker class, "
          f"{KYB_WORKER}): verify/plain* {best['verify'] / best['plain*']:.2f}; "
          f"plain*/plain {best['plain*'] / best['plain']:.2f}")
    print(f"p99: verify {p99['verify']:.1f} ms, plain {p99['plain']:.1f} ms "
          f"({p99['verify'] / max(p99['plain'], 0.001):.1f}x, target <= 2x); "
          f"{audited} verification events committed ({_audit_reasons(env)})")


CEILING = ROOT.parent / "shared" / "prototypes"


def ceiling(seconds: int, connections: int, tmp: Path) -> None:
    """The issue's yardstick, ``journal_ceiling_app.py``: its ``/journal`` (HMAC, audit event,
    shared running total, O_APPEND journal) against its own ``/bare``, alternated."""
    workers = int(os.environ.get("BENCH_WORKERS", "2"))
    threads, per_worker = max(8, connections // workers), max(1, connections // workers)
    print(f"== ceiling: {CEILING / 'journal_ceiling_app.py'}, same gunicorn settings")
    Path("/tmp/journal-ceiling").mkdir(exist_ok=True)  # noqa: S108 - the prototype's own path
    port = _free_port()
    proc = start_gunicorn("journal_ceiling_app:app", CEILING, port, tmp / "ceiling.log",
                          workers=workers, threads=threads, worker_connections=per_worker)
    results: dict[str, list[tuple[float, float, str]]] = {"bare": [], "journal": []}
    try:
        for _ in range(2):
            for name in results:
                load = load_average()
                rps, lat = wrk(f"http://127.0.0.1:{port}/{name}", CEILING / "post.lua",
                               seconds, connections)
                results[name].append((rps, lat, load))
    finally:
        stop_server(proc)
    for name, runs in results.items():
        print(f"{name:<8}", ", ".join(f"{r:.0f} req/s p99 {lat:.1f} ms ({load})"
                                      for r, lat, load in runs))
    print(f"journal/bare throughput ratio "
          f"{max(r[0] for r in results['journal']) / max(r[0] for r in results['bare']):.2f}")


def _load(port: int, creds: dict[str, str], stop: threading.Event, allowed: list[str],
          errors: list[str], n: int) -> None:
    i = 0
    while not stop.is_set() and i < 100_000:
        i += 1
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("POST", "/api/v1/verify", body=json.dumps(verify_body(creds["token"], i)),
                         headers={"Authorization": f"Bearer {creds['bearer']}",
                                  "Content-Type": "application/json"})
            resp = conn.getresponse()
            data = json.loads(resp.read())
            conn.close()
            if resp.status == 200 and data["allowed"]:
                allowed.append(data["audit_id"])
        except (OSError, http.client.HTTPException, ValueError) as exc:
            errors.append(type(exc).__name__)
            if stop.is_set():
                return
            time.sleep(0.01)


def part_c(env: dict[str, str], creds: dict[str, str], load_seconds: float) -> None:
    print("== (c) crash: kill -9 under load, restart, every acknowledged answer audited")
    port = _free_port()
    proc = start_server(env, port)
    stop, allowed, errors = threading.Event(), [], []
    threads = [threading.Thread(target=_load, args=(port, creds, stop, allowed, errors, n))
               for n in range(8)]
    for t in threads:
        t.start()
    time.sleep(load_seconds)
    acknowledged_at_kill = len(allowed)
    stop_server(proc, signal.SIGKILL)  # master and workers, mid-load
    stop.set()
    for t in threads:
        t.join(timeout=10)
    proc = start_server(env, port)
    stop_server(proc)
    import sqlalchemy as sa
    engine = sa.create_engine(env["KYB_DATABASE_URL"])
    with engine.connect() as conn:
        stored = {row[0] for row in conn.execute(sa.text(
            "SELECT id FROM audit_event WHERE action = 'api.verify'"))}
    engine.dispose()
    missing = [a for a in allowed if a not in stored]
    check = subprocess.run([str(VENV_BIN / "kybgate"), "audit", "verify", "--json"], env=env,  # noqa: S603
                           cwd=ROOT, capture_output=True, text=True, timeout=300)
    print(f"allowed answers received: {len(allowed)} (≈{acknowledged_at_kill} before the kill); "
          f"client errors after the kill: {len(errors)}; missing audit events: {len(missing)}")
    print(f"kybgate audit verify: exit {check.returncode} {check.stdout.strip()[:200]}")
    if missing or check.returncode:
        raise SystemExit("crash benchmark FAILED")


# --- (d) -----------------------------------------------------------------------------------

def _set_daily_cap(env: dict[str, str], merchant_id: str, cap: str | None) -> None:
    import sqlalchemy as sa
    engine = sa.create_engine(env["KYB_DATABASE_URL"])
    limits = ({"currency": "TRY", "max_amount_per_tx": "100000", "daily_amount": cap,
               "monthly_amount": "10000000000"} if cap else
              {"currency": "TRY", "max_amount_per_tx": "100000",
               "daily_amount": "1000000000", "monthly_amount": "10000000000"})
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE merchant SET limits = :l WHERE id = :m"),
                     {"l": json.dumps(limits), "m": merchant_id})
    engine.dispose()


def _burst(ports: list[int], creds: dict[str, str], count: int) -> list[bool]:
    """``count`` verifications of 10 TRY sent at once (a thread each), spread over ``ports``."""
    start, answers = threading.Barrier(count), []
    body = json.dumps({**verify_body(creds["token"]), "amount": "10.00"})
    headers = {"Authorization": f"Bearer {creds['bearer']}", "Content-Type": "application/json"}

    def one(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", ports[n % len(ports)], timeout=60)
        start.wait(timeout=60)
        conn.request("POST", "/api/v1/verify", body=body, headers=headers)
        resp = conn.getresponse()
        data = json.loads(resp.read())
        answers.append(resp.status == 200 and bool(data.get("allowed")))
    threads = [threading.Thread(target=one, args=(n,)) for n in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return answers


def part_d(env: dict[str, str], creds: dict[str, str], tmp: Path) -> None:
    print("== (d) exactness: 200 concurrent verifications of 10 TRY against a daily cap")
    failed = False
    _set_daily_cap(env, creds["merchant_id"], "1000")
    try:
        port = _free_port()
        proc = start_server(env, port, worker_connections=100)
        try:
            answers = _burst([port], creds, 200)
        finally:
            stop_server(proc)
        allowed = sum(answers)
        print(f"one kybgate serve, 2 workers, cap 1,000 TRY: {allowed} of {len(answers)} "
              f"allowed (target exactly 100)")
        failed |= allowed != 100
        _set_daily_cap(env, creds["merchant_id"], "2000")
        hosts = []
        for name in ("host-a", "host-b"):
            (tmp / name).mkdir(exist_ok=True)
            hosts.append(({**env, "KYB_INSTANCE_PATH": str(tmp / name)}, _free_port()))
        procs = [start_server(host_env, host_port, worker_connections=100)
                 for host_env, host_port in hosts]
        try:
            answers = _burst([host_port for _, host_port in hosts], creds, 200)
        finally:
            for proc in procs:
                stop_server(proc)
        allowed = sum(answers)
        print(f"two kybgate serve on one database, cap raised to 2,000 TRY: {allowed} of "
              f"{len(answers)} more allowed (target exactly 100)")
        failed |= allowed != 100
    finally:
        _set_daily_cap(env, creds["merchant_id"], None)
    if failed:
        raise SystemExit("exactness benchmark FAILED")


# --- (e) -----------------------------------------------------------------------------------

def _hammer(port: int, creds: dict[str, str], stop: threading.Event,
            answers: list[tuple[float, bool, str]]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    body = json.dumps(verify_body(creds["token"]))
    headers = {"Authorization": f"Bearer {creds['bearer']}", "Content-Type": "application/json"}
    for _ in range(200_000):
        if stop.is_set():
            return
        sent = time.monotonic()
        try:
            conn.request("POST", "/api/v1/verify", body=body, headers=headers)
            resp = conn.getresponse()
            data = json.loads(resp.read())
        except (OSError, http.client.HTTPException, ValueError):
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            continue
        if resp.status == 200:
            answers.append((sent, bool(data["allowed"]), data["reason"]))


def part_e(env: dict[str, str], creds: dict[str, str], connections: int) -> None:
    print(f"== (e) revocation: {connections} connections on one key, revoke mid-load")
    port = _free_port()
    proc = start_server(env, port, worker_connections=max(1, connections // 2))
    stop, answers = threading.Event(), []
    threads = [threading.Thread(target=_hammer, args=(port, creds, stop, answers))
               for _ in range(connections)]
    try:
        for t in threads:
            t.start()
        time.sleep(3.0)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("DELETE", f"/api/v1/keys/{creds['key_id']}",
                     headers={"Authorization": f"Bearer {creds['bearer']}"})
        status = conn.getresponse().status
        returned = time.monotonic()
        time.sleep(3.0)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=15)
        stop_server(proc)
    before = sum(1 for sent, allowed, _ in answers if sent < returned and allowed)
    after = [(allowed, reason) for sent, allowed, reason in answers if sent >= returned]
    wrong = sum(1 for allowed, _ in after if allowed)
    print(f"revoke answered {status}; allowed before it returned: {before}; requests sent "
          f"after: {len(after)}, allowed among them: {wrong} (target 0); reasons after: "
          f"{sorted({reason for _, reason in after})} ({load_average()})")
    if wrong:
        raise SystemExit("revocation benchmark FAILED")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", choices=["a", "b", "c", "d", "e", "all"], default="all")
    parser.add_argument("--iterations", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3,
                        help="(b) alternations of the targets (default 3; max 10)")
    parser.add_argument("--crash-after", type=float, default=3.0)
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    parser.add_argument("--fsync", choices=["off", "batch", "always"],
                        help="KYB_AUDIT_FSYNC of the served kybgate (default: batch)")
    parser.add_argument("--no-audit-writer", action="store_true",
                        help="(b) serve with a writer thread in each worker instead of the "
                             "host's writer process, for comparison")
    parser.add_argument("--ceiling", action="store_true",
                        help="(b) also measure ../shared/prototypes/journal_ceiling_app.py, the "
                             "issue's yardstick, on this machine")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
          f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    if args.part in {"a", "all"}:
        part_a(args.iterations)
    if args.part == "a":
        return
    with tempfile.TemporaryDirectory(prefix="kyb-bench-") as tmp:
        db_url = args.database_url or f"sqlite:///{tmp}/bench.db"
        env = _env(db_url, tmp)
        if args.fsync:
            env["KYB_AUDIT_FSYNC"] = args.fsync
        creds = seed(env)
        print(f"database: {db_url.split('@')[-1]}")
        if args.part in {"b", "all"}:
            part_b(env, creds, args.seconds, args.connections, Path(tmp),
                   audit_writer=not args.no_audit_writer, rounds=max(1, min(args.rounds, 10)))
            if args.ceiling:
                ceiling(args.seconds, args.connections, Path(tmp))
        if args.part in {"d", "all"}:
            part_d(env, creds, Path(tmp))
        if args.part in {"c", "all"}:
            part_c(env, creds, args.crash_after)
        if args.part in {"e", "all"}:
            part_e(env, creds, args.connections)


if __name__ == "__main__":
    main()
