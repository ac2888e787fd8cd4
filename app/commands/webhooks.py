"""``kybgate webhooks …``: deliver the webhook outbox (once, or in a loop), list endpoints and
dead letters, and put a dead delivery back in the queue (R-D6)."""

from __future__ import annotations

import time

import click
from flask.cli import with_appcontext

from app.cli import cli_actor, emit
from app.db import session_scope, utcnow
from app.extensions import engine, settings
from app.services.assessments import current_policy
from app.services.webhook_delivery import (
    deliver_due_webhooks,
    pending_count,
    target_from_settings,
)
from app.services.webhooks import (
    WebhookNotFound,
    dead_deliveries,
    list_endpoints,
    retry_delivery,
)


@click.group("webhooks")
def webhooks_group() -> None:
    """Webhooks to the back office (Standard Webhooks, at least once)."""


@webhooks_group.command("deliver")
@click.option("--loop", is_flag=True, help="Keep delivering until interrupted (Ctrl-C).")
@click.option("--interval", default=5.0, show_default=True, type=click.FloatRange(0.2, 3600),
              help="With --loop: seconds between rounds.")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 10000),
              help="At most this many deliveries per round.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@with_appcontext
def webhooks_deliver(loop: bool, interval: float, limit: int, as_json: bool) -> None:
    """Send every delivery that is due; a failed one is retried later with exponential
    backoff (same webhook-id) until the policy's max_attempts makes it a dead letter."""
    target, policy = target_from_settings(settings()), current_policy().webhooks
    totals = {"rounds": 0, "attempted": 0, "delivered": 0, "retrying": 0, "dead": 0}
    try:
        while True:
            report = deliver_due_webhooks(engine(), target=target, policy=policy, limit=limit)
            totals["rounds"] += 1
            for name in ("attempted", "delivered", "retrying", "dead"):
                totals[name] += getattr(report, name)
            for error in report.errors:
                click.echo(f"  failed: {error}", err=True)
            if report.attempted or not loop:
                click.echo(f"round {totals['rounds']}: {report.attempted} attempted, "
                           f"{report.delivered} delivered, {report.retrying} to retry, "
                           f"{report.dead} dead; {pending_count(engine())} waiting", err=True)
            if not loop:
                break
            time.sleep(interval)
    except KeyboardInterrupt:
        pass
    emit(totals, as_json, f"{totals['delivered']} delivered, {totals['retrying']} to retry, "
                          f"{totals['dead']} dead in {totals['rounds']} round(s)")


@webhooks_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@with_appcontext
def webhooks_list(as_json: bool) -> None:
    """Registered endpoints and their event types (never the secrets)."""
    with session_scope(engine()) as session:
        data = [{"id": e.id, "url": e.url, "events": e.events,
                 "created_at": e.created_at.isoformat()} for e in list_endpoints(session)]
    emit(data, as_json, "\n".join(f"{d['id']}  {d['url']}  {' '.join(d['events'])}"
                                  for d in data) or "no webhook endpoints")


@webhooks_group.command("dead")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@with_appcontext
def webhooks_dead(as_json: bool) -> None:
    """Dead letters: deliveries given up after the last attempt, newest first."""
    with session_scope(engine()) as session:
        data = [{"id": d.id, "endpoint_id": d.endpoint_id, "type": d.event_type,
                 "attempts": d.attempts, "last_error": d.last_error,
                 "updated_at": d.updated_at.isoformat()} for d in dead_deliveries(session)]
    emit(data, as_json, "\n".join(f"{d['id']}  {d['type']:<28} {d['attempts']} attempts  "
                                  f"{d['last_error']}" for d in data) or "no dead deliveries")


@webhooks_group.command("retry")
@click.argument("delivery_id")
@with_appcontext
def webhooks_retry(delivery_id: str) -> None:
    """Put dead delivery DELIVERY_ID back in the queue (same webhook-id); audited."""
    with session_scope(engine()) as session:
        try:
            retry_delivery(session, delivery_id=delivery_id, actor=cli_actor(), now=utcnow())
        except WebhookNotFound:
            raise click.ClickException(f"no dead delivery {delivery_id} (or its endpoint "
                                       f"was deleted)") from None
    click.echo(f"{delivery_id} queued again")


def commands() -> list[click.Command]:
    """Commands this module adds to ``kybgate``."""
    return [webhooks_group]
