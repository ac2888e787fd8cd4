"""Keyset paging over tables with time-ordered or random string ids (alerts, cases): a page is
the rows after the cursor's id, in id order; the cursor is opaque and names its table's id
prefix, so a cursor of one list is refused (422) by another."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm.attributes import InstrumentedAttribute

from app.api.schemas import unwrap_cursor, wrap_cursor
from app.errors import validation_problem
from app.extensions import db_session


def _after(cursor: str, prefix: str) -> str:
    try:
        position = unwrap_cursor(cursor)
    except ValueError:
        position = ""
    if not position.startswith(prefix):
        raise validation_problem([{"field": "cursor", "code": "invalid",
                                   "message": "not a cursor issued by this API"}])
    return position


def id_page(stmt: Any, id_column: InstrumentedAttribute, *, cursor: str | None, limit: int,
            prefix: str) -> tuple[list[Any], str | None]:
    """(the rows of ``stmt`` after ``cursor``, at most ``limit``, in id order; the cursor of
    the next page or None on the last one)."""
    if cursor:
        stmt = stmt.where(id_column > _after(cursor, prefix))
    rows = db_session().exec(stmt.order_by(id_column).limit(limit + 1)).all()
    page = list(rows[:limit])
    return page, wrap_cursor(page[-1].id) if len(rows) > limit else None
