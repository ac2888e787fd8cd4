"""``kybgate str export`` and ``kybgate str file`` (R-D5): the real console script in a
subprocess against the test database, and the command's options and errors in-process."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlmodel import select

from app.models import AuditEvent, Case
from tests.conftest import TEST_DATA_KEYS, TEST_PEPPER
from tests.str_support import MASKS, MERCHANT_NAME, PANS, build_str_world

KYBGATE = str(Path(sys.executable).parent / "kybgate")


@pytest.fixture
def world(api, db_session):
    return build_str_world(api, db_session)


def _kybgate(db_url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "KYB_ENV": "testing", "KYB_DATABASE_URL": db_url,
           "KYB_TOKEN_PEPPER": TEST_PEPPER,
           "KYB_DATA_KEYS": TEST_DATA_KEYS, "KYB_SECRET_KEY": "test-secret-key-0123456789abcdef",
           "KYB_INSTANCE_PATH": str(tmp_path / "instance")}
    return subprocess.run([KYBGATE, *args], env=env, capture_output=True,  # noqa: S603
                          timeout=120, check=False, cwd=tmp_path)


def test_console_script_exports_the_pdf_and_audits_it(world, db_url, tmp_path, db_session):
    done = _kybgate(db_url, tmp_path, "str", "export", world.case_id)
    assert done.returncode == 0, done.stderr.decode()
    pdf = tmp_path / f"str-{world.case_id}.pdf"
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.read_bytes())).pages)
    assert MERCHANT_NAME in text and MASKS[0] in text
    assert all(pan not in text for pan in PANS)
    summary = done.stderr.decode()
    assert MERCHANT_NAME in summary and "2 alert(s), 2 transaction(s), 3 API call(s)" in summary
    (event,) = db_session.exec(select(AuditEvent).where(
        AuditEvent.action == "case.str_exported")).all()
    assert event.actor.startswith("cli:") and event.details["format"] == "pdf"


def test_console_script_names_an_unknown_case_without_a_traceback(world, db_url, tmp_path):
    done = _kybgate(db_url, tmp_path, "str", "export", "cas_nope", "--format", "json")
    assert done.returncode == 1
    assert done.stderr.decode().strip() == "Error: no case with id cas_nope"


def test_json_to_standard_output_is_the_package(app, world):
    result = app.test_cli_runner().invoke(
        args=["str", "export", world.case_id, "--format", "json", "--output", "-"])
    assert result.exit_code == 0, result.stderr
    package = json.loads(result.stdout)
    assert package["case"]["id"] == world.case_id
    assert "written to standard output" in result.stderr


def test_an_unwritable_output_is_an_error_and_nothing_is_audited(app, world, tmp_path,
                                                                 db_session):
    result = app.test_cli_runner().invoke(
        args=["str", "export", world.case_id, "-o", str(tmp_path / "no" / "such" / "x.pdf")])
    assert result.exit_code == 1 and "cannot write" in result.output
    assert db_session.exec(select(AuditEvent).where(
        AuditEvent.action == "case.str_exported")).all() == []


def test_a_bad_format_is_a_usage_error(app, world):
    result = app.test_cli_runner().invoke(args=["str", "export", world.case_id, "--format",
                                                "docx"])
    assert result.exit_code == 2 and "docx" in result.output


def test_file_records_the_filing_and_refuses_a_second(app, world, db_session, tmp_path):
    narrative = tmp_path / "anlatı.txt"
    narrative.write_text("Şüpheli: aynı kartla seri satış.", encoding="utf-8")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["str", "file", world.case_id, "--reference", "MASAK-9",
                                 "--narrative-file", str(narrative), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    case = db_session.get(Case, world.case_id)
    assert (data["reference"], data["sha256"]) == (case.str_reference, case.str_sha256)
    assert case.narrative == "Şüpheli: aynı kartla seri satış."
    db_session.rollback()
    again = runner.invoke(args=["str", "file", world.case_id])
    assert again.exit_code == 1 and "already filed" in again.output


def test_file_refuses_both_narrative_options(app, world, tmp_path):
    path = tmp_path / "n.txt"
    path.write_text("x", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["str", "file", world.case_id, "--narrative",
                                                "a", "--narrative-file", str(path)])
    assert result.exit_code == 2 and "not both" in result.output


@pytest.mark.parametrize("args", [["str", "--help"], ["str", "export", "--help"],
                                  ["str", "file", "--help"]])
def test_help_explains_each_command(app, args):
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 0
    assert "STR" in result.output or "suspicious" in result.output.lower()
