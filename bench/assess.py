"""Benchmark of the KYB assessment path.

(Random data comes from seeded ``random.Random``: reproducible, not secret.)

Usage: ``python bench/assess.py [--runs N] [--merchants M] [--pg URL] [--sanctions DIR]``

1. One full assessment (RDAP, WHOIS, DNS, HTTPS website served on 127.0.0.1 by app.demo.sandbox;
   database facts; every check) — p50/p95 over N runs. Baseline in the same run: the same three
   network lookups made one after the other instead of concurrently.
2. The shared-ownership lookup with M merchants (default 100,000) in the database, bulk-loaded
   (executemany on SQLite, COPY on PostgreSQL) — p50/p95 per application; target < 10 ms.
   Baseline: the same lookups with every indexed column wrapped (``col || ''``) so the database
   must scan, measured on a few applications.
3. Screening one name against the full OFAC SDN + UN consolidated lists (target < 5 ms).
   Baseline: rapidfuzz over every alias without the blocking index.
"""

# ruff: noqa: S311 - seeded pseudo-random test data
from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa  # noqa: E402
from sqlmodel import Session  # noqa: E402

from app.crypto.data_keys import DataKeys  # noqa: E402
from app.db import make_engine  # noqa: E402
from app.migrate import upgrade  # noqa: E402

NOW = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC)
BENCH_KEYS = DataKeys.parse("1:" + "QkVOQ0gtT05MWS1CRU5DSC1PTkxZLUJFTkNILU9OTFk=")  # 32 bytes


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def line(label: str, ms: list[float], baseline: list[float] | None = None) -> None:
    text = f"{label:<46} p50 {pct(ms, 50):8.2f} ms  p95 {pct(ms, 95):8.2f} ms  (n={len(ms)})"
    if baseline:
        ratio = pct(baseline, 50) / pct(ms, 50)
        text += f"  | baseline p50 {pct(baseline, 50):8.2f} ms -> {ratio:6.1f}x"
    print(text, flush=True)


# --------------------------------------------------------------------------- 1. assessment
def bench_assessment(runs: int) -> None:
    from app import create_app
    from app.api.schemas import MerchantApplication
    from app.audit.trail import Actor
    from app.config import Settings
    from app.security import Keyring
    from app.services.assessments import active_policy, assess_merchant
    from app.services.facts import dns_facts, price_facts, registration_facts
    from app.services.merchants import submit_application
    from tests.factories import application
    from tests.world import OLD_DOMAIN, start_world

    tmp = Path(tempfile.mkdtemp(prefix="kyb-bench-"))
    url = f"sqlite:///{tmp}/bench.db"
    upgrade(url)
    with start_world(tmp) as world:
        settings = world.settings(Settings.from_env({"KYB_DATABASE_URL": url,
                                                      "KYB_INSTANCE_PATH": str(tmp)}))
        app = create_app({"TESTING": True}, settings=settings)
        sources = world.sources(settings)
        keyring = Keyring(settings.token_peppers, settings.token_pepper_version)
        with app.app_context(), Session(app.extensions["kyb.engine"]) as session:
            body = MerchantApplication.model_validate(application(website=world.site()))
            merchant = submit_application(session, application=body, actor=Actor("bench"),
                                          keyring=keyring, now=NOW)
            session.commit()
            timings = _time(runs, lambda: (assess_merchant(
                session, merchant=merchant, actor=Actor("bench"), now=NOW, trigger="bench",
                sources=sources, index=None, policy=active_policy()), session.commit()))
            serial = _time(max(3, runs // 4), lambda: (
                registration_facts(sources, merchant), dns_facts(sources, merchant),
                price_facts(sources, merchant.website)))
    line(f"full assessment ({OLD_DOMAIN}, 11 checks)", timings)
    line("  its 3 network lookups one after another", serial)


def _time(runs: int, fn) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


