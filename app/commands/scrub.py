"""``kybgate scrub backfill``: re-mask card numbers in rows stored before the scrubber existed
(issue #13 item 4, R-B5), and count the audit events that still hold one (never rewritten)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from app.audit.trail import record
from app.cli import cli_actor, emit
from app.db import session_scope, utcnow
from app.extensions import engine
from app.services.pan_backfill import (
    TableResult,
    audit_events_with_pans,
    backfill_table,
    free_text_models,
)


@click.group("scrub")
def scrub_group() -> None:
    """Card numbers in stored free text (the scrubber masks new values on every write)."""


@scrub_group.command("backfill")
@click.option("--batch", default=500, show_default=True, type=click.IntRange(1, 10000),
              help="Rows read and rewritten per transaction.")
@click.option("--dry-run", is_flag=True, help="Count what would be masked; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@with_appcontext
def scrub_backfill(batch: int, dry_run: bool, as_json: bool) -> None:
    """Mask every full card number (first 6 / last 4 kept) in the free-text columns that
    app/models/free_text.py lists, table by table, a batch per transaction. Safe to repeat
    and to run while the service is up. The audit trail is append-only and hash-chained: it
    is not touched; the summary says how many audit events still hold a card number.
    Prints progress per batch on stderr and a summary."""
    tables: dict[str, dict[str, int]] = {}
    for model in free_text_models():
        result = TableResult(model.__tablename__, 0, 0, 0)
        for result in backfill_table(engine(), model, batch=batch, dry_run=dry_run):
            click.echo(f"{result.table}: {result.scanned} row(s) read, "
                       f"{result.rows_changed} to mask", err=True)
        tables[result.table] = {"scanned": result.scanned, "rows_changed": result.rows_changed,
                                "values_masked": result.values_masked}
    summary = {"dry_run": dry_run, "tables": tables,
               "rows_changed": sum(t["rows_changed"] for t in tables.values()),
               "values_masked": sum(t["values_masked"] for t in tables.values()),
               "audit_events_with_card_numbers": audit_events_with_pans(engine())}
    if not dry_run:
        _audit(summary)
    verb = "would mask" if dry_run else "masked"
    emit(summary, as_json, f"{verb} {summary['values_masked']} value(s) in "
                           f"{summary['rows_changed']} row(s) of {len(tables)} table(s); "
                           f"audit events still holding a card number (not rewritten): "
                           f"{summary['audit_events_with_card_numbers']}")


def _audit(summary: dict) -> None:
    now = utcnow()
    with session_scope(engine()) as session:
        record(session, cli_actor().event(
            "pans.backfilled", target_type="database", at=now,
            details={"rows_changed": summary["rows_changed"],
                     "values_masked": summary["values_masked"],
                     "audit_events_with_card_numbers":
                         summary["audit_events_with_card_numbers"]}))


def commands() -> list[click.Command]:
    """Commands this module adds to ``kybgate``."""
    return [scrub_group]
