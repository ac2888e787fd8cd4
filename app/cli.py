"""The ``kybgate`` command line: a Flask CLI group. Every command has ``--help``; commands a
script would read take ``--json``. Feature modules add their own groups through
``register_cli``'s ``COMMAND_MODULES``."""

from __future__ import annotations

import getpass
import importlib
import json
import os
import secrets
import shutil
import sys

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from app.audit.trail import Actor, export_events, record, verify_trail
from app.db import session_scope, utcnow
from app.extensions import engine, settings

COMMAND_MODULES: tuple[str, ...] = ("app.demo.commands", "app.staff.commands", "app.commands.risk",
                                     "app.commands.keys", "app.commands.monitoring",
                                     "app.commands.jobs", "app.commands.casework",
                                     "app.commands.str_report", "app.commands.webhooks",
                                     "app.commands.figures", "app.commands.scrub",
                                     "app.commands.screening", "app.commands.data_keys",
                                     "app.commands.retention")


def cli_actor() -> Actor:
    """The operator running this command, as an audit actor."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return Actor(name=f"cli:{user}", request_id="cli-" + secrets.token_hex(6))


def emit(data: object, as_json: bool, text: str) -> None:
    """Print ``data`` as JSON or ``text`` for people."""
    click.echo(json.dumps(data, ensure_ascii=False, default=str) if as_json else text)


@click.group("db")
def db_group() -> None:
    """Database schema (Alembic migrations)."""


@db_group.command("upgrade")
@click.option("--revision", default="heads", show_default=True, help="Target revision.")
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Apply the migrations to KYB_DATABASE_URL (default: SQLite under instance/)."""
    from app.migrate import upgrade
    url = settings().database_url
    upgrade(url, revision)
    click.echo(f"database at {revision}: {engine().url.render_as_string(hide_password=True)}")


@click.group("clients")
def clients_group() -> None:
    """OAuth 2.0 clients of back-office integrations."""


