"""Where the feature packages (web helpers, staff console, the data plane's runtime, monitoring,
portal, metrics) hook into the app factory: each is imported here by name, so a reader and a
tool can follow what ``create_app`` registers.

A feature module may define ``init_app(app)`` and/or ``blueprints()`` returning
``(blueprint, csrf_exempt)`` pairs to register.
"""

from __future__ import annotations

from types import ModuleType

from flask import Flask

from app import metrics, portal, staff, web
from app.dataplane import runtime
from app.services import monitoring

FEATURES: tuple[ModuleType, ...] = (web, staff, runtime, monitoring, portal, metrics)


def init_app(app: Flask) -> None:
    """Let each feature initialise itself."""
    for module in FEATURES:
        if hasattr(module, "init_app"):
            module.init_app(app)


def register_blueprints(app: Flask) -> None:
    """Register each feature's blueprints."""
    from app.extensions import csrf
    for module in FEATURES:
        for blueprint, csrf_exempt in getattr(module, "blueprints", lambda: [])():
            if csrf_exempt:
                csrf.exempt(blueprint)
            app.register_blueprint(blueprint)
