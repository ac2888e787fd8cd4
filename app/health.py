"""Liveness and readiness."""

from __future__ import annotations

import time

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Blueprint, jsonify
from sqlalchemy.exc import SQLAlchemyError

from app.dataplane.shipper import MAX_LAG_SECONDS, process_alive, read_status
from app.extensions import engine, settings
from app.migrate import alembic_config

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """The process is alive."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """The database answers, its schema is at the newest migration and, when the workers
    journal their audit events (``kybgate serve``), the host's audit writer ships them: its
    status is fresh, its lag under ``MAX_LAG_SECONDS`` and no journal stopped."""
    heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
    try:
        with engine().connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
    except SQLAlchemyError as exc:
        return jsonify(status="unavailable", database="unreachable",
                       detail=type(exc).__name__), 503
    if current != heads:
        return jsonify(status="unavailable", database="ok",
                       migrations={"current": sorted(current), "head": sorted(heads)}), 503
    body = {"status": "ok", "database": "ok", "migrations": {"head": sorted(heads)}}
    journals = settings().audit_journal_dir
    if journals:  # verification events wait in the journals for the host's audit writer
        writer = read_status(journals)
        fresh = writer is not None and time.time() - float(writer.get("at", 0)) < 5.0 \
            and process_alive(writer.get("pid"))
        body["audit_writer"] = {
            "status": ("stopped_journals" if fresh and writer.get("stopped") else
                       "lagging" if fresh and writer.get("lag_seconds", 0) > MAX_LAG_SECONDS
                       else "ok" if fresh else "unreachable"),
            "lag_seconds": writer.get("lag_seconds") if writer else None,
            "pending_bytes": writer.get("pending_bytes") if writer else None,
            "stopped": sorted((writer or {}).get("stopped") or {})}
        if body["audit_writer"]["status"] != "ok":
            body["status"] = "unavailable"
            return jsonify(body), 503
    return jsonify(body)

