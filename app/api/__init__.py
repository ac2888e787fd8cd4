"""The JSON API (v1). Importing the view modules registers their operations on ``bp``."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def load_views() -> None:
    """Import every view module so that its operations are registered (once)."""
    from app.api import (  # noqa: F401
        alerts,
        assessments,
        audit,
        blacklist,
        cases,
        decisions,
        keys,
        merchants,
        meta,
        monitoring,
        screening_decisions,
        str_report,
        transactions,
        verify,
        webhooks,
    )
