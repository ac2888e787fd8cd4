"""The ``kybgate`` console script on a database it cannot use: a clear one-line error and exit
code 1, never a stack trace."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

KYBGATE = str(Path(sys.executable).parent / "kybgate")


def _run(tmp_path, url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "KYB_ENV": "testing", "KYB_DATABASE_URL": url,
           "KYB_INSTANCE_PATH": str(tmp_path)}
    return subprocess.run([KYBGATE, *args], env=env, capture_output=True, text=True,  # noqa: S603
                          timeout=120, check=False)


def test_an_unmigrated_database_says_to_run_db_upgrade(tmp_path):
    done = _run(tmp_path, f"sqlite:///{tmp_path}/empty.db", "audit", "verify")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr + done.stdout
    assert done.stderr.strip() == ("Error: the database refused the command: no such table: "
                                   "audit_event — run `kybgate db upgrade` first")


def test_an_unreachable_database_is_named_without_a_stack_trace(tmp_path):
    if not os.environ.get("KYB_TEST_POSTGRES_URL"):
        pytest.skip("needs the PostgreSQL server")
    done = _run(tmp_path, "postgresql+psycopg://postgres@127.0.0.1:5432/kyb_no_such_db",
                "audit", "verify")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert 'database "kyb_no_such_db" does not exist' in done.stderr
    assert "db upgrade" not in done.stderr  # creating the database is not what upgrade does