@clients_group.command("create")
@click.option("--name", required=True, help="A name people recognise, e.g. 'CRM'.")
@click.option("--scopes", required=True,
              help="Space-separated scopes, e.g. 'merchants:read merchants:write'.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@with_appcontext
def clients_create(name: str, scopes: str, as_json: bool) -> None:
    """Create a client; its secret is printed once and stored only as a hash."""
    from app.models import OAuthClient
    from app.oauth.models import KNOWN_SCOPES, digest
    wanted = scopes.split()
    unknown = [s for s in wanted if s not in KNOWN_SCOPES]
    if not wanted or unknown:
        raise click.BadParameter(f"unknown scope(s): {' '.join(unknown) or '(none given)'}; "
                                 f"known: {' '.join(KNOWN_SCOPES)}", param_hint="--scopes")
    client_id, secret = "kybc_" + secrets.token_hex(10), secrets.token_urlsafe(32)
    with session_scope(engine()) as session:
        row = OAuthClient(client_id=client_id, client_secret_hash=digest(secret), name=name,
                          scopes=" ".join(dict.fromkeys(wanted)))
        session.add(row)
        record(session, cli_actor().event("oauth.client.created", target_type="oauth_client",
                                          target_id=client_id,
                                          details={"name": name, "scopes": row.scopes}))
    emit({"client_id": client_id, "client_secret": secret, "scopes": row.scopes}, as_json,
         f"client_id:     {client_id}\nclient_secret: {secret}\n(shown once; store it now)")


@click.group("audit")
def audit_group() -> None:
    """The tamper-evident audit trail."""


@audit_group.command("verify")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.option("--anchors", "anchors_file", type=click.Path(dir_okay=False),
              help="Anchor file to check the trail against (default: KYB_AUDIT_ANCHOR_FILE, "
                   "else <instance folder>/audit-anchors.jsonl).")
@click.option("--no-anchors", is_flag=True,
              help="Check the hash chain only. Without anchors a trail cut short or rewritten "
                   "from its start cannot be told from a whole one: the answer says so.")
@with_appcontext
def audit_verify(as_json: bool, anchors_file: str | None, no_anchors: bool) -> None:
    """Recompute the hash chain and check it against its anchors; exit 1 naming the first bad
    event if anything was edited, deleted, inserted or reordered, if anchored events are gone
    (the trail was cut short) or changed, or if the anchor file holds no anchor of this trail
    (missing or emptied)."""
    from app.audit.anchor import (
        AnchorFileError,
        AnchorReport,
        anchor_key,
        default_anchor_file,
        verify_anchors,
    )
    with session_scope(engine()) as session:
        report = verify_trail(session)
    path = anchors_file or default_anchor_file(settings())
    if anchors_file and not os.path.exists(anchors_file):
        raise click.ClickException(f"no anchor file at {anchors_file}")
    try:
        anchors = (AnchorReport(True, 0) if no_anchors else
                   verify_anchors(engine(), path, anchor_key(settings().secret_key)))
    except AnchorFileError as exc:
        raise click.ClickException(str(exc)) from exc
    data = {**report.to_dict(), "anchors_checked": anchors.checked,
            "anchors_problem": anchors.problem, "anchors_skipped": no_anchors,
            "anchors_of_other_chains": anchors.other_chains}
    if report.ok and anchors.ok:
        held = ("ANCHORS NOT CHECKED (--no-anchors): a trail cut short would pass"
                if no_anchors else f"{anchors.checked} anchors hold")
        emit(data, as_json, f"audit trail intact: {report.checked} events, head seq "
                            f"{report.head_seq} hash {report.head_hash}; {held}")
        return
    if not report.ok:
        emit(data, as_json,
             f"AUDIT TRAIL BROKEN at seq {report.first_bad_seq} (event {report.first_bad_id}): "
             f"{report.problem}. {report.checked} events before it verified.")
    else:
        emit(data, as_json, f"AUDIT TRAIL BROKEN: {anchors.problem}. "
                            f"{anchors.checked} anchors before it hold.")
    sys.exit(1)


@audit_group.command("anchor")
@click.option("--file", "anchors_file", type=click.Path(dir_okay=False),
              help="Anchor file to append to (default: KYB_AUDIT_ANCHOR_FILE, else "
                   "<instance folder>/audit-anchors.jsonl).")
@with_appcontext
def audit_anchor(anchors_file: str | None) -> None:
    """Record the trail's head (seq and hash, signed) outside the database now, so that
    cutting events off the end of the trail is caught by `kybgate audit verify`. The audit
    writer does this every KYB_AUDIT_ANCHOR_SECONDS by itself."""
    import datetime as dt

    from app.audit.anchor import anchor_key, default_anchor_file, write_anchor
    path = anchors_file or default_anchor_file(settings())
    anchor = write_anchor(engine(), path, anchor_key(settings().secret_key),
                          dt.datetime.now(dt.UTC))
    if anchor is None:
        click.echo("the audit trail is empty: nothing to anchor")
        return
    click.echo(f"anchored seq {anchor.seq} hash {anchor.hash} in {path}")


@audit_group.command("export")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl",
              show_default=True, help="Output format.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True),
              help="File to write (default: standard output).")
@with_appcontext
def audit_export(fmt: str, output: str | None) -> None:
    """Export every audit event in sequence order."""
    with session_scope(engine()) as session:
        if output:
            with open(output, "w", encoding="utf-8", newline="") as fh:
                count = export_events(session, fmt, fh)
            click.echo(f"exported {count} events to {output}", err=True)
        else:
            count = export_events(session, fmt, sys.stdout)
            click.echo(f"exported {count} events", err=True)


@audit_group.command("writer")
@click.option("--journal-dir", type=click.Path(file_okay=False),
              help="Folder of the workers' journals (default: KYB_AUDIT_JOURNAL_DIR, else "
                   "<instance folder>/journal/<digest of KYB_DATABASE_URL>).")
