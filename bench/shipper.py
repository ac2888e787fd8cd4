"""CPU of the host's audit writer per verification event (issue #14): what
``kybgate audit writer`` (``app.dataplane.shipper.Shipper``) spends to chain a journal's events
into the audit trail, beside the floor of storing the same rows with no chain and no hooks.

1. Seeds a fresh migrated database (a temporary SQLite file, or a fresh database on the
   PostgreSQL server of ``--database-url``): an OAuth client and ``--merchants`` approved
   merchants with caps in force, ``--keys`` live keys each.
2. Builds a real journal in a child process: ``--events`` ``POST /api/v1/verify`` requests
   through the data plane (``app.dataplane.wsgi``) in process, with ``KYB_AUDIT_JOURNAL_DIR``
   set, so the records are what workers write (an amount and charges on every allowed one;
   every 25th request from an address outside the whitelist, so some are denied).
3. Per round, in a fresh child process (what is measured is that process's
   ``time.process_time``, every thread included): the **baseline** (the same rows, chained
   beforehand and untimed, stored with the driver-level multi-row INSERT the shipper uses, one
   transaction per ``--batch`` rows, into a copy of the database of its own), then the
   **shipper** wired as ``kybgate audit writer`` wires it (in-batch hooks: spend totals, key
   usage, figures; after the commit: anomaly, figure crossing and blacklist monitors, drained
   before the clock stops) shipping a copy of the journal into a copy of the seeded database
   until it is all stored, released at ``--rate`` events/s in batches of ``--batch`` (as live
   traffic reaches it; ``--rate 0`` ships the journal as a backlog).

Prints CPU ms per event, events/s (wall) and the ratio shipper CPU / baseline CPU.
``--profile FILE`` writes a cProfile of the shipping (main thread only: the monitors run on
threads of their own; their CPU is in the totals) and prints its top entries.

Usage: ``python bench/shipper.py [--events 6000] [--rounds 3] [--batch 64] [--rate 600]
[--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test]``. For every thread's share
(the monitors too): ``py-spy record --subprocesses --format raw -- python bench/shipper.py``.
Bounded: at most 200,000 events and 10 rounds; every child has a time limit.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

OUTSIDE_IP = "198.51.100.7"  # not in the keys' whitelist: denied, still audited
CHILD_TIMEOUT = 900


# --- databases ----------------------------------------------------------------------------

def _admin_url(url: str) -> str:
    import sqlalchemy as sa
    parsed = sa.engine.make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _pg_exec(admin_url: str, sql: str) -> None:
    import sqlalchemy as sa
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(sql)
    engine.dispose()


def _pg_database(admin_url: str, name: str) -> str:
    import sqlalchemy as sa
    return sa.engine.make_url(admin_url).set(database=name).render_as_string(
        hide_password=False)


class Databases:
    """The seeded template and a fresh copy of it per round (file copy / ``TEMPLATE``)."""

    def __init__(self, tmp: Path, server_url: str | None) -> None:
        self.tmp = tmp
        self.admin = _admin_url(server_url) if server_url else None
        self.tag = uuid.uuid4().hex[:8]
        self.made: list[str] = []

    def template(self) -> str:
        if self.admin is None:
            return f"sqlite:///{self.tmp / 'template.db'}"
        name = f"kyb_bench_ship_tpl_{self.tag}"
        _pg_exec(self.admin, f'CREATE DATABASE "{name}"')
        self.made.append(name)
        return _pg_database(self.admin, name)

    def copy(self, round_no: str) -> str:
        if self.admin is None:
            path = self.tmp / f"round{round_no}.db"
            shutil.copyfile(self.tmp / "template.db", path)
            return f"sqlite:///{path}"
        name = f"kyb_bench_ship_{self.tag}_{round_no}"
        _pg_exec(self.admin, f'CREATE DATABASE "{name}" TEMPLATE "kyb_bench_ship_tpl_{self.tag}"')
        self.made.append(name)
        return _pg_database(self.admin, name)

    def drop(self) -> None:
        for name in reversed(self.made):
            _pg_exec(self.admin or "", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- step 1 and 2: seed, journal (child process) -------------------------------------------

def _seed(env: dict[str, str], merchants: int, keys: int) -> list[dict[str, str]]:
    """``bench/verify.py``'s seed, then more merchants (same caps) and keys."""
    import verify as bench
    from sqlmodel import Session

    from app import create_app
    from app.models import Merchant
    from tests.factories import application

    first = bench.seed(env)
    app = create_app({"TESTING": True})
    client = app.test_client()
    auth = {"Authorization": f"Bearer {first['bearer']}"}
    out = [first]
    for m in range(merchants):
        if m == 0:
            merchant_id = first["merchant_id"]
        else:
            merchant_id = client.post("/api/v1/merchants", json=application(),
                                      headers=auth).get_json()["id"]
            with Session(app.extensions["kyb.engine"]) as session:
                merchant = session.get(Merchant, merchant_id)
                merchant.status, merchant.tier = "approved", "low"
                merchant.limits = {"currency": "TRY", "max_amount_per_tx": "100000",
                                   "daily_amount": "1000000000",
                                   "monthly_amount": "10000000000"}
                session.add(merchant)
                session.commit()
        for k in range(keys if m else keys - 1):
            key = client.post(f"/api/v1/merchants/{merchant_id}/keys", headers=auth, json={
                "name": f"bench-{m}-{k}", "environment": "live",
                "ip_whitelist": ["93.184.216.0/24"], "back_urls": [bench.SITE]}).get_json()
            out.append({"bearer": first["bearer"], "token": key["token"],
                        "merchant_id": merchant_id, "key_id": key["key_id"]})
    app.extensions["kyb.engine"].dispose()
    return out


