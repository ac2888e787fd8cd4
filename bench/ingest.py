"""Benchmark of transaction ingest with risk on ingest (issue #9 item 2).

Usage: ``python bench/ingest.py [--rounds 10] [--merchants 10] [--pg postgresql://…/postgres]``

Transactions per second through ``POST /api/v1/transactions`` (batches of 500, every layer of
the request: OAuth bearer, validation, card masking, storage, audit events, one commit) with
every monitoring scenario and the incremental running figures on (``KYB_MONITORING=on``, the
default), against the same ingest with monitoring off (``KYB_MONITORING=off``: stored and
audited only), in the same run on the same database. Target ratio (on / off) >= 0.7.

Two apps share the database: one with monitoring on, one off; each posts to its own merchants
(the same number, all of one MCC so the sector outlier reads peers) and the batches alternate
on, off, on, off… so that both see the same growth of the tables. A batch holds 100 sales of
each of 5 merchants with times spread over the last 30 days, so every scenario looks at a
growing history. In-process (Flask test client: the WSGI stack without a socket); SQLite in
a temporary folder, and PostgreSQL when ``--pg`` names a server (a throw-away database
``kyb_bench_ingest`` is created there and dropped). Loopback only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BATCH = 500
PER_MERCHANT = 100
TARGET = 0.7


def _apps(db_url: str, instance: str):
    """(app with monitoring on, app with monitoring off, bearer header) on a migrated ``db_url``."""
    os.environ.update({"KYB_DATABASE_URL": db_url, "KYB_INSTANCE_PATH": instance,
                       "KYB_ENV": "testing", "KYB_TOKEN_PEPPER": "bench-pepper-0123456789abcdef",
                       "KYB_SECRET_KEY": "bench-secret-key-0123456789abcdefghij"})
    from app import create_app
    from app.config import Settings
    from app.migrate import upgrade
    upgrade(db_url)
    on = create_app({"TESTING": False}, settings=Settings.from_env().replace(monitoring=True))
    off = create_app({"TESTING": False}, settings=Settings.from_env().replace(monitoring=False))
    out = on.test_cli_runner().invoke(args=["clients", "create", "--name", "bench", "--scopes",
                                            "merchants:write transactions:write", "--json"])
    creds = json.loads(out.output)
    bearer = on.test_client().post("/oauth/token", data={
        "grant_type": "client_credentials", "client_id": creds["client_id"],
        "client_secret": creds["client_secret"]}).get_json()["access_token"]
    return on, off, {"Authorization": f"Bearer {bearer}"}


def _merchants(app, auth: dict[str, str], count: int, now: dt.datetime) -> list[str]:
    """``count`` approved merchants of MCC 5992, activated 20 days ago."""
    from sqlmodel import Session

    from app.models import Merchant
    from tests.factories import application
    client, ids = app.test_client(), []
    for _ in range(count):
        resp = client.post("/api/v1/merchants", json=application(), headers=auth)
        ids.append(resp.get_json()["id"])
    with Session(app.extensions["kyb.engine"]) as session:
        for merchant_id in ids:
            merchant = session.get(Merchant, merchant_id)
            merchant.status, merchant.tier = "approved", "low"
            merchant.activated_at = now - dt.timedelta(days=20)
            session.add(merchant)
        session.commit()
    return ids


def _batch(merchants: list[str], round_: int, rng: random.Random,
           now: dt.datetime) -> list[dict]:
    chosen = [merchants[(round_ * 5 + i) % len(merchants)] for i in range(BATCH // PER_MERCHANT)]
    items = []
    for merchant_id in chosen:
        for _ in range(PER_MERCHANT):
            n = rng.getrandbits(48)
            items.append({
                "merchant_id": merchant_id, "external_id": f"b{round_}-{n:x}", "type": "sale",
                "amount": f"{rng.randint(20, 900)}.{rng.randint(0, 99):02d}", "currency": "TRY",
                "occurred_at": (now - dt.timedelta(seconds=rng.randint(60, 30 * 86400))
                                ).isoformat(),
                "card_fingerprint": f"{rng.getrandbits(64):064x}",
                "customer_ref": f"c{rng.randint(1, 2000)}",
                "client_ip": f"203.0.113.{rng.randint(1, 250)}",
                "description": rng.choice(["Gül buketi", "Orkide", "Teslimat", None])})
    return items


def run(db_url: str, label: str, rounds: int, merchants: int) -> float:
    """Post ``rounds`` batches to each app, alternating; print and return the ratio."""
    with tempfile.TemporaryDirectory() as instance:
        on, off, auth = _apps(db_url, instance)
        now = dt.datetime.now(dt.UTC)
        targets = {"on": (on, _merchants(on, auth, merchants, now)),
                   "off": (off, _merchants(off, auth, merchants, now))}
        rng = random.Random(7)  # noqa: S311 - test data, not secrets
        spent = {"on": 0.0, "off": 0.0}
        for round_ in range(rounds):
            for mode in ("on", "off") if round_ % 2 == 0 else ("off", "on"):
                app, ids = targets[mode]
                body = {"transactions": _batch(ids, round_, rng, now)}
                client = app.test_client()
                started = time.perf_counter()
                resp = client.post("/api/v1/transactions", json=body, headers=auth)
                spent[mode] += time.perf_counter() - started
                if resp.status_code != 201:
                    raise SystemExit(f"{mode}: HTTP {resp.status_code} {resp.get_data(True)[:300]}")
        alerts = _alerts(on)
        for app in (on, off):
            app.extensions["kyb.engine"].dispose()
    rate = {mode: rounds * BATCH / seconds for mode, seconds in spent.items()}
    ratio = rate["on"] / rate["off"]
    print(f"{label:<10} monitoring on  {rate['on']:8.0f} tx/s   ({rounds} batches of {BATCH}; "
          f"{alerts} alert(s) opened)")
    print(f"{label:<10} monitoring off {rate['off']:8.0f} tx/s")
    print(f"{label:<10} ratio on/off   {ratio:8.2f}     target >= {TARGET}: "
          f"{'met' if ratio >= TARGET else 'NOT met'}", flush=True)
    return ratio


def _alerts(app) -> int:
    import sqlalchemy as sa
    with app.extensions["kyb.engine"].connect() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM alert")).scalar_one()


def _pg_database(admin_url: str) -> str:
    import sqlalchemy as sa
    url = sa.engine.make_url(admin_url)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql('DROP DATABASE IF EXISTS "kyb_bench_ingest" WITH (FORCE)')
        conn.exec_driver_sql('CREATE DATABASE "kyb_bench_ingest"')
    admin.dispose()
    return url.set(database="kyb_bench_ingest").render_as_string(hide_password=False)


def _drop_pg(admin_url: str) -> None:
    import sqlalchemy as sa
    url = sa.engine.make_url(admin_url)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql('DROP DATABASE IF EXISTS "kyb_bench_ingest" WITH (FORCE)')
    admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10, help="batches per mode (default 10)")
    parser.add_argument("--merchants", type=int, default=10, help="merchants per mode")
    parser.add_argument("--pg", help="PostgreSQL admin URL on 127.0.0.1: also bench there")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run(f"sqlite:///{tmp}/kyb.db", "SQLite", args.rounds, args.merchants)
    if args.pg:
        try:
            run(_pg_database(args.pg), "PostgreSQL", args.rounds, args.merchants)
        finally:
            _drop_pg(args.pg)


if __name__ == "__main__":
    main()
