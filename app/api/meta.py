"""The OpenAPI document, the interactive docs page, and health endpoints."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template

from app.api import bp
from app.api.openapi import build_openapi

docs = Blueprint("docs", __name__)


@bp.get("/openapi.json")
def openapi_document():
    """The OpenAPI 3.1 document of this API (generated, never hand-kept)."""
    doc = current_app.extensions.get("kyb.openapi")
    if doc is None:
        doc = current_app.extensions["kyb.openapi"] = build_openapi(
            current_app.config["KYB_VERSION"])
    return jsonify(doc)


@docs.get("/api/docs")
def api_docs():
    """Swagger UI from vendored local files (no CDN)."""
    return render_template("api/docs.html")
