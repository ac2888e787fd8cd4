"""``kybgate demo``: load the demo data set."""

from __future__ import annotations

import click
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
    from app.demo import demo_size, has_merchants, load_demo
    from app.demo_review import create_demo_accounts, import_sample_lists, review_demo
    now = utcnow()
    with session_scope(engine()) as session:
        if has_merchants(session):
            if if_empty:
                click.echo("demo: the database already holds merchants; nothing loaded")
                return
            raise click.ClickException("the database already holds merchants; the demo loads "
                                       "only into an empty database (use --if-empty to skip)")
        with click.progressbar(length=demo_size(), label="applications",
                               show_pos=True) as bar:
            loaded = load_demo(session, keyring=keyring(), now=now,
                               progress=lambda _name: bar.update(1))
        entries = import_sample_lists(session, now)
        with click.progressbar(length=len(loaded), label="assessments ",
                               show_pos=True) as bar:
            tiers = review_demo(session, loaded, settings=settings(), now=now,
                                progress=lambda _name: bar.update(1))
        accounts = create_demo_accounts(session, loaded)
    traffic = _api_traffic(loaded, now)
    by_tier = ", ".join(f"{n} {t}" for t, n in sorted(tiers.items()))
    click.echo(f"demo loaded: {len(loaded)} merchants ({by_tier}), {entries} sanctions entries, "
               f"{sum(t.allowed + t.refused for t in traffic)} API verifications today "
               f"({sum(t.refused for t in traffic)} refused) on {len(traffic)} live keys")
    click.echo("demo logins (password, then the TOTP code from this secret; staff at /staff/login,"
               " merchant at /portal/login):")
    for account in accounts:
        click.echo(f"  {account.role:<9} {account.email:<36} {account.password}  "
                   f"totp secret {account.totp_secret}")


def _api_traffic(loaded, now):
    """A live key per approved merchant and today's verifications through the real path."""
    from flask import current_app
    from sqlmodel import Session

    from app.demo_traffic import demo_api_traffic
    from app.keys_feature import wait_idle
    from app.models import Merchant
    with Session(engine()) as session:
        approved = [item for item in loaded
                    if session.get(Merchant, item.merchant_id).status == "approved"]
    plan = [(item.merchant_id, item.spec.domain, item.spec.ticket,
             30 if item.spec.ticket[1] >= 15000 else 10 + 2 * item.spec.sales_per_day)
            for item in approved]
    with click.progressbar(length=len(plan), label="API traffic ", show_pos=True) as bar:
        traffic = demo_api_traffic(current_app._get_current_object(), lambda: Session(engine()),
                                   plan, now=now, progress=lambda _name: bar.update(1))
    wait_idle(current_app._get_current_object())
    return traffic


def commands():
    """Commands this module adds to ``kybgate``."""
    return [demo_command]
