"""``kybgate retention purge``: erase personal data whose retention period has ended (R-D7),
as the daily job does; ``--dry-run`` shows what would go."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from app.cli import cli_actor, emit
from app.db import session_scope, utcnow
from app.extensions import engine
from app.services.assessments import current_policy
from app.services.retention import purge_personal_data


@click.group("retention")
def retention_group() -> None:
    """Retention of personal data (policy [retention]; 8 years for Turkish records)."""


@retention_group.command("purge")
@click.option("--dry-run", is_flag=True, help="Count what would be erased; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@with_appcontext
def purge(dry_run: bool, as_json: bool) -> None:
    """Erase the personal data of merchants whose relationship ended longer ago than their
    country's retention period, and of their persons not tied to another merchant still
    within its period. Rows stay as tombstones; the audit trail is not rewritten (one event
    records the run). Safe to repeat."""
    policy = current_policy()
    if policy.retention is None:
        raise click.ClickException(f"policy {policy.version} has no [retention] table: "
                                   "nothing is purged under it")
    with session_scope(engine()) as session:
        result = purge_personal_data(session, policy=policy, now=utcnow(), actor=cli_actor(),
                                     dry_run=dry_run)
        if dry_run:
            session.rollback()
    summary = result.summary()
    verb = "would erase" if dry_run else "erased"
    emit({**summary, "policy_version": policy.version}, as_json,
         f"{verb} the personal data of {summary['merchants']} merchant(s) and "
         f"{summary['persons']} person(s) ({summary['persons_kept']} person(s) kept for "
         f"another merchant) under {policy.version}")


def commands() -> list[click.Command]:
    """Commands this module adds to ``kybgate``."""
    return [retention_group]
