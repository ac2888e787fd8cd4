"""``kybgate keys …``: list, create, revoke, freeze, unfreeze and approve wide ranges from the
command line. Each change goes through ``app.services.keys`` (audited as the operator, the
merchant notified, caches invalidated on every worker after the commit)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from app.api.keys import key_out
from app.cli import cli_actor, emit
from app.dataplane.runtime import runtime
from app.db import session_scope, utcnow
from app.extensions import engine, settings
from app.models import ApiKey, Merchant
from app.services import keys as key_service


@click.group("keys")
def keys_group() -> None:
    """Merchant API keys (tokens bound to IP whitelists and back URLs)."""


def _merchant(session, merchant_id: str) -> Merchant:
    merchant = session.get(Merchant, merchant_id)
    if merchant is None:
        raise click.ClickException(f"no merchant {merchant_id}")
    return merchant


def _key(session, key_id: str) -> ApiKey:
    key = session.get(ApiKey, key_id)
    if key is None:
        raise click.ClickException(f"no API key {key_id}")
    return key


def _guard(fn, **kwargs):
    try:
        return fn(**kwargs)
    except (key_service.KeyRefused, key_service.KeyInputInvalid) as exc:
        raise click.ClickException(str(exc)) from exc


@keys_group.command("list")
@click.argument("merchant_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@with_appcontext
def list_command(merchant_id: str, as_json: bool) -> None:
    """List a merchant's keys with their state (never a token)."""
    now = utcnow()
    with session_scope(engine()) as session:
        merchant = _merchant(session, merchant_id)
        rows = [key_out(k, merchant, now) for k in key_service.list_keys(session,
                                                                          merchant=merchant)]
    text = "\n".join(f"{r['key_id']}  {r['prefix']}  {r['environment']:4}  {r['state']:18}  "
                     f"{r['name']}" for r in rows) or "(no keys)"
    emit(rows, as_json, text)


@keys_group.command("create")
@click.argument("merchant_id")
@click.option("--name", required=True, help="A name the merchant recognises.")
@click.option("--environment", type=click.Choice(["live", "test"]), default="live",
              show_default=True)
@click.option("--ip", "ips", multiple=True, required=True,
              help="Whitelisted address or CIDR (repeat).")
@click.option("--back-url", "back_urls", multiple=True, required=True,
              help="Allowed site origin, e.g. https://shop.example (repeat).")
@click.option("--approver", help="Staff approver e-mail signing off ranges wider than /24, /48.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@with_appcontext
def create_command(merchant_id: str, name: str, environment: str, ips: tuple[str, ...],
                   back_urls: tuple[str, ...], approver: str | None, as_json: bool) -> None:
    """Issue a key; its token is printed once and stored only as a peppered HMAC."""
    now = utcnow()
    with session_scope(engine()) as session:
        merchant = _merchant(session, merchant_id)
        issued = _guard(key_service.issue_key, session=session, merchant=merchant, name=name,
                        environment=environment, ip_whitelist=list(ips),
                        back_urls=list(back_urls), actor=cli_actor(), now=now,
                        peppers=runtime().verifier.peppers,
                        activation_delay=settings().key_activation_delay, approver=approver)
        data = key_out(issued.key, merchant, now) | {"token": issued.token}
    emit(data, as_json, f"key_id: {data['key_id']}\ntoken:  {issued.token}\n"
                        f"works from {data['activates_at']} (shown once; store it now)")


@keys_group.command("revoke")
@click.argument("key_id")
@click.option("--reason", default="revoked by operator", show_default=True)
@with_appcontext
def revoke_command(key_id: str, reason: str) -> None:
    """Revoke a key at once, on every worker."""
    with session_scope(engine()) as session:
        changed = key_service.revoke_key(session, key=_key(session, key_id), actor=cli_actor(),
                                         now=utcnow(), reason=reason)
    click.echo(f"{key_id}: {'revoked' if changed else 'was already revoked'}")


def _switch(merchant_id: str, reason: str, frozen: bool) -> None:
    fn = key_service.freeze_merchant_keys if frozen else key_service.unfreeze_merchant_keys
    with session_scope(engine()) as session:
        changed = fn(session, merchant=_merchant(session, merchant_id), actor=cli_actor(),
                     now=utcnow(), reason=reason)
    state = "frozen" if frozen else "unfrozen"
    click.echo(f"{merchant_id}: keys {state}" if changed else f"{merchant_id}: already {state}")


@keys_group.command("freeze")
@click.argument("merchant_id")
@click.option("--reason", default="kill switch (operator)", show_default=True)
@with_appcontext
def freeze_command(merchant_id: str, reason: str) -> None:
    """Kill switch: every key of the merchant answers key_frozen at once."""
    _switch(merchant_id, reason, True)


@keys_group.command("unfreeze")
@click.argument("merchant_id")
@click.option("--reason", default="unfrozen by operator", show_default=True)
@with_appcontext
def unfreeze_command(merchant_id: str, reason: str) -> None:
    """Lift the kill switch (revoked and expired keys stay dead)."""
    _switch(merchant_id, reason, False)


@keys_group.command("approve-wide-ranges")
@click.argument("key_id")
@click.option("--approver", required=True, help="E-mail of the staff approver signing off.")
@with_appcontext
def approve_command(key_id: str, approver: str) -> None:
    """Sign off a key's ranges broader than /24 (IPv4) or /48 (IPv6); audited."""
    with session_scope(engine()) as session:
        ranges = _guard(key_service.approve_wide_ranges, session=session,
                        key=_key(session, key_id), approver=approver, actor=cli_actor(),
                        now=utcnow())
    click.echo(f"{key_id}: approved {', '.join(ranges)}")


def commands() -> list[click.Command]:
    """Commands this module adds to ``kybgate``."""
    return [keys_group]
