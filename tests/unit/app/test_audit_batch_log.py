"""The in-process audit batcher's log names what the database said when a batch is not stored,
without the statement or its parameters (they hold the event's fields)."""

from __future__ import annotations

import sqlite3

import sqlalchemy as sa

from app.audit.batcher import _reason


def test_the_reason_is_the_drivers_first_line_without_the_statement_or_parameters():
    wrapped = sa.exc.OperationalError("INSERT INTO audit_event (customer_ref) VALUES (?)",
                                      {"customer_ref": "c-secret"},
                                      sqlite3.OperationalError("database is locked"))
    assert "c-secret" in str(wrapped)  # what SQLAlchemy's own text would have put in the log
    assert _reason(wrapped) == "OperationalError: database is locked"


def test_a_plain_exception_is_named_with_its_first_line():
    assert _reason(ValueError("bad amount\nmore")) == "ValueError: bad amount"
    assert _reason(RuntimeError()) == "RuntimeError: "
