"""``kybgate demo``: load the demo data set."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from app.api.context import keyring
from app.db import session_scope, utcnow
from app.extensions import engine, settings


@click.command("demo")
@click.option("--if-empty", is_flag=True,
              help="Do nothing when the database already holds merchants (safe to re-run).")
@with_appcontext
def demo_command(if_empty: bool) -> None:
    """Load realistic demo data: 37 merchants (Turkish and foreign, low/medium/high risk,
    shared owners, frequent IBAN changes, young domains, a sanctioned owner) with sales
    histories, assessed through a local sandbox Internet and decided by demo staff; prints
    the demo logins."""
    from app.dataplane.runtime import runtime, wait_idle
    from app.demo.loader import has_merchants, load_demo
    from app.demo.review import create_demo_accounts, plan_review
    from app.demo.timeline import Timeline
    from app.demo.world import sandbox_sources
    from app.services.assessments import active_policy
    now = utcnow()
    app = current_app._get_current_object()
    timeline = Timeline()
    with session_scope(engine()) as session:
        if has_merchants(session):
            if if_empty:
                click.echo("demo: the database already holds merchants; nothing loaded")
                return
            raise click.ClickException("the database already holds merchants; the demo loads "
                                       "only into an empty database (use --if-empty to skip)")
        loaded = load_demo(session, keyring=keyring(), now=now, timeline=timeline,
                           policy=active_policy(settings().policy_path))
        domains = {item.spec.domain: item.spec.domain_age_days for item in loaded}
        with sandbox_sources(settings(), domains, now) as sources:
            plan_review(session, loaded, timeline, settings=settings(), sources=sources,
                        now=now)
            traffic = _plan_api_traffic(app, session, timeline, loaded, now)
            with (click.progressbar(length=len(timeline), label="history",
                                    show_pos=True) as bar, runtime(app).observers_held()):
                # One commit per step, as each request of the story did: the API calls run
                # in their own sessions and must see the keys and merchants before them.
                timeline.play(session, commit=True, progress=lambda _label: bar.update(1))
        accounts = create_demo_accounts(session, loaded)
        tiers = _tiers(session, loaded)
        entries = _entries(session)
    wait_idle(app)
    sent = traffic.totals()
    alerts = _alert_counts()
    by_tier = ", ".join(f"{n} {t}" for t, n in sorted(tiers.items()))
    click.echo(f"demo loaded: {len(loaded)} merchants ({by_tier}), {entries} sanctions entries, "
               f"{sum(t.allowed + t.refused for t in sent)} API verifications {_since(now)} "
               f"({sum(t.refused for t in sent)} refused) on {len(sent)} live keys")
    click.echo(f"alert queue: {sum(alerts.values())} open alerts from monitoring ("
               + ", ".join(f"{n} {code}" for code, n in sorted(alerts.items())) + ")")
    click.echo("demo logins (password, then the TOTP code from this secret; staff at /staff/login,"
               " merchant at /portal/login):")
    for account in accounts:
        click.echo(f"  {account.role:<9} {account.email:<36} {account.password}  "
                   f"totp secret {account.totp_secret}")


def _since(now) -> str:
    """When the demo's API traffic began, in words: "today", or "since 12:14 UTC yesterday"."""
    from app.demo.traffic import traffic_start
    start = traffic_start(now)
    if start.date() == now.astimezone(start.tzinfo).date():
        return "today"
    return f"since {start:%H:%M} UTC yesterday"


def _plan_api_traffic(app, session, timeline, loaded, now):
    """A live key per approved merchant and the day's verifications through the real path."""
    from app.demo.traffic import DemoTraffic, plan_api_traffic
    traffic = DemoTraffic(app, session)
    # The high-ticket merchants send enough to reach their daily cap (limit_exceeded).
    plan = [((lambda item=item: item.merchant_id), item.spec.domain, item.spec.ticket,
             30 if item.spec.ticket[1] >= 15000 else 10 + 2 * item.spec.sales_per_day,
             item.spec.ticket[1] >= 15000)
            for item in loaded if item.spec.status == "approved"]
    plan_api_traffic(timeline, traffic, plan, now=now, limit_zone=traffic.verifier.zone)
    return traffic


def _tiers(session, loaded) -> dict[str, int]:
    """Demo merchants by tier after their assessments."""
    from app.models import Merchant
    tiers: dict[str, int] = {}
    for item in loaded:
        tier = session.get(Merchant, item.merchant_id).tier or "none"
        tiers[tier] = tiers.get(tier, 0) + 1
    return tiers


def _entries(session) -> int:
    """Sanctions and PEP list entries loaded."""
    from sqlmodel import func, select

    from app.models import ScreeningList
    return session.exec(select(func.sum(ScreeningList.entry_count))).one() or 0


def _alert_counts() -> dict[str, int]:
    """Open alerts by scenario, as the staff queue shows them."""
    import sqlalchemy as sa
    from sqlmodel import Session

    from app.models import Alert
    with Session(engine()) as session:
        rows = session.exec(sa.select(Alert.scenario, sa.func.count()).where(
            Alert.status == "open").group_by(Alert.scenario)).all()
    return {scenario: count for scenario, count in rows}


def commands():
    """Commands this module adds to ``kybgate``."""
    return [demo_command]
