"""Where feature packages (staff console, portal, keys, assessments, monitoring) hook into the
app factory, so each can be added without editing ``create_app``.

A feature module lists itself in ``FEATURES``; each may define ``init_app(app)`` and/or
``blueprints()`` returning blueprints to register.
"""

from __future__ import annotations

import importlib

from flask import Flask

FEATURES: tuple[str, ...] = ("app.web", "app.staff", "app.keys_feature",
                             "app.services.monitoring", "app.portal")


def _modules():
    for name in FEATURES:
        yield importlib.import_module(name)


def init_app(app: Flask) -> None:
    """Let each feature initialise itself."""
    for module in _modules():
        if hasattr(module, "init_app"):
            module.init_app(app)


def register_blueprints(app: Flask) -> None:
    """Register each feature's blueprints."""
    from app.extensions import csrf
    for module in _modules():
        for blueprint, csrf_exempt in getattr(module, "blueprints", lambda: [])():
            if csrf_exempt:
                csrf.exempt(blueprint)
            app.register_blueprint(blueprint)