@click.option("--exit-with-parent", is_flag=True,
              help="Stop when the process that started this one is gone (what `kybgate "
                   "serve` uses, so that a killed server leaves no writer behind).")
@with_appcontext
def audit_writer(journal_dir: str | None, exit_with_parent: bool) -> None:
    """Run the host's audit writer: ship every worker's journal of verification events into
    the hash-chained audit trail, in large batches, and run the monitors on what it stored.
    `kybgate serve` starts and restarts it by itself; run it by hand only under another
    process manager, with KYB_AUDIT_JOURNAL_DIR set for the workers as well. On SIGTERM or
    Ctrl-C it ships what the journals hold and exits; what is left ships on its restart."""
    import logging
    import signal

    from app.audit.anchor import Anchorer, anchor_key, default_anchor_file
    from app.audit.batcher import WalCheckpointer, sqlite_writer_engine
    from app.dataplane.runtime import writer_shipper
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    path = journal_dir or default_journal_dir(settings())
    db = engine()
    writer, checkpointer, anchorer = db, None, None
    if settings().audit_anchor_seconds > 0:
        anchorer = Anchorer(db, default_anchor_file(settings()),
                            anchor_key(settings().secret_key),
                            settings().audit_anchor_seconds).start()
    if db.dialect.name == "sqlite":
        url = db.url.render_as_string(hide_password=False)
        writer = sqlite_writer_engine(url, autocheckpoint=False)
        checkpointer = WalCheckpointer(url).start()
    shipper, observers = writer_shipper(
        current_app._get_current_object(), writer, path)  # type: ignore[attr-defined]
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: shipper.stop())
    try:
        shipper.serve_forever(parent_pid=os.getppid() if exit_with_parent else None,
                              ready=lambda: click.echo(f"audit writer shipping {path}"))
    except OSError as exc:
        raise click.ClickException(f"audit writer not started: {exc}") from exc
    finally:
        observers.monitor.drain(5.0)
        observers.figures.drain(5.0)
        observers.blacklist_alerts.drain(5.0)
        if checkpointer is not None:
            checkpointer.stop()
        if anchorer is not None:
            anchorer.stop()  # a last anchor of what this writer committed
        if writer is not db:
            writer.dispose()
    click.echo(f"audit writer stopped: {shipper.events} events in {shipper.batches} batches")


def default_journal_dir(config) -> str:
    """``KYB_AUDIT_JOURNAL_DIR``, else a folder of the instance named after the database."""
    from app.dataplane.journal import journal_dir
    return journal_dir(config.instance_path, config.database_url, config.audit_journal_dir)


@click.command("serve")
@click.option("--bind", default="127.0.0.1:8000", show_default=True, help="host:port")
@click.option("--workers", default=2, show_default=True, help="gunicorn worker processes")
@click.option("--threads", default=8, show_default=True, help="threads per worker")
@click.option("--worker-connections", default=1000, show_default=True,
              help="Open connections one worker holds at most; others wait for another "
                   "worker. Behind a gateway with few long-lived keep-alive connections, set "
                   "it to --threads: the connections spread over every worker, and each keeps its "
                   "thread between requests (an idle one gives way to a waiting client).")
@click.option("--upgrade/--no-upgrade", default=True, show_default=True,
              help="Apply database migrations first.")
@click.option("--audit-writer/--no-audit-writer", default=True, show_default=True,
              help="Workers journal each verification event and answer at once; one audit "
                   "writer process ships the journals into the audit trail (started, watched "
                   "and restarted by gunicorn's master). Without it each worker commits its "
                   "own events before answering (slower; for single-process use).")
@click.option("--worker/--no-worker", "job_worker", default=True, show_default=True,
              help="Also run one `kybgate worker` for background jobs (started, watched and "
                   "restarted by gunicorn's master). Use --no-worker when workers run "
                   "elsewhere.")
