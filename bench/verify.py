"""Benchmarks of token verification (prints figures for the README).

Usage: ``python bench/verify.py [--part a|b|c|all] [--seconds 10] [--connections 16]``

(a) In-process decision on a cache hit: ``bench/verify_inprocess.py`` (pure ``api_keys``) and
    the application's own path, ``Verifier.decide`` (parse → cache → verify) — p50/p99.
(b) Over HTTP: ``kybgate serve`` with 2 workers on 127.0.0.1 and ``wrk`` (Lua script for the
    POST body). Throughput of ``POST /api/v1/verify`` (durable audit, group commit) as a ratio of
    ``POST /api/v1/bench/bare`` (``KYB_BENCH_ENDPOINTS=1``) on the same server in the same run,
    and p99 latency. Target ratio ≥ 0.8.
    ``--breakdown`` serves ``/verify`` a second time against ``bench/echo_writer.py``, which
    acknowledges without storing (the round trip apart from the database), and measures a bare
    Unix-socket round trip between two processes on two cores and on one (the IPC floor).
(c) Crash: load from client threads, ``kill -9`` of the whole server (master and workers)
    mid-load, restart; every allowed answer the client received must have its audit event
    (matched by ``audit_id``) and ``kybgate audit verify`` must pass.

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
sys.path.insert(0, str(ROOT))
VENV_BIN = Path(sys.executable).parent
CLIENT_IP = "93.184.216.34"
SITE = "https://anadolucicek.com.tr"


def _env(db_url: str, instance: str) -> dict[str, str]:
    return {**os.environ, "KYB_DATABASE_URL": db_url, "KYB_INSTANCE_PATH": instance,
            "KYB_TOKEN_PEPPER": "bench-pepper-0123456789abcdef",
            "KYB_SECRET_KEY": "bench-secret-key-0123456789abcdefghij",
            "KYB_KEY_ACTIVATION_DELAY": "0", "KYB_BENCH_ENDPOINTS": "1", "KYB_ENV": "testing"}


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
    return {"bearer": bearer, "token": key["token"], "merchant_id": merchant_id}


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
                 worker_connections: int = 1000, audit_writer: bool = True
                 ) -> subprocess.Popen:
    """``kybgate serve`` in its own process group (so kill -9 reaches every worker)."""
    log = open(Path(env["KYB_INSTANCE_PATH"]) / "server.log", "ab")  # noqa: SIM115
    proc = subprocess.Popen([str(VENV_BIN / "kybgate"), "serve", "--bind", f"127.0.0.1:{port}",  # noqa: S603
                             "--workers", str(workers), "--threads", str(threads),
                             "--worker-connections", str(worker_connections),
                             "--audit-writer" if audit_writer else "--no-audit-writer",
                             "--no-upgrade"], env=env, cwd=ROOT,
                            stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    tail = (Path(env["KYB_INSTANCE_PATH"]) / "server.log").read_text(errors="replace")[-2000:]
    raise RuntimeError(f"kybgate serve did not come up:\n{tail}")


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
    """(gunicorn workers, audit writer) pids of a ``kybgate serve`` process tree."""
    children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True,  # noqa: S603, S607
                              text=True, check=False).stdout.split()
    workers, writer = [], []
    for pid in map(int, children):
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        (writer if b"audit writer" in cmdline else workers).append(pid)
    return workers, writer


def part_b(env: dict[str, str], creds: dict[str, str], seconds: int, connections: int,
           tmp: Path, audit_writer: bool = True, echo: bool = False) -> None:
    """``echo``: the workers talk to ``bench/echo_writer.py``, which acknowledges without
    storing: what the round trip to a writer costs apart from the database (never a
    deployment)."""
    workers = int(os.environ.get("BENCH_WORKERS", "2"))
    echo_proc = None
    if echo:
        sock = tempfile.mkdtemp(prefix="kyb-echo-") + "/echo.sock"
        echo_proc = subprocess.Popen([sys.executable, str(ROOT / "bench" / "echo_writer.py"),  # noqa: S603
                                      sock])
        while not os.path.exists(sock):
            time.sleep(0.05)
        env = {**env, "KYB_AUDIT_SOCKET": sock}
        audit_writer = False
    threads = max(8, connections // workers)  # every connection in flight: group commit needs it
    # Each worker holds at most its share of wrk's keep-alive connections; otherwise the first
    # worker to wake can take them all and the run measures one worker (seen: 1,100 vs 2,900
    # req/s for the same bare endpoint).
    per_worker = max(1, connections // workers)
    mode = ("an echo writer that stores nothing (cost breakdown)" if echo else
            "one audit writer process" if audit_writer else "an audit writer thread per worker")
    print(f"== (b) HTTP: kybgate serve, {workers} workers x {threads} threads "
          f"(at most {per_worker} connections each), {mode}; wrk -c{connections} -d{seconds}s")
    port = _free_port()
    proc = start_server(env, port, workers=workers, threads=threads,
                        worker_connections=per_worker, audit_writer=audit_writer)
    worker_pids, writer_pids = _server_processes(proc)
    script = tmp / "verify.lua"
    script.write_text(WRK_LUA.format(bearer=creds["bearer"],
                                     body=json.dumps(verify_body(creds["token"]))))
    try:
        before = _audit_count(env)
        results: dict[str, list[tuple[float, float, float, float]]] = {"bare": [], "verify": []}
        for _ in range(2):  # alternate, so neither gets the warmer machine
            for name, path in (("bare", "/api/v1/bench/bare"), ("verify", "/api/v1/verify")):
                cpu0 = _cpu_seconds(worker_pids + writer_pids)
                rps, p99 = wrk(f"http://127.0.0.1:{port}{path}", script, seconds, connections)
                cpu1 = _cpu_seconds(worker_pids + writer_pids)
                requests = max(1.0, rps * seconds)
                in_workers = sum(cpu1[p] - cpu0[p] for p in worker_pids) / requests * 1000
                in_writer = sum(cpu1[p] - cpu0[p] for p in writer_pids) / requests * 1000
                results[name].append((rps, p99, in_workers, in_writer))
        audited = _audit_count(env) - before
    finally:
        stop_server(proc)
        if echo_proc is not None:
            echo_proc.terminate()
            echo_proc.wait(timeout=10)
        log = (tmp / "server.log").read_text(errors="replace")
        (ROOT / "instance").mkdir(exist_ok=True)
        (ROOT / "instance" / "bench-server.log").write_text(log)
        problems = [line for line in log.splitlines() if " 50" in line or "Error" in line]
        if problems:
            print("  server problems:", *problems[:5], sep="\n    ")
        batches = re.findall(r"audit writer stopped: (\d+) events in (\d+) batches", log)
    bare = max(r[0] for r in results["bare"])
    verify = max(r[0] for r in results["verify"])
    for name in ("bare", "verify"):
        runs = ", ".join(f"{rps:.0f} req/s p99 {p99:.1f} ms (CPU/request: workers "
                         f"{cpu_w:.2f} ms, writer {cpu_a:.2f} ms)"
                         for rps, p99, cpu_w, cpu_a in results[name])
        print(f"{name:<7} {runs}")
    if batches and not echo:
        events, count = map(int, batches[-1])
        print(f"audit writer: {events} events in {count} batches "
              f"({events / max(count, 1):.1f} per commit)")
    print(f"verify/bare throughput ratio {verify / bare:.2f} (target >= 0.8); "
          f"verify p99 {min(r[1] for r in results['verify']):.1f} ms; "
          f"{audited} verification events committed ({_audit_reasons(env)})")


def ipc_floor(rounds: int = 20_000) -> None:
    """What one request/acknowledgement round trip over a Unix socket costs between two
    processes, on different cores and on one core: the floor under any writer process."""
    print("== IPC floor: 50-byte ping-pong over a Unix socket pair")
    for label, cpus in (("two cores", None), ("one core", {0})):
        script = (
            "import os, socket, time, resource\n"
            "a, b = socket.socketpair()\n"
            "if os.fork() == 0:\n"
            "    a.close()\n"
            "    while (d := b.recv(100)):\n"
            "        b.send(d)\n"
            "    os._exit(0)\n"
            "b.close()\n"
            "r0 = resource.getrusage(resource.RUSAGE_SELF); t0 = time.perf_counter()\n"
            f"for _ in range({rounds}):\n"
            "    a.send(b'x' * 50); a.recv(100)\n"
            "t = time.perf_counter() - t0; r1 = resource.getrusage(resource.RUSAGE_SELF)\n"
            "a.close(); os.wait()\n"
            "c = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
            "cpu = (r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)\n"
            f"print(t / {rounds} * 1e6, cpu / {rounds} * 1e6, "
            f"(c.ru_utime + c.ru_stime) / {rounds} * 1e6)\n")
        prefix = ["taskset", "-c", ",".join(map(str, cpus))] if cpus else []
        out = subprocess.run([*prefix, sys.executable, "-c", script], capture_output=True,  # noqa: S603
                             text=True, check=True).stdout.split()
        wall, parent, child = map(float, out)
        print(f"{label:<9} round trip {wall:6.1f} µs wall, CPU {parent:5.1f} µs sender + "
              f"{child:5.1f} µs echo")


# --- (c) -----------------------------------------------------------------------------------

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", choices=["a", "b", "c", "all"], default="all")
    parser.add_argument("--iterations", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--crash-after", type=float, default=3.0)
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    parser.add_argument("--breakdown", action="store_true",
                        help="(b) also serve /verify against an echo writer that acknowledges "
                             "without storing, to separate the round trip from the database")
    parser.add_argument("--no-audit-writer", action="store_true",
                        help="(b) serve with a writer thread in each worker instead of the "
                             "host's writer process, for comparison")
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
        creds = seed(env)
        print(f"database: {db_url.split('@')[-1]}")
        if args.part in {"b", "all"}:
            part_b(env, creds, args.seconds, args.connections, Path(tmp),
                   audit_writer=not args.no_audit_writer)
            if args.breakdown:
                part_b(env, creds, args.seconds, args.connections, Path(tmp), echo=True)
                ipc_floor()
        if args.part in {"c", "all"}:
            part_c(env, creds, args.crash_after)


if __name__ == "__main__":
    main()
