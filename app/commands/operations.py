"""``kybgate lists``, ``rdap``, ``blacklist`` and ``notifications``: operating the data the
risk checks rely on."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click
from flask.cli import with_appcontext

from app.cli import cli_actor, emit
from app.db import session_scope, utcnow
from app.extensions import engine, settings
from app.services import blacklist as blacklist_service
from app.services.delivery import deliver_pending, mailer_from_url
from app.services.facts import LookupSources
from app.services.screening import active_lists, import_list
from checks.screening import ListFormatError


@click.group("lists")
def lists_group() -> None:
    """Sanctions and PEP lists used to screen merchants and their owners."""


@lists_group.command("import")
@click.option("--kind", type=click.Choice(["sanctions", "pep"]), required=True,
              help="What the list is: sanctions (OFAC, UN, EU...) or politically exposed persons.")
@click.option("--name", help="List name (default from the format: 'OFAC SDN', "
                             "'UN Consolidated', 'OpenSanctions').")
@click.option("--no-rescreen", is_flag=True, help="Do not re-screen merchants afterwards.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def lists_import(kind: str, name: str | None, no_rescreen: bool, as_json: bool,
                 files: tuple[str, ...]) -> None:
    """Import a list version from FILES and re-screen every assessed merchant.

    \b
    Formats (detected from the files):
      OFAC:  sdn.csv add.csv alt.csv [sdn_comments.csv]   (the CSV files of one publication)
      UN:    consolidated.xml
      FtM:   entities.ftm.json (OpenSanctions, one JSON entity per line)
    \b
    Example:
      kybgate lists import --kind sanctions sdn.csv add.csv alt.csv

    The new version replaces the active one of the same name in one transaction; importing the
    same files again changes nothing.
    """
    with click.progressbar(length=1, label="storing entries", file=sys.stderr) as bar:
        def progress(done: int, total: int) -> None:
            bar.length = total
            bar.update(done - bar.pos)
        try:
            with session_scope(engine()) as session:
                summary = import_list(session, paths=[Path(f) for f in files], kind=kind,
                                      name=name, actor=cli_actor(), now=utcnow(),
                                      progress=progress)
        except (ListFormatError, ValueError) as exc:
            raise click.ClickException(str(exc)) from exc
    data = {**summary.__dict__, "warnings": list(summary.warnings), "rescreened": None}
    if not summary.unchanged and not no_rescreen:
        data["rescreened"] = _rescreen(as_json)
    emit(data, as_json, _import_text(data))


def _import_text(data: dict) -> str:
    if data["unchanged"]:
        return f"{data['name']} {data['version']} is already the active version: nothing to do."
    counts = ", ".join(f"{k} {v}" for k, v in sorted(data["counts"].items()))
    lines = [f"imported {data['name']} ({data['kind']}, {data['format']}) version "
             f"{data['version']}: {data['entries']} entries ({counts})"]
    if data["replaced"]:
        lines.append(f"replaced {len(data['replaced'])} older version(s)")
    lines += [f"warning: {w}" for w in data["warnings"][:20]]
    if data["rescreened"] is not None:
        lines.append(f"re-screened {data['rescreened']['merchants']} merchants; sanctions_pep "
                     f"now: {data['rescreened']['by_status']}")
    return "\n".join(lines)


def _rescreen(as_json: bool) -> dict:
    """Re-assess every assessed merchant with fresh screening (other lookups re-used)."""
    from app.commands.risk import assess_one, merchant_ids
    with session_scope(engine()) as session:
        ids = list(merchant_ids(session, assessed_only=True))
    sources = LookupSources.from_settings(settings())
    statuses: dict[str, int] = {}
    with click.progressbar(ids, label="re-screening", file=sys.stderr) as bar:
        for merchant_id in bar:
            result = assess_one(merchant_id, trigger="lists.changed", sources=sources,
                                refresh_checks=("sanctions_pep",))
            status = next((c["status"] for c in result["checks"]
                           if c["code"] == "sanctions_pep"), "absent")
            statuses[status] = statuses.get(status, 0) + 1
    return {"merchants": len(ids), "by_status": statuses}


@lists_group.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@with_appcontext
def lists_show(as_json: bool) -> None:
    """Show the active list versions that screening uses."""
    with session_scope(engine()) as session:
        rows = [{"id": r.id, "name": r.name, "kind": r.kind, "format": r.format,
                 "version": r.version, "entries": r.entry_count, "imported_by": r.imported_by,
                 "imported_at": r.imported_at.isoformat()} for r in active_lists(session)]
    text = "\n".join(f"{r['name']:<24} {r['kind']:<9} {r['entries']:>7} entries  version "
                     f"{r['version']}  (imported {r['imported_at']} by {r['imported_by']})"
                     for r in rows) or "no list loaded: sanctions_pep answers unknown"
    emit(rows, as_json, text)


@click.group("rdap")
def rdap_group() -> None:
    """The IANA RDAP bootstrap that tells which server knows each top-level domain."""


@rdap_group.command("refresh")
@click.option("--url", default="https://data.iana.org/rdap/dns.json", show_default=True,
              help="Where to download the bootstrap from.")
@click.option("--output", type=click.Path(dir_okay=False),
              help="File to write (default: KYB_RDAP_BOOTSTRAP if it is a file, else the "
                   "vendored checks/sources/data/rdap_dns.json).")
@with_appcontext
def rdap_refresh(url: str, output: str | None) -> None:
    """Download and validate the RDAP bootstrap, then replace the file atomically."""
    from checks.sources.rdap import VENDORED_BOOTSTRAP, refresh_bootstrap
    configured = settings().rdap_bootstrap
    dest = output or (configured if configured and "://" not in configured
                      else str(VENDORED_BOOTSTRAP))
    try:
        boot = refresh_bootstrap(dest, url)
    except Exception as exc:  # noqa: BLE001 - BootstrapError or httpx errors, all reported
        raise click.ClickException(f"bootstrap not refreshed: {exc}") from exc
    click.echo(f"RDAP bootstrap {boot.publication}: {len(boot.services)} TLDs -> {dest}")


@click.group("blacklist")
def blacklist_group() -> None:
    """Values known to be used for fraud: IBAN, e-mail, phone, domain, IP, national id, device."""


@blacklist_group.command("add")
@click.argument("kind", type=click.Choice(blacklist_service.KINDS))
@click.argument("value")
@click.option("--reason", required=True, help="Why (kept in the audit trail).")
@with_appcontext
def blacklist_add(kind: str, value: str, reason: str) -> None:
    """Blacklist VALUE of KIND, e.g. ``kybgate blacklist add iban TR33... --reason "fraud"``."""
    from app.api.context import keyring
    try:
        with session_scope(engine()) as session:
            entry, created = blacklist_service.add_entry(
                session, kind=kind, value=value, reason=reason, actor=cli_actor(),
                keyring=keyring(), now=utcnow())
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="VALUE") from exc
    click.echo(f"{'added' if created else 'already listed'}: {entry.id} {kind} {entry.value}")


@blacklist_group.command("remove")
@click.argument("entry_id")
@click.option("--reason", required=True, help="Why it is unblocked (kept in the audit trail).")
@with_appcontext
def blacklist_remove(entry_id: str, reason: str) -> None:
    """Unblock the entry ENTRY_ID (see ``kybgate blacklist list``)."""
    try:
        with session_scope(engine()) as session:
            entry = blacklist_service.remove_entry(session, entry_id=entry_id, reason=reason,
                                                   actor=cli_actor(), now=utcnow())
    except blacklist_service.BlacklistEntryNotFound as exc:
        raise click.ClickException(f"no active blacklist entry {entry_id}") from exc
    click.echo(f"removed: {entry.id} {entry.kind} {entry.value}")


@blacklist_group.command("list")
@click.option("--kind", type=click.Choice(blacklist_service.KINDS), help="Only this kind.")
@click.option("--all", "include_removed", is_flag=True, help="Include removed entries.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@with_appcontext
def blacklist_list(kind: str | None, include_removed: bool, as_json: bool) -> None:
    """List blacklist entries, newest first."""
    with session_scope(engine()) as session:
        rows = [{"id": e.id, "kind": e.kind, "value": e.value, "reason": e.reason,
                 "added_by": e.added_by, "added_at": e.added_at.isoformat(),
                 "removed_at": e.removed_at.isoformat() if e.removed_at else None}
                for e in blacklist_service.list_entries(session, kind=kind,
                                                        include_removed=include_removed)]
    emit(rows, as_json, "\n".join(
        f"{r['id']}  {r['kind']:<11} {r['value']:<34} {r['reason']}"
        + (f"  (removed {r['removed_at']})" if r["removed_at"] else "") for r in rows)
        or "the blacklist is empty")


@click.group("notifications")
def notifications_group() -> None:
    """The outbox of e-mails to merchants (change notices, new keys)."""


@notifications_group.command("deliver")
@click.option("--loop", is_flag=True, help="Keep delivering until interrupted.")
@click.option("--interval", default=10.0, show_default=True, help="Seconds between passes.")
@click.option("--limit", default=100, show_default=True, help="Mails per pass.")
@with_appcontext
def notifications_deliver(loop: bool, interval: float, limit: int) -> None:
    """Send due notifications through KYB_SMTP_URL (smtp://host:port); failures are retried
    with exponential backoff."""
    config = settings()
    if not config.smtp_url:
        raise click.ClickException("KYB_SMTP_URL is not set (e.g. smtp://127.0.0.1:25)")
    mailer = mailer_from_url(config.smtp_url, config.mail_from)
    while True:
        with session_scope(engine()) as session:
            report = deliver_pending(session, mailer=mailer, actor=cli_actor(), now=utcnow(),
                                     limit=limit)
        if report.attempted or not loop:
            click.echo(f"sent {report.sent}, failed {report.failed} (will retry), gave up "
                       f"{report.gave_up}")
        if not loop:
            return
        if report.attempted < limit:
            time.sleep(interval)


def commands() -> list[click.Command]:
    """The command groups of this module."""
    return [lists_group, rdap_group, blacklist_group, notifications_group]
