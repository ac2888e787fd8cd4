"""Extensions created unbound and initialised in ``create_app`` (the Flask tutorial pattern),
plus the per-app database engine and per-request session."""

from __future__ import annotations

from flask import Flask, current_app, g
from flask_login import LoginManager
from flask_wtf import CSRFProtect
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.config import Settings
from app.db import make_engine

login_manager = LoginManager()
csrf = CSRFProtect()


def init_db(app: Flask, settings: Settings) -> None:
    """Create the app's engine."""
    app.extensions["kyb.engine"] = make_engine(settings.database_url)


def engine() -> Engine:
    """The current app's engine."""
    return current_app.extensions["kyb.engine"]


def settings() -> Settings:
    """The current app's settings."""
    return current_app.extensions["kyb.settings"]


def db_session() -> Session:
    """The request's session, opened on first use; the request commits once or rolls back."""
    session = g.get("_kyb_session")
    if session is None:
        session = Session(engine(), expire_on_commit=False)
        g._kyb_session = session
    return session


def close_session(exc: BaseException | None = None) -> None:
    """Roll back anything uncommitted and close the request's session."""
    session = g.pop("_kyb_session", None)
    if session is not None:
        if exc is not None or session.in_transaction():
            session.rollback()
        session.close()
