"""``kybgate monitoring run``: a re-evaluation of stored transactions (after a policy change, an
outage of the hook, or transactions loaded in bulk). Alerts are listed and worked with
``kybgate alerts …`` (:mod:`app.commands.casework`)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from zoneinfo import ZoneInfo

import click
from flask.cli import with_appcontext
from sqlmodel import select

from app.cli import cli_actor, emit
from app.db import session_scope, utcnow
from app.extensions import engine
from app.models import Merchant, Transaction
from app.services.monitoring import current_policy, evaluate_merchant
from checks.policy import Policy


@click.group("monitoring")
def monitoring_group() -> None:
    """Transaction-monitoring scenarios (R-C2..R-C10)."""


@monitoring_group.command("run")
@click.option("--merchant", "merchant_id", default=None, help="Only this merchant.")
@click.option("--since", "days", default=1, show_default=True, type=click.IntRange(1, 400),
              help="Re-evaluate the end of each of the last DAYS local days, and now.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@with_appcontext
def monitoring_run(merchant_id: str | None, days: int, as_json: bool) -> None:
    """Evaluate every scenario on stored transactions and open the alerts not yet open.

    Safe to repeat: a hit already alerted is skipped. Each merchant commits on its own."""
    now, policy = utcnow(), current_policy()
    ids = _merchants(merchant_id, since=now - dt.timedelta(days=days))
    instants = evaluation_instants(now, days, policy)
    opened: Counter[str] = Counter()
    actor = cli_actor()
    for position, mid in enumerate(ids, start=1):
        with session_scope(engine()) as session:
            alerts = evaluate_merchant(session, merchant_id=mid, actor=actor, now=now,
                                       policy=policy, instants=instants)
        opened.update(a.scenario for a in alerts)
        click.echo(f"[{position}/{len(ids)}] {mid}: {len(alerts)} new alert(s)", err=True)
    total = sum(opened.values())
    summary = {"merchants": len(ids), "days": days, "alerts_opened": total,
               "by_scenario": dict(sorted(opened.items())), "policy_version": policy.version}
    by = ", ".join(f"{code} {n}" for code, n in sorted(opened.items()))
    emit(summary, as_json, f"evaluated {len(ids)} merchant(s) over {days} day(s): "
                           f"{total} alert(s) opened" + (f" ({by})" if by else ""))


def _merchants(merchant_id: str | None, *, since: dt.datetime) -> list[str]:
    with session_scope(engine()) as session:
        if merchant_id is not None:
            if session.get(Merchant, merchant_id) is None:
                raise click.ClickException(f"no merchant with id {merchant_id}")
            return [merchant_id]
        return list(session.exec(select(Transaction.merchant_id).distinct()
                                 .where(Transaction.occurred_at > since)
                                 .order_by(Transaction.merchant_id)).all())


def evaluation_instants(now: dt.datetime, days: int, policy: Policy) -> list[dt.datetime]:
    """The last instant of each of the ``days`` local days before today, and ``now``."""
    tz = ZoneInfo(policy.monitoring.param("timezone"))
    today = now.astimezone(tz).date()
    ends = [dt.datetime.combine(today - dt.timedelta(days=d - 1), dt.time.min, tz)
            - dt.timedelta(microseconds=1) for d in range(days, 0, -1)]
    return [*(end.astimezone(dt.UTC) for end in ends), now]


def commands() -> list[click.Command]:
    """Commands this module adds to ``kybgate``."""
    return [monitoring_group]