def build(env: dict[str, str], events: int, merchants: int, keys: int, journal: str) -> None:
    """Seed the template database and journal ``events`` verifications through the data
    plane, as a worker of ``kybgate serve`` would."""
    import io

    import verify as bench
    creds = _seed(env, merchants, keys)
    os.environ["KYB_AUDIT_JOURNAL_DIR"] = journal
    from app import create_app
    from app.dataplane.runtime import close
    app = create_app({"TESTING": True})
    counts: dict[str, int] = {}
    for n in range(events):
        cred = creds[n % len(creds)]
        body_dict = bench.verify_body(cred["token"], n)
        body_dict["amount"] = f"{10 + (n * 7919) % 5000}.{n % 100:02d}"
        body = json.dumps(body_dict).encode()
        environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/api/v1/verify",
                   "SERVER_NAME": "bench", "SERVER_PORT": "80", "wsgi.url_scheme": "http",
                   "SERVER_PROTOCOL": "HTTP/1.1", "CONTENT_TYPE": "application/json",
                   "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body),
                   "wsgi.errors": sys.stderr,
                   "REMOTE_ADDR": OUTSIDE_IP if n % 25 == 24 else bench.CLIENT_IP,
                   "HTTP_AUTHORIZATION": f"Bearer {cred['bearer']}"}
        if n % 25 == 24:
            body_dict["client_ip"] = OUTSIDE_IP
            body = json.dumps(body_dict).encode()
            environ.update({"CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body)})
        status: list[str] = []
        chunks = app.wsgi_app(environ, lambda s, _h, _e=None, seen=status: seen.append(s))
        answer = json.loads(b"".join(chunks) or b"{}")
        key = f"{status[0][:3]} {answer.get('allowed', '')} {answer.get('reason', '') or ''}"
        counts[key] = counts.get(key, 0) + 1
    close(app)
    app.extensions["kyb.engine"].dispose()
    print(json.dumps({"answers": counts, "journal_bytes": sum(
        f.stat().st_size for f in Path(journal).iterdir())}))


# --- step 3: one measured round (child process) --------------------------------------------

def _drafts(journal: str) -> list:
    from app.audit.wire import draft_from_wire
    from app.dataplane.journal import SUFFIX, read_records
    drafts = []
    for path in sorted(Path(journal).glob(f"*{SUFFIX}")):  # not the writer's clock
        drafts.extend(draft_from_wire(r.wire) for r in read_records(path.read_bytes()))
    return drafts


def baseline(engine, journal: str, batch: int) -> tuple[float, float, int]:  # noqa: ANN001
    """CPU and wall seconds of storing the journal's rows with the driver-level multi-row
    INSERT, one transaction per ``batch`` (rows chained beforehand, untimed), into ``engine``:
    a copy of the database of its own (the trail is append-only: no delete after)."""
    from app.audit.batcher import _insert_for
    from app.audit.trail import chain_head, event_row
    drafts = _drafts(journal)
    insert = _insert_for(engine.dialect)
    with engine.connect() as conn:
        head, prev = chain_head(conn)  # the seeding's own events
    params = []
    for seq, draft in enumerate(drafts, head + 1):
        row = event_row(draft, seq, prev)
        prev = row["hash"]
        params.append(insert.params(row))
    cpu, wall = time.process_time(), time.perf_counter()
    for start in range(0, len(params), batch):
        with engine.begin() as conn:
            conn.exec_driver_sql(insert.sql, params[start:start + batch])
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    engine.dispose()
    return cpu, wall, len(params)


def ship_round(journal: str, batch: int, profile: str | None, baseline_url: str,
               rate: float) -> None:
    """Baseline, then the writer as ``kybgate audit writer`` wires it; prints JSON."""
    from app import create_app
    from app.audit.batcher import WalCheckpointer, sqlite_writer_engine
    from app.dataplane.runtime import writer_shipper
    app = create_app()
    db = app.extensions["kyb.engine"]
    writer, checkpointer = db, None
    if db.dialect.name == "sqlite":  # as the CLI: a writer engine and a checkpoint thread
        url = db.url.render_as_string(hide_password=False)
        writer = sqlite_writer_engine(url, autocheckpoint=False)
        checkpointer = WalCheckpointer(url).start()
    import sqlalchemy as sa
    base_cpu, base_wall, count = baseline(
        sqlite_writer_engine(baseline_url, autocheckpoint=False)
        if db.dialect.name == "sqlite" else sa.create_engine(baseline_url), journal, batch)
    with app.app_context():
        shipper, observers = writer_shipper(app, writer, journal, max_batch=batch)
        profiler = None
        if profile:
            import cProfile
            profiler = cProfile.Profile()
        cpu, wall = time.process_time(), time.perf_counter()
        if profiler:
            profiler.enable()
        start = time.perf_counter()
        while shipper.events < count:
            if rate > 0:  # as live traffic: ``batch`` events every batch / rate seconds
                pause = start + shipper.events / rate - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
            if shipper.ship_once() == 0 and shipper.stopped:
                raise SystemExit(f"journal stopped: {shipper.stopped}")
        observers.monitor.drain(60.0)
        observers.figures.drain(60.0)
        observers.blacklist_alerts.drain(60.0)
        if profiler:
            profiler.disable()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        if profiler:
            profiler.dump_stats(profile)
    if checkpointer is not None:
        checkpointer.stop()
    print(json.dumps({"events": count, "batches": shipper.batches, "cpu": cpu, "wall": wall,
                      "base_cpu": base_cpu, "base_wall": base_wall}))


# --- the orchestration -----------------------------------------------------------------------

def _child(args: list[str], env: dict[str, str]) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], env=env,  # noqa: S603
                         capture_output=True,
                         text=True, timeout=CHILD_TIMEOUT, check=False)
    if out.returncode != 0:
        lines = [line[:300] for line in out.stderr.splitlines()]
        sys.stderr.write("\n".join(lines[-30:]) + "\n")
        raise SystemExit(f"child {args[0]} failed ({out.returncode})")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _print_profile(path: str, top: int) -> None:
    import pstats
    print(f"-- profile of the shipping (main thread), top {top} by own time:")
    stats = pstats.Stats(path, stream=sys.stdout)
    stats.sort_stats("tottime").print_stats(top)
    print(f"-- top {top} by cumulative time:")
    stats.sort_stats("cumulative").print_stats(top)