def serve(bind: str, workers: int, threads: int, worker_connections: int, upgrade: bool,
          audit_writer: bool, job_worker: bool) -> None:
    """Run kybgate under gunicorn (KYB_* environment variables configure it)."""
    from app.config import Settings
    config = Settings.from_env()
    if upgrade:
        from app.migrate import upgrade as do_upgrade
        do_upgrade(config.database_url)
    if audit_writer:
        path = default_journal_dir(config)
        os.makedirs(path, mode=0o700, exist_ok=True)
        os.environ["KYB_AUDIT_JOURNAL_DIR"] = path  # the workers' and the writer's setting
        os.environ["KYB_RUN_AUDIT_WRITER"] = "1"  # read by app.gunicorn_conf in the master
    else:
        os.environ.pop("KYB_RUN_AUDIT_WRITER", None)
    if job_worker:
        os.environ["KYB_RUN_JOB_WORKER"] = "1"  # read by app.gunicorn_conf in the master
    else:
        os.environ.pop("KYB_RUN_JOB_WORKER", None)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir(config)
    gunicorn = shutil.which("gunicorn") or os.path.join(os.path.dirname(sys.executable),
                                                        "gunicorn")
    args = [gunicorn, "--bind", bind, "--workers", str(workers), "--threads", str(threads),
            "--worker-class", "app.gunicorn_worker.KeepAliveThreadWorker",
            "--worker-connections", str(worker_connections),
            "--access-logfile", "-", "--graceful-timeout", "10",
            "--config", "python:app.gunicorn_conf"]
    from gunicorn.config import KNOWN_SETTINGS
    if any(known.name == "control_socket_disable" for known in KNOWN_SETTINGS):
        # gunicorn >= 24 opens a runtime control socket at one path per user: not used here,
        # and two instances on a host would fight over it.
        args.append("--no-control-socket")
    args.append("wsgi:app")
    click.echo(f"kybgate serving on http://{bind} ({workers} workers x {threads} threads)")
    os.chdir(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    os.execv(args[0], args)  # noqa: S606 - replace this process with gunicorn


def metrics_dir(config) -> str:
    """An empty ``PROMETHEUS_MULTIPROC_DIR`` for the workers' metrics (R-D8): the one set in
    the environment, else ``prometheus`` in the instance folder. Files of a previous run are
    removed, or their counts would be added to this run's."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.path.join(config.instance_path,
                                                                       "prometheus")
    os.makedirs(path, exist_ok=True)
    for name in os.listdir(path):
        if name.endswith(".db"):
            os.remove(os.path.join(path, name))
    return path


def register_cli(app: Flask) -> None:
    """Attach every command group to ``app.cli``."""
    for command in (db_group, clients_group, audit_group):
        app.cli.add_command(command)
    for name in COMMAND_MODULES:
        module = importlib.import_module(name)
        for command in module.commands():
            app.cli.add_command(command)


def main() -> None:
    """Entry point of the ``kybgate`` console script."""
    from app import create_app

    group = FlaskGroup(create_app=lambda: create_app(), add_default_commands=False,
                       help="kybgate: KYB onboarding and API-security control plane.")
    group.add_command(serve)
    try:
        group.main(prog_name="kybgate")
    except sa.exc.OperationalError as exc:
        # No stack trace for a database that is missing, unreachable or not migrated.
        reason = str(exc.orig).splitlines()[0] if exc.orig else exc.__class__.__name__
        missing_table = "no such table" in reason or (
            "relation" in reason and "does not exist" in reason)
        hint = " — run `kybgate db upgrade` first" if missing_table else ""
        click.echo(f"Error: the database refused the command: {reason}{hint}", err=True)
        sys.exit(1)


__all__ = ["cli_actor", "emit", "main", "register_cli", "utcnow", "current_app"]
