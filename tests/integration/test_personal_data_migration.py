"""Migration 0018 seals the persons already stored (issue #13): on SQLite and PostgreSQL a
pre-0018 person's name and birth date end up sealed under ``KYB_DATA_KEYS`` and indexed, the
clear columns are gone, an ended merchant gets its relationship end, and the way down opens
them again."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic.script import ScriptDirectory

from app.crypto.data_keys import DataKeys
from app.migrate import alembic_config, upgrade
from app.services.personal_data import name_birth_index, name_index
from tests.conftest import TEST_DATA_KEYS
from tests.integration.test_migrations import empty_url, engine_for  # noqa: F401 - fixtures

WHEN = dt.datetime(2020, 5, 6, 7, 8, 9)
# the revision 0018 follows (the chain is renumbered when branches merge)
BEFORE = ScriptDirectory.from_config(alembic_config()).get_revision(
    "0018_personal_data").down_revision


def test_existing_persons_are_sealed_and_indexed(empty_url, engine_for,  # noqa: F811
                                                 monkeypatch, tmp_path):
    monkeypatch.setenv("KYB_DATA_KEYS", TEST_DATA_KEYS)
    monkeypatch.setenv("KYB_INSTANCE_PATH", str(tmp_path))
    upgrade(empty_url, BEFORE)
    engine = engine_for(empty_url)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO merchant (id, legal_name, country, status, frozen, limits, created_by,"
            " created_at, updated_at) VALUES ('mer_1', 'Eski A.Ş.', 'TR', 'rejected', false,"
            " '{}', 'test', :t, :t)"), {"t": WHEN})
        conn.execute(sa.text(
            "INSERT INTO person (id, full_name, name_key, national_id_hash, national_id_masked,"
            " birth_date, nationality, created_at) VALUES ('per_1', 'Ayşe Yılmaz',"
            " 'ayse yilmaz', :h, '*******0146', :b, 'TR', :t)"),
            {"h": "ab" * 32, "b": dt.date(1984, 5, 2), "t": WHEN})
    engine.dispose()
    upgrade(empty_url)
    keys = DataKeys.parse(TEST_DATA_KEYS)
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT * FROM person")).one()._mapping
        ended = conn.execute(sa.text("SELECT relationship_ended_at FROM merchant")).scalar()
    assert "full_name" not in row and "birth_date" not in row and "name_key" not in row
    assert "Ayşe" not in repr(dict(row))
    assert keys.open(row["full_name_sealed"], table="person", column="full_name_sealed",
                     row_id="per_1") == "Ayşe Yılmaz"
    assert keys.open(row["birth_date_sealed"], table="person", column="birth_date_sealed",
                     row_id="per_1") == "1984-05-02"
    assert row["name_index"] == name_index("Ayşe Yılmaz", keys)
    assert row["name_birth_index"] == name_birth_index("Ayşe Yılmaz", dt.date(1984, 5, 2), keys)
    assert row["national_id_index"] == "ab" * 32  # the legacy hash, healed on resubmission
    assert ended is not None
    engine.dispose()
    upgrade_down(empty_url)
    with engine.connect() as conn:
        back = conn.execute(sa.text("SELECT full_name, name_key FROM person")).one()
    assert tuple(back) == ("Ayşe Yılmaz", "ayse yilmaz")


def upgrade_down(url: str) -> None:
    from alembic import command
    command.downgrade(alembic_config(url), BEFORE)
