"""The OpenAPI document is the contract: a bounded schemathesis run (issue #13 item 8) drives a
real kybgate served over HTTP on 127.0.0.1 (demo-like data, a token holding every scope) through
EVERY documented operation and fails on any 5xx, any status code or content type the document
does not declare, and any response body that does not match its schema. A drift between the
framework's generated document and the code therefore fails the suite.

Bounded: a fixed seed, a few examples per operation, one worker and a hard time budget, so that
it takes about two minutes on a 2-core machine. Every lookup an operation could start (RDAP,
WHOIS, DNS, website) goes to the local sandbox servers of ``tests.world``; nothing leaves
127.0.0.1. SQLite only: the document and the code paths under test do not depend on the
backend (every operation's own tests run on both).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from app.oauth.models import KNOWN_SCOPES
from tests.conftest import create_oauth_client
from tests.integration.app_server import serve
from tests.world import lookup_world, settings  # noqa: F401 - fixtures

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
SEED = 20261127
# KYB_CONTRACT_EXAMPLES / KYB_CONTRACT_BUDGET deepen a run by hand; the suite keeps these.
MAX_EXAMPLES = int(os.environ.get("KYB_CONTRACT_EXAMPLES", "25"))
BUDGET_SECONDS = int(os.environ.get("KYB_CONTRACT_BUDGET", "240"))  # a run past it fails
CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,"
          "response_schema_conformance")


@pytest.fixture
def db_url(tmp_path, sqlite_template) -> str:
    """SQLite only (see the module docstring)."""
    import shutil
    path = tmp_path / "kyb.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


def _load_demo(app) -> None:
    """``kybgate demo`` (through its real command): merchants of every risk, approved ones
    with keys, sales, alerts, cases, a blacklist; assessed against the local sandbox."""
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output


def _real_ids(app, base: str, token: str) -> dict[str, str]:
    """Identifiers of existing records (and one case opened through the API), so that the
    second pass reaches past 404 into each operation's real work."""
    with app.extensions["kyb.engine"].connect() as conn:
        def one(sql: str, **bound: str) -> str:
            return conn.execute(sa.text(sql), bound).scalar_one()
        merchant = one("SELECT id FROM merchant WHERE status = 'approved' AND EXISTS (SELECT 1 "
                       "FROM alert WHERE alert.merchant_id = merchant.id) ORDER BY id LIMIT 1")
        ids = {"merchant_id": merchant,
               "alert_id": one("SELECT id FROM alert WHERE merchant_id = :m ORDER BY id LIMIT 1",
                               m=merchant),
               "key_id": one("SELECT id FROM api_key WHERE merchant_id = :m ORDER BY id LIMIT 1",
                             m=merchant),
               "entry_id": one("SELECT id FROM blacklist_entry ORDER BY id LIMIT 1")}
    resp = httpx.post(f"{base}/api/v1/cases", timeout=20,
                      headers={"Authorization": f"Bearer {token}"},
                      json={"merchant_id": merchant, "title": "Contract test case"})
    assert resp.status_code == 201, resp.text
    ids["case_id"] = resp.json()["id"]
    return ids


def _schemathesis(base: str, token: str, folder: Path, name: str,
                  ids: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess, Path]:
    """One bounded run over every operation; ``ids`` fixes path parameters to real records."""
    folder = folder / name
    folder.mkdir()
    config = folder / "schemathesis.toml"
    fixed = {f"path.{key}": value for key, value in (ids or {}).items()}
    if ids:  # bodies naming a merchant (transactions, cases) name a real one
        fixed["body.merchant_id"] = ids["merchant_id"]
    config.write_text("[parameters]\n" + "".join(
        f'"{key}" = "{value}"\n' for key, value in fixed.items()))
    report = folder / "events.ndjson"
    run = subprocess.run(  # noqa: S603
        [str(BIN / "schemathesis"), "--config-file", str(config), "run",
         f"{base}/api/v1/openapi.json",
         "--checks", CHECKS, "--max-examples", str(MAX_EXAMPLES), "--seed", str(SEED),
         "--workers", "1", "--phases", "examples,coverage,fuzzing", "--no-shrink",
         "--generation-database", "none", "--request-timeout", "20",
         "--header", f"Authorization: Bearer {token}",
         "--suppress-health-check", "all", "--no-color", "--output-truncate", "true",
         "--report", "ndjson", "--report-ndjson-path", str(report)],
        capture_output=True, text=True, timeout=BUDGET_SECONDS, cwd=folder,
        env={**os.environ, "NO_COLOR": "1"}, check=False)
    if os.environ.get("KYB_CONTRACT_LOG"):  # keep the whole report by hand
        Path(f"{os.environ['KYB_CONTRACT_LOG']}.{name}").write_text(run.stdout + run.stderr)
    return run, report


def _token(base: str, client_id: str, secret: str) -> str:
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    resp = httpx.post(f"{base}/oauth/token", data={"grant_type": "client_credentials"},
                      headers={"Authorization": f"Basic {basic}"}, timeout=10)
    assert resp.status_code == 200, resp.text
    return resp.json()["access_token"]


def test_every_operation_keeps_to_the_openapi_document(app, settings, lookup_world,  # noqa: F811
                                                       tmp_path, no_internet):
    app.extensions["kyb.lookup_sources"] = lookup_world.sources(settings)
    _load_demo(app)
    client_id, secret = create_oauth_client(app, " ".join(KNOWN_SCOPES), name="contract")
    document = json.loads(app.test_client().get("/api/v1/openapi.json").get_data())
    every = {f"{m.upper()} {p}" for p, ops in document["paths"].items() for m in ops}
    with serve(app) as port:
        base = f"http://127.0.0.1:{port}"
        token = _token(base, client_id, secret)
        ids = _real_ids(app, base, token)
        for name, fixed in (("unknown-ids", None), ("real-ids", ids)):
            started = time.monotonic()
            run, report = _schemathesis(base, token, tmp_path, name, fixed)
            print(f"schemathesis {name}: {time.monotonic() - started:.0f} s")  # noqa: T201
            assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-4000:]
            tested = _tested_operations(report)
            assert every <= tested, f"not exercised: {sorted(every - tested)}"


def _tested_operations(report: Path) -> set[str]:
    """The ``METHOD /path`` labels schemathesis reports having run."""
    labels = set()
    for line in report.read_text().splitlines():
        labels.update(_labels(json.loads(line)))
    return {label.split(" ", 1)[0] + " /api/v1" + label.split(" ", 1)[1]
            if not label.split(" ", 1)[1].startswith("/api/v1") else label for label in labels}


def _labels(event: object) -> set[str]:
    found: set[str] = set()
    stack = [event]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if key == "label" and isinstance(value, str) and " /" in value:
                    found.add(value)
                else:
                    stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)
    return found
