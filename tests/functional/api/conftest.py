"""Helpers for the JSON API tests: counting what is stored, and submitting applications."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa
from flask import Flask

from tests.factories import application


def table_count(app: Flask, table: str, where: str = "1=1") -> int:
    """Rows in ``table``, read on a short-lived connection (never holding a SQLite lock)."""
    with app.extensions["kyb.engine"].connect() as conn:
        return conn.execute(sa.text(f"SELECT count(*) FROM {table} WHERE {where}")  # noqa: S608
                            ).scalar_one()


# Opening owners' names for an API answer is audited too (R-D7); these counts are of changes.
NOT_DISCLOSURE = "action NOT LIKE 'personal_data.%'"


@pytest.fixture
def stored(app) -> Callable[[], tuple[int, int]]:
    """``stored()`` → (merchants, audit events) currently in the database."""
    return lambda: (table_count(app, "merchant"), table_count(app, "audit_event", NOT_DISCLOSURE))


@pytest.fixture
def create_merchant(api) -> Callable[..., dict]:
    """Submit a valid application (with ``overrides``) and return the created merchant."""
    def submit(**overrides) -> dict:
        resp = api.post("/api/v1/merchants", json=application(**overrides))
        assert resp.status_code == 201, resp.get_json()
        return resp.get_json()
    return submit