# --------------------------------------------------------------------------- 2. ownership
def _rows(count: int, seed: int = 7) -> dict[str, list[dict]]:
    rng = random.Random(seed)
    now = NOW
    merchants, persons, owns, ibans, contacts = [], [], [], [], []
    for i in range(count):
        mid, pid = f"mer_b{i:09d}", f"per_b{i:09d}"
        status = rng.choice(["approved"] * 8 + ["rejected", "suspended"])
        merchants.append({"id": mid, "legal_name": f"Firma {i} Ltd", "country": "TR",
                          "status": status, "frozen": False, "limits": {},
                          "created_by": "bench", "created_at": now, "updated_at": now,
                          "email_sealed": BENCH_KEYS.seal(f"info@firma{i}.com.tr",
                                                          table="merchant",
                                                          column="email_sealed", row_id=mid),
                          "website_domain": f"firma{i}.com.tr"})
        born = dt.date(1980, 1, 1) + dt.timedelta(days=i % 9000)
        persons.append({"id": pid, "full_name_sealed": BENCH_KEYS.seal(
                            f"Kisi {i}", table="person", column="full_name_sealed", row_id=pid),
                        "birth_date_sealed": BENCH_KEYS.seal(
                            born.isoformat(), table="person", column="birth_date_sealed",
                            row_id=pid),
                        "name_index": f"{i:064x}", "name_birth_index": f"{i:063x}b",
                        "national_id_index": f"{i:064x}", "created_at": now})
        owner = pid if rng.random() > 0.1 or i == 0 else f"per_b{i - 1:09d}"  # 10 % share
        owns.append({"id": f"own_b{i:09d}", "merchant_id": mid, "person_id": owner,
                     "role": "owner", "added_at": now})
        iban_no = i if rng.random() > 0.05 else max(i - 1, 0)  # 5 % share an IBAN
        ibans.append({"id": f"iba_b{i:09d}", "merchant_id": mid, "iban": f"TR{iban_no:024d}",
                      "country": "TR", "added_at": now, "added_by": "bench"})
        ip = f"10.{i % 250}.{(i // 250) % 250}.{rng.randrange(1, 250)}"
        for kind, value in (("email", f"info@firma{i}.com.tr"), ("phone", f"+90212{i:07d}"),
                            ("domain", f"firma{i}.com.tr"), ("signup_ip", ip)):
            contacts.append(_contact(f"cpt_{kind[:2]}{i:09d}", mid, kind, value, now))
    return {"merchant": merchants, "person": persons, "ownership": owns,
            "bank_account": ibans, "contact_point": contacts}


def _contact(pid: str, mid: str, kind: str, value: str, now: dt.datetime) -> dict:
    """A contact point row as the application stores it: e-mail and phone sealed, masked and
    linked through their blind index (``personal_data.new_contact_point``)."""
    from app.services.personal_data import MERCHANT_FIELDS, contact_index, mask_contact
    if kind not in MERCHANT_FIELDS:
        return {"id": pid, "merchant_id": mid, "kind": kind, "value": value,
                "value_key": value, "value_sealed": None, "added_at": now}
    return {"id": pid, "merchant_id": mid, "kind": kind, "value": mask_contact(kind, value),
            "value_key": contact_index(kind, value, BENCH_KEYS),
            "value_sealed": BENCH_KEYS.seal(value, table="contact_point", column="value_sealed",
                                            row_id=pid), "added_at": now}


def bulk_load(engine: sa.Engine, count: int) -> float:
    from sqlmodel import SQLModel as Meta

    import app.models  # noqa: F401 - registers every table on the metadata
    start = time.perf_counter()
    data = _rows(count)
    with engine.begin() as conn:
        for name, rows in data.items():
            table = Meta.metadata.tables[name]
            if engine.dialect.name == "postgresql":
                _copy(conn, table, rows)
            else:
                for i in range(0, len(rows), 20000):
                    conn.execute(table.insert(), rows[i:i + 20000])
    return time.perf_counter() - start


def _copy(conn: sa.Connection, table: sa.Table, rows: list[dict]) -> None:
    import json
    cols = list(rows[0])
    raw = conn.connection.dbapi_connection
    with raw.cursor() as cur, cur.copy(
            f"COPY {table.name} ({', '.join(cols)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([json.dumps(v) if isinstance(v, dict) else v for v in
                            (row[c] for c in cols)])


SCAN_QUERIES = [
    "SELECT p.id FROM person p WHERE p.national_id_index || '' = :h",
    "SELECT o.merchant_id FROM ownership o WHERE o.person_id || '' = :p",
    "SELECT b.merchant_id FROM bank_account b WHERE b.iban || '' = :iban",
    "SELECT c.merchant_id FROM contact_point c WHERE c.kind || '' = 'email' "
    "AND c.value_key || '' = :email",
]


