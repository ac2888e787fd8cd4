"""Alembic migrations of kybgate's schema (``kybgate db upgrade``)."""
