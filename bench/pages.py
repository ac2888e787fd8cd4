"""Benchmark of the staff console's pages with the full demo data set.

Usage: ``python bench/pages.py [--runs N]``

Builds a fresh SQLite database in a temporary directory, loads the demo exactly as
``kybgate demo`` does (37 merchants assessed through the local sandbox, decided by demo staff),
creates an admin with ``kybgate users create``, logs in through the real login and TOTP forms,
then requests every console page N times (default 20) and prints the server time (p50, p95)
and the number of SQL queries per page. Target: every page under 200 ms (issue #5).
Baseline in the same run: ``/healthz`` through the same client, the cost of a bare request.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pyotp  # noqa: E402
from sqlalchemy import event  # noqa: E402

TARGET_MS = 200.0


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _csrf(html: str) -> str:
    for marker in ('name="csrf_token" type="hidden" value="', 'name="csrf_token" value="'):
        if marker in html:
            start = html.index(marker) + len(marker)
            return html[start:html.index('"', start)]
    raise SystemExit("login page has no CSRF token")


def _login(app, client) -> None:
    result = app.test_cli_runner().invoke(
        args=["users", "create", "--email", "bench@bank.example", "--role", "admin", "--json"])
    if result.exit_code != 0:
        raise SystemExit(result.output)
    user = json.loads(result.output)
    page = client.get("/staff/login")
    client.post("/staff/login", data={"email": user["email"], "password": user["password"],
                                      "csrf_token": _csrf(page.get_data(True))})
    page = client.get("/staff/login/code")
    resp = client.post("/staff/login/code", data={
        "code": pyotp.TOTP(user["totp_secret"]).now(), "csrf_token": _csrf(page.get_data(True))})
    if resp.status_code != 302:
        raise SystemExit("login failed")


def _pages(app) -> dict[str, str]:
    from sqlmodel import Session, select

    from app.models import Merchant
    with Session(app.extensions["kyb.engine"]) as session:
        merchants = session.exec(select(Merchant).order_by(Merchant.created_at)).all()
        approved = next(m for m in merchants if m.status == "approved")
        linked = next(m for m in merchants if m.website_domain == "hizlikod-epin.com")
        return {
            "queue": "/staff/", "queue, high-tier alerts": "/staff/?show=alerts&tier=high",
            "merchant list": "/staff/merchants",
            "merchant page (approved)": f"/staff/merchants/{approved.id}",
            "merchant page (linked network)": f"/staff/merchants/{linked.id}",
            "blacklists": "/staff/blacklists", "sanctions lists": "/staff/lists",
            "audit search": "/staff/audit",
            "audit search, one merchant": f"/staff/audit?merchant_id={approved.id}",
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="requests per page (default 20)")
    args = parser.parse_args()

    from app import create_app
    from app.config import Settings
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_env({"KYB_DATABASE_URL": f"sqlite:///{tmp}/kyb.db",
                                      "KYB_INSTANCE_PATH": tmp})
        app = create_app({"TESTING": False}, settings=settings)
        runner = app.test_cli_runner()
        for args_ in (["db", "upgrade"], ["demo"]):
            started = time.perf_counter()
            result = runner.invoke(args=args_)
            if result.exit_code != 0:
                raise SystemExit(f"{result.output}\n{result.exception!r}")
            print(f"kybgate {' '.join(args_)}: {time.perf_counter() - started:.1f} s", flush=True)
        client = app.test_client()
        _login(app, client)

        counter = {"n": 0}

        def count(*_a, **_kw):
            counter["n"] += 1
        event.listen(app.extensions["kyb.engine"], "before_cursor_execute", count)

        def measure(path: str) -> tuple[list[float], int]:
            client.get(path)  # warm templates and caches
            timings = []
            for _ in range(args.runs):
                counter["n"] = 0
                started = time.perf_counter()
                resp = client.get(path)
                timings.append((time.perf_counter() - started) * 1000)
                if resp.status_code != 200:
                    raise SystemExit(f"{path}: HTTP {resp.status_code}")
            return timings, counter["n"]

        bare, _ = measure("/healthz")
        print(f"{'baseline: /healthz':<34} p50 {pct(bare, 50):7.2f} ms  "
              f"p95 {pct(bare, 95):7.2f} ms")
        worst = 0.0
        for label, path in _pages(app).items():
            ms, queries = measure(path)
            worst = max(worst, pct(ms, 95))
            print(f"{label:<34} p50 {pct(ms, 50):7.2f} ms  p95 {pct(ms, 95):7.2f} ms  "
                  f"{queries:3d} queries  | {pct(ms, 50) / pct(bare, 50):6.1f}x bare, "
                  f"{pct(ms, 95) / TARGET_MS:5.2f} of the {TARGET_MS:.0f} ms target", flush=True)
        print(f"slowest page p95 {worst:.1f} ms: "
              f"{'within' if worst < TARGET_MS else 'OVER'} the {TARGET_MS:.0f} ms target")


if __name__ == "__main__":
    main()
