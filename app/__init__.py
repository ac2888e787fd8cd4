"""kybgate: KYB merchant onboarding and API-security control plane.

``create_app`` is the only way to build the Flask application; nothing happens at import time.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, g, request, send_from_directory

from app.config import Settings
from app.request_ids import request_id_for

__version__ = "0.1.0"


def create_app(overrides: dict[str, Any] | None = None,
               settings: Settings | None = None) -> Flask:
    """Build the application from ``settings`` (default: the environment).

    ``overrides`` are Flask config values (tests use ``{"TESTING": True}``).
    """
    settings = settings or Settings.from_env()
    app = Flask(__name__, template_folder="../templates", static_folder="static",
                instance_path=settings.instance_path)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        KYB_VERSION=__version__,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.env == "production",
        PERMANENT_SESSION_LIFETIME=settings.session_minutes * 60,
        WTF_CSRF_TIME_LIMIT=None,
        JSON_SORT_KEYS=False,
    )
    app.config.update(overrides or {})
    app.extensions["kyb.settings"] = settings
    from app.crypto.data_keys import load_data_keys
    app.extensions["kyb.data_keys"] = load_data_keys(
        settings.data_keys, instance_path=settings.instance_path,
        production=settings.env == "production")
    _init_extensions(app, settings)
    _register_blueprints(app)
    _register_request_hooks(app)
    from app.errors import register_error_handlers
    register_error_handlers(app)
    from app.cli import register_cli
    register_cli(app)
    logging.getLogger("kybgate").setLevel(logging.INFO)
    from app.dataplane.wsgi import mount
    return mount(app)  # verification answered by the data plane in front (issue #14)


def _init_extensions(app: Flask, settings: Settings) -> None:
    from app.extensions import close_session, csrf, init_db, login_manager
    from app.oauth.server import init_oauth
    init_db(app, settings)
    from app.services.personal_data import register_data_keys
    register_data_keys(app.extensions["kyb.engine"], app.extensions["kyb.data_keys"])
    from app.audit.anchor import AnchorSink, anchor_key, default_anchor_file, register_sink
    register_sink(app.extensions["kyb.engine"],
                  AnchorSink(default_anchor_file(settings), anchor_key(settings.secret_key)))
    csrf.init_app(app)
    login_manager.init_app(app)
    init_oauth(app)
    app.teardown_appcontext(close_session)
    from app import plugins
    plugins.init_app(app)


def _register_blueprints(app: Flask) -> None:
    from app import api, health
    from app.api.meta import docs
    from app.extensions import csrf
    from app.oauth.views import bp as oauth_bp
    api.load_views()
    for blueprint in (api.bp, oauth_bp):
        csrf.exempt(blueprint)
        app.register_blueprint(blueprint)
    app.register_blueprint(docs)
    app.register_blueprint(health.bp)
    from app import plugins
    plugins.register_blueprints(app)
    _register_favicon(app)


def _register_favicon(app: Flask) -> None:
    """``/favicon.ico``, which every browser asks for (issue #11): the static icon, cached a
    day, instead of a 404 in every log."""
    @app.get("/favicon.ico")
    def favicon():
        return send_from_directory(app.static_folder, "favicon.ico", max_age=86400,
                                   mimetype="image/vnd.microsoft.icon")


def _register_request_hooks(app: Flask) -> None:
    @app.before_request
    def _request_id() -> None:
        g.request_id = request_id_for(request.headers.get("X-Request-Id", ""))

    @app.after_request
    def _headers(response):
        response.headers.setdefault("X-Request-Id", g.get("request_id", ""))
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if request.path.startswith(("/staff", "/portal")):
            response.headers.setdefault("Cache-Control", "no-store")
        return response
