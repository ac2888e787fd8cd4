"""Liveness and readiness."""

from __future__ import annotations

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Blueprint, jsonify
from sqlalchemy.exc import SQLAlchemyError

from app.audit.writer import writer_reachable
from app.extensions import engine, settings
from app.migrate import alembic_config

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """The process is alive."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """The database answers, its schema is at the newest migration and, when the workers hand
    their audit events to a writer process, that process accepts connections."""
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
    socket_path = settings().audit_socket
    if socket_path:  # verifications need the host's audit writer (``kybgate serve``)
        body["audit_writer"] = "ok" if writer_reachable(socket_path) else "unreachable"
        if body["audit_writer"] != "ok":
            body["status"] = "unavailable"
            return jsonify(body), 503
    return jsonify(body)