def main() -> None:
    parser = argparse.ArgumentParser(
        description="CPU per event of the audit writer (kybgate audit writer) shipping a "
                    "journal of verification events, against a plain multi-row INSERT of the "
                    "same rows.",
        epilog="Figures: CPU ms per event is time.process_time of the child process that "
               "ships (every thread), divided by the events; ratio = shipper CPU / baseline "
               "CPU. A temporary SQLite database unless --database-url is given.")
    parser.add_argument("--events", type=int, default=6000,
                        help="verification events in the journal (default 6000: 10 s a round "
                             "at the default rate; max 200000)")
    parser.add_argument("--merchants", type=int, default=4, help="merchants (default 4)")
    parser.add_argument("--keys", type=int, default=2, help="live keys per merchant (default 2)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="measured rounds, each in a fresh copy of the database and a fresh "
                             "process (default 3, max 10)")
    parser.add_argument("--batch", type=int, default=64,
                        help="events per transaction, the shipper's max_batch (default 64: "
                             "what a round every 100 ms takes at ~600 verifications/s; 16 was "
                             "the 20 ms cadence before; 4096 is the writer's own bound, "
                             "reached when it catches up on a backlog)")
    parser.add_argument("--rate", type=float, default=600.0,
                        help="events per second released to the shipper, as live traffic "
                             "(default 600; 0: the whole journal at once, a backlog)")
    parser.add_argument("--database-url",
                        help="a PostgreSQL server (postgresql+psycopg://user@host/db): fresh "
                             "databases are created on it for the run and dropped after")
    parser.add_argument("--profile", metavar="FILE",
                        help="write a cProfile of the last round's shipping to FILE and print "
                             "its top entries")
    parser.add_argument("--top", type=int, default=25, help="profile entries shown (default 25)")
    parser.add_argument("--_build", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--_ship", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._build:
        journal, events, merchants, keys = args._build
        build(dict(os.environ), int(events), int(merchants), int(keys), journal)
        return
    if args._ship:
        journal, batch, profile, baseline_url, rate = args._ship
        ship_round(journal, int(batch), profile or None, baseline_url, float(rate))
        return
    if not 0 < args.events <= 200_000 or not 0 < args.rounds <= 10 or args.batch < 1 \
            or (0 < args.rate < 50):
        parser.error("--events must be in 1..200000, --rounds in 1..10, --batch at least 1 "
                     "and --rate 0 or at least 50")
    import verify as bench
    with tempfile.TemporaryDirectory(prefix="kyb-bench-shipper-") as tmp_name:
        tmp = Path(tmp_name)
        dbs = Databases(tmp, args.database_url)
        try:
            template = dbs.template()
            source = str(tmp / "journal-src")
            built = _child(["--_build", source, str(args.events), str(args.merchants),
                            str(args.keys)], bench._env(template, str(tmp / "instance")))
            print(f"== audit writer CPU per event ({'PostgreSQL' if dbs.admin else 'SQLite'}"
                  f", {args.events} events, {args.merchants} merchants x {args.keys} keys, "
                  f"batch {args.batch}, rate {args.rate:g}/s, load {os.getloadavg()[0]:.2f})")
            print(f"journal: {built['journal_bytes']} bytes; answers {built['answers']}")
            rows = []
            for r in range(args.rounds):
                journal = str(tmp / f"journal{r}")
                shutil.copytree(source, journal)
                url, baseline_url = dbs.copy(f"{r}s"), dbs.copy(f"{r}b")
                env = bench._env(url, str(tmp / f"instance{r}"))
                env["KYB_AUDIT_JOURNAL_DIR"] = journal
                profile = args.profile if args.profile and r == args.rounds - 1 else ""
                res = _child(["--_ship", journal, str(args.batch), profile, baseline_url,
                              str(args.rate)], env)
                rows.append(res)
                n = res["events"]
                print(f"round {r + 1}: shipper {res['cpu'] / n * 1e3:.3f} ms CPU/event, "
                      f"{n / res['wall']:,.0f} events/s ({res['batches']} batches) | "
                      f"baseline INSERT {res['base_cpu'] / n * 1e3:.3f} ms CPU/event, "
                      f"{n / res['base_wall']:,.0f} events/s | ratio "
                      f"{res['cpu'] / res['base_cpu']:.1f}x")
            best = min(rows, key=lambda x: x["cpu"])
            print(f"best: shipper {best['cpu'] / best['events'] * 1e3:.3f} ms CPU/event, "
                  f"baseline {min(x['base_cpu'] for x in rows) / best['events'] * 1e3:.3f} "
                  f"ms CPU/event")
            if args.profile:
                _print_profile(args.profile, args.top)
        finally:
            dbs.drop()


if __name__ == "__main__":
    main()