def bench_ownership(url: str, count: int, probes: int, label: str) -> None:
    from app.models import Merchant
    from app.services.ownership import find_shared_ownership
    from app.services.personal_data import contact_index, register_data_keys
    upgrade(url)
    engine = make_engine(url)
    register_data_keys(engine, BENCH_KEYS)  # owner names are sealed; the lookup opens them
    seconds = bulk_load(engine, count)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    print(f"{label}: loaded {count:,} merchants (+ owners, IBANs, 4 contacts each) in "
          f"{seconds:.1f} s", flush=True)
    rng = random.Random(3)
    ids = [f"mer_b{rng.randrange(count):09d}" for _ in range(probes)]
    timings, scans = [], []
    with Session(engine) as session:
        for mid in ids:
            merchant = session.get(Merchant, mid)
            start = time.perf_counter()
            find_shared_ownership(session, merchant=merchant)
            timings.append((time.perf_counter() - start) * 1000)
        for mid in ids[:5]:
            i = int(mid[5:])
            start = time.perf_counter()
            for sql in SCAN_QUERIES:
                session.execute(sa.text(sql), {"h": f"{i:064x}", "p": f"per_b{i:09d}",
                                               "iban": f"TR{i:024d}",
                                               "email": contact_index(
                                                   "email", f"info@firma{i}.com.tr",
                                                   BENCH_KEYS)}).all()
            scans.append((time.perf_counter() - start) * 1000)
    line(f"  shared-ownership lookup ({label}, {count:,})", timings, scans)
    engine.dispose()


def _pg_database(admin_url: str) -> str:
    url = sa.engine.make_url(admin_url)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql('DROP DATABASE IF EXISTS "kyb_bench_assess" WITH (FORCE)')
        conn.exec_driver_sql('CREATE DATABASE "kyb_bench_assess"')
    admin.dispose()
    return url.set(database="kyb_bench_assess").render_as_string(hide_password=False)


# --------------------------------------------------------------------------- 3. screening
def bench_screening(directory: Path, names: int) -> None:
    from rapidfuzz import fuzz, process

    from checks.screening import ScreeningIndex, load_list
    from checks.screening.normalize import normalize_name
    ofac = load_list([directory / f for f in ("ofac_sdn.csv", "ofac_add.csv", "ofac_alt.csv")])
    un = load_list(directory / "un_consolidated.xml")
    start = time.perf_counter()
    index = ScreeningIndex.from_lists(ofac, un)
    print(f"screening index: {len(index.entries):,} entries, {index.alias_count:,} names, built "
          f"in {time.perf_counter() - start:.1f} s", flush=True)
    rng = random.Random(5)
    listed = [e.primary_name for e in index.entries]
    made_up = [f"{rng.choice(['Mehmet', 'Ayse', 'Emre', 'Zeynep'])} "
               f"{rng.choice(['Yilmaz', 'Kaya', 'Demir', 'Celik'])}" for _ in range(names)]
    queries = [rng.choice(listed) if i % 2 else made_up[i] for i in range(names)]
    timings = []
    for name in queries:
        start = time.perf_counter()
        index.screen(name, "owner")
        timings.append((time.perf_counter() - start) * 1000)
    keys = [normalize_name(n, person=True).key for e in index.entries for n, _ in e.names()]
    baseline = []
    for name in queries[:20]:
        start = time.perf_counter()
        process.extract(normalize_name(name, person=True).key, keys,
                        scorer=fuzz.token_sort_ratio, score_cutoff=88, limit=10)
        baseline.append((time.perf_counter() - start) * 1000)
    line("  screen one name (OFAC SDN + UN)", timings, baseline)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--merchants", type=int, default=100_000)
    parser.add_argument("--probes", type=int, default=200)
    parser.add_argument("--pg", help="PostgreSQL admin URL: also bench the lookup there")
    parser.add_argument("--sanctions", type=Path, default=Path("/work/shared/data/sanctions"))
    parser.add_argument("--skip", action="append", default=[],
                        choices=["assessment", "ownership", "screening"])
    args = parser.parse_args()
    if "assessment" not in args.skip:
        bench_assessment(args.runs)
    if "ownership" not in args.skip:
        with tempfile.TemporaryDirectory() as tmp:
            bench_ownership(f"sqlite:///{tmp}/own.db", args.merchants, args.probes, "SQLite")
        if args.pg:
            bench_ownership(_pg_database(args.pg), args.merchants, args.probes, "PostgreSQL")
    if "screening" not in args.skip and args.sanctions.exists():
        bench_screening(args.sanctions, 500)


if __name__ == "__main__":
    main()
