"""``kybgate str export`` and ``kybgate str file``: the suspicious-transaction report (STR) of
a case from the command line (R-D5). Both are audited (``case.str_exported``,
``case.str_filed``) with the operator as the actor."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from app.cli import cli_actor, emit
from app.db import session_scope, utcnow
from app.extensions import engine
from app.services.str_report import StrError, export_str, file_str, load_case
from app.services.str_report.filing import FORMATS, MAX_REFERENCE


@click.group("str")
def str_group() -> None:
    """Suspicious-transaction reports (STR, MASAK şüpheli işlem bildirimi) of cases."""


@str_group.command("export")
@click.argument("case_id")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="pdf", show_default=True,
              help="pdf: the printable report (Turkish characters embedded); json: the "
                   "package with its SHA-256, for machines and archives.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, allow_dash=True),
              help="File to write; '-' writes to standard output. Default: "
                   "str-CASE_ID.pdf (or .json) in the current directory.")
@with_appcontext
def str_export(case_id: str, fmt: str, output: str | None) -> None:
    """Export the STR package of CASE_ID: the merchant, its persons and owners, linked
    merchants, the case's alerts and their evidence, the transactions and API calls concerned
    (cards masked), the narrative, the decisions and who took them, the policy versions, and
    the audit hashes anchoring each item. The export is audited. A summary goes to standard
    error; exit 1 for an unknown case."""
    target = output or f"str-{case_id}.{fmt}"
    try:
        with session_scope(engine()) as session:
            package, data = export_str(session, case_id=case_id, actor=cli_actor(),
                                       now=utcnow(), fmt=fmt)
            _write(target, data)  # before the commit: no audited export without its file
    except StrError as exc:
        raise click.ClickException(str(exc)) from exc
    except OSError as exc:
        raise click.ClickException(f"cannot write {target}: {exc.strerror or exc}") from exc
    click.echo(f"STR of case {case_id} ({package['merchant']['legal_name']}): "
               f"{len(package['alerts'])} alert(s), {len(package['transactions'])} "
               f"transaction(s), {len(package['api_calls'])} API call(s); package SHA-256 "
               f"{package['sha256']}; {len(data)} bytes of {fmt} written to "
               f"{'standard output' if target == '-' else target}", err=True)


def _write(target: str, data: bytes) -> None:
    if target == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        Path(target).write_bytes(data)


@str_group.command("file")
@click.argument("case_id")
@click.option("--reference", help=f"The reference the STR was filed under (at most "
                                  f"{MAX_REFERENCE} characters); default: one kybgate makes, "
                                  f"STR-YYYYMMDD-<case>.")
@click.option("--narrative", help="The analyst's narrative (why the activity is suspicious); "
                                  "replaces the case's narrative. Default: the case's own.")
@click.option("--narrative-file", type=click.File("r", encoding="utf-8"),
              help="Read the narrative from this file ('-' for standard input).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@with_appcontext
def str_file(case_id: str, reference: str | None, narrative: str | None,
             narrative_file, as_json: bool) -> None:
    """Record that the STR of CASE_ID was filed: reference, filer, time and the package's
    SHA-256 on the case, the filed package kept with the case, and `case.str_filed` in the
    audit trail. Refused (exit 1) for an unknown or closed case, a case already filed, or no
    narrative."""
    if narrative is not None and narrative_file is not None:
        raise click.UsageError("give --narrative or --narrative-file, not both")
    text = narrative_file.read() if narrative_file is not None else narrative
    try:
        with session_scope(engine()) as session:
            case = file_str(session, case=load_case(session, case_id), actor=cli_actor(),
                            now=utcnow(), reference=reference, narrative=text)
            data = {"case_id": case.id, "reference": case.str_reference,
                    "filed_by": case.str_filed_by, "filed_at": case.str_filed_at.isoformat(),
                    "sha256": case.str_sha256}
    except StrError as exc:
        raise click.ClickException(str(exc)) from exc
    emit(data, as_json, f"STR of case {data['case_id']} filed: reference {data['reference']}, "
                        f"package SHA-256 {data['sha256']}")


def commands() -> list[click.Command]:
    """Commands this module adds to ``kybgate``."""
    return [str_group]
