"""``kybgate figures rebuild``: recompute merchants' running figures (R-A4, R-A5, R-A7) from the
stored transactions and the audit trail's allowed verifications — after a restore, a bulk load
with ``KYB_MONITORING=off``, or on a database that had transactions before the figures existed.
"""

from __future__ import annotations

from collections import Counter

import click
from flask.cli import with_appcontext

from app.cli import cli_actor, emit
from app.db import session_scope, utcnow
from app.extensions import engine
from app.models import Merchant
from app.services.assessments import current_policy
from app.services.figure_crossings import rejudge, rejudge_pending
from app.services.figures_rebuild import merchants_with_sales, rebuild_merchant


@click.group("figures")
def figures_group() -> None:
    """Merchants' running figures: turnover since activation, tickets, sales per day."""


@figures_group.command("rebuild")
@click.option("--merchant", "merchant_id", default=None, help="Only this merchant.")
@click.option("--rejudge", "rejudge_over", is_flag=True,
              help="Also re-judge the thresholds the rebuilt figures are over: open the alerts "
                   "not yet open and record a `figures:` assessment (as a crossing on ingest).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@with_appcontext
def figures_rebuild(merchant_id: str | None, rejudge_over: bool, as_json: bool) -> None:
    """Recompute the figures of every merchant with sales (or of --merchant) from what is
    stored. Safe to repeat; each merchant commits on its own, with its figures row locked, so
    ingest may go on meanwhile. Prints a line per merchant and a summary."""
    now, policy, actor = utcnow(), current_policy(), cli_actor()
    ids = _merchant_ids(merchant_id)
    over: Counter[str] = Counter()
    sales, alerts, assessments = 0, 0, 0
    for position, mid in enumerate(ids, start=1):
        with session_scope(engine()) as session:
            done = rebuild_merchant(session.connection(), merchant_id=mid, policy=policy,
                                    now=now, mark_pending=rejudge_over)
            if rejudge_over and done.over:
                result = rejudge(session, merchant_id=mid, actor=actor, now=now, policy=policy)
                alerts += len(result.alerts)
                assessments += result.assessment is not None
        sales += done.sales
        over.update(code.split(":")[0] for code in done.over)
        click.echo(f"[{position}/{len(ids)}] {mid}: {done.sales} sale(s), "
                   f"{done.turnover_try:,.2f} TRY on {done.days} day(s)"
                   + (f"; over: {', '.join(done.over)}" if done.over else ""), err=True)
    summary = {"merchants": len(ids), "sales": sales, "over": dict(sorted(over.items())),
               "alerts_opened": alerts, "assessments": assessments,
               "policy_version": policy.version,
               "verifications_counted": policy.figures.count_verifications}
    emit(summary, as_json, f"rebuilt the figures of {len(ids)} merchant(s) from {sales} "
                           f"sale(s); over a threshold: {dict(sorted(over.items())) or 'none'}"
                           + (f"; {alerts} alert(s) opened, {assessments} assessment(s)"
                              if rejudge_over else ""))


@figures_group.command("rejudge")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@with_appcontext
def figures_rejudge(as_json: bool) -> None:
    """Re-judge every crossing still pending (e.g. a worker stopped between the audit commit
    that found it and its re-judging): open the alerts and record the assessments."""
    now, policy = utcnow(), current_policy()
    with session_scope(engine()) as session:
        done = rejudge_pending(session, actor=cli_actor(), now=now, policy=policy)
    summary = {"merchants": len(done), "alerts_opened": sum(len(d.alerts) for d in done),
               "assessments": sum(d.assessment is not None for d in done)}
    emit(summary, as_json, f"re-judged {summary['merchants']} merchant(s): "
                           f"{summary['alerts_opened']} alert(s) opened, "
                           f"{summary['assessments']} assessment(s)")


def _merchant_ids(merchant_id: str | None) -> list[str]:
    with session_scope(engine()) as session:
        if merchant_id is not None:
            if session.get(Merchant, merchant_id) is None:
                raise click.ClickException(f"no merchant with id {merchant_id}")
            return [merchant_id]
        return merchants_with_sales(session.connection())


def commands() -> list[click.Command]:
    """Commands this module adds to ``kybgate``."""
    return [figures_group]
