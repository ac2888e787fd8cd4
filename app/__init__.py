"""kybgate: KYB merchant onboarding and API-security control plane.

``create_app`` is the only way to build the Flask application; nothing happens at import time.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from flask import Flask, g, request

from app.config import Settings

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
    _init_extensions(app, settings)
    _register_blueprints(app)
    _register_request_hooks(app)
    from app.errors import register_error_handlers
    register_error_handlers(app)
    from app.cli import register_cli
    register_cli(app)
    logging.getLogger("kybgate").setLevel(logging.INFO)
    return app


def _init_extensions(app: Flask, settings: Settings) -> None:
    from app.extensions import close_session, csrf, init_db, login_manager
    from app.oauth.server import init_oauth
    init_db(app, settings)
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


def _register_request_hooks(app: Flask) -> None:
    @app.before_request
    def _request_id() -> None:
        incoming = request.headers.get("X-Request-Id", "")
        ok = 8 <= len(incoming) <= 64 and incoming.replace("-", "").isalnum()
        g.request_id = incoming if ok else secrets.token_hex(12)

    @app.after_request
    def _headers(response):
        response.headers.setdefault("X-Request-Id", g.get("request_id", ""))
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if request.path.startswith(("/staff", "/portal")):
            response.headers.setdefault("Cache-Control", "no-store")
        return response
