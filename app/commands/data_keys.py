"""``kybgate data-keys``: the keys that seal personal fields at rest (``KYB_DATA_KEYS``):
which versions the stored rows use, a new key to rotate to, and re-encryption (R-B4, R-D7)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from app.audit.trail import record
from app.cli import cli_actor, emit
from app.crypto.data_keys import new_key
from app.db import session_scope, utcnow
from app.extensions import engine
from app.services.data_keys import reencrypt_sealed, versions_in_use


@click.group("data-keys")
def data_keys_group() -> None:
    """The data keys that seal persons' names, birth dates and national ids, and merchants'
    e-mail and phone."""


@data_keys_group.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@with_appcontext
def status(as_json: bool) -> None:
    """The current key version and how many sealed fields each version holds."""
    keys = current_app.extensions["kyb.data_keys"]
    used = versions_in_use(engine())
    emit({"current": keys.current, "configured": sorted(keys.keys), "fields_by_version":
          {str(v): n for v, n in sorted(used.items())}}, as_json,
         f"current key version {keys.current}; sealed fields by version: "
         + (", ".join(f"v{v}: {n}" for v, n in sorted(used.items())) or "none"))


@data_keys_group.command("rotate")
@with_appcontext
def rotate() -> None:
    """Print a KYB_DATA_KEYS value with a new current key in front of the configured ones
    (the blind-index key pinned, so lookups keep working). Set it, restart, then run
    ``kybgate data-keys reencrypt``; drop an old version only once ``status`` shows it unused.
    Prints a secret: run it where its output is not logged."""
    import base64
    keys = current_app.extensions["kyb.data_keys"]
    version = max(keys.keys) + 1
    old = ",".join(f"{v}:{base64.b64encode(k).decode()}"
                   for v, k in sorted(keys.keys.items(), reverse=True))
    pinned = base64.b64encode(keys.keys[min(keys.keys)]).decode()
    click.echo(f"KYB_DATA_KEYS={version}:{new_key()},{old},idx:{pinned}")
    click.echo("Note: idx: pins the blind-index source (today derived from version "
               f"{min(keys.keys)}); keep it when you drop old versions.", err=True)


@data_keys_group.command("reencrypt")
@click.option("--batch", default=500, show_default=True, type=click.IntRange(1, 10000),
              help="Rows read and re-sealed per transaction.")
@click.option("--dry-run", is_flag=True, help="Count what would be re-sealed; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@with_appcontext
def reencrypt(batch: int, dry_run: bool, as_json: bool) -> None:
    """Re-seal every sealed field (persons, merchants' e-mail and phone, their contact points,
    assessments' evidence, …) still under an older key version with the current key, a
    batch per transaction (progress on stderr), then print a summary. Safe to repeat. A
    field whose key version is not configured, or that was tampered with, stops the run
    with its row named (nothing of that batch is written)."""
    keys = current_app.extensions["kyb.data_keys"]
    progress = None
    try:
        for progress in reencrypt_sealed(engine(), keys, batch=batch, dry_run=dry_run):
            click.echo(f"{progress.scanned} row(s) read, {progress.rows_changed} to re-seal",
                       err=True)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    summary = {"dry_run": dry_run, "current": keys.current,
               "scanned": progress.scanned if progress else 0,
               "rows_changed": progress.rows_changed if progress else 0,
               "fields_changed": progress.fields_changed if progress else 0,
               "from_versions": {str(k): v for k, v in
                                 sorted((progress.from_versions or {}).items())}
               if progress else {}}
    if not dry_run:
        with session_scope(engine()) as session:
            record(session, cli_actor().event(
                "personal_data.reencrypted", target_type="database", at=utcnow(),
                details=summary))
    verb = "would re-seal" if dry_run else "re-sealed"
    emit(summary, as_json, f"{verb} {summary['fields_changed']} field(s) of "
                           f"{summary['rows_changed']} row(s) under key version "
                           f"{keys.current} ({summary['scanned']} read)")


def commands() -> list[click.Command]:
    """Commands this module adds to ``kybgate``."""
    return [data_keys_group]
