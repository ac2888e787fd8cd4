"""Migration 0019 seals the merchants' e-mail and phone already stored (issue #13): on SQLite
and PostgreSQL the merchant's columns become sealed ones, its e-mail/phone contact points get a
sealed value, a mask and a blind index (shared-contact linking keeps working), a retention-
erased point stays erased, the e-mail/phone change history is masked, and the way down opens
the merchant and its points again."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import command

from app.crypto.data_keys import DataKeys
from app.migrate import alembic_config, upgrade
from app.services.personal_data import contact_index, mask_contact
from tests.conftest import TEST_DATA_KEYS
from tests.integration.test_migrations import empty_url, engine_for  # noqa: F401 - fixtures

WHEN = dt.datetime(2020, 5, 6, 7, 8, 9)
BEFORE = "0018_personal_data"
EMAIL, PHONE = "finans@eski.com.tr", "+902125550123"


def _seed(conn) -> None:
    conn.execute(sa.text(
        "INSERT INTO merchant (id, legal_name, country, status, frozen, limits, created_by,"
        " created_at, updated_at, email, phone) VALUES ('mer_1', 'Eski A.Ş.', 'TR', 'applied',"
        " false, '{}', 'test', :t, :t, :e, :p)"), {"t": WHEN, "e": EMAIL, "p": PHONE})
    for pid, kind, value, key in (("cpt_e", "email", EMAIL, EMAIL), ("cpt_p", "phone", PHONE,
                                                                      PHONE),
                                  ("cpt_d", "domain", "eski.com.tr", "eski.com.tr"),
                                  ("cpt_x", "email", "[erased]", "erased:cpt_x")):
        conn.execute(sa.text(
            "INSERT INTO contact_point (id, merchant_id, kind, value, value_key, added_at)"
            " VALUES (:i, 'mer_1', :k, :v, :key, :t)"),
            {"i": pid, "k": kind, "v": value, "key": key, "t": WHEN})
    conn.execute(sa.text(
        "INSERT INTO merchant_change (id, merchant_id, field, old_value, new_value, actor, at)"
        " VALUES ('chg_1', 'mer_1', 'email', 'eski@eski.com.tr', :e, 'test', :t)"),
        {"e": EMAIL, "t": WHEN})


def test_existing_contacts_are_sealed_indexed_and_masked(empty_url, engine_for,  # noqa: F811
                                                        monkeypatch, tmp_path):
    monkeypatch.setenv("KYB_DATA_KEYS", TEST_DATA_KEYS)
    monkeypatch.setenv("KYB_INSTANCE_PATH", str(tmp_path))
    upgrade(empty_url, BEFORE)
    engine = engine_for(empty_url)
    with engine.begin() as conn:
        _seed(conn)
    engine.dispose()
    upgrade(empty_url, "0019_sealed_contacts")
    keys = DataKeys.parse(TEST_DATA_KEYS)
    with engine.connect() as conn:
        merchant = conn.execute(sa.text("SELECT * FROM merchant")).one()._mapping
        points = {r.id: r._mapping for r in conn.execute(sa.text(
            "SELECT * FROM contact_point"))}
        change = conn.execute(sa.text("SELECT * FROM merchant_change")).one()._mapping
    assert "email" not in merchant and "phone" not in merchant
    assert keys.open(merchant["email_sealed"], table="merchant", column="email_sealed",
                     row_id="mer_1") == EMAIL
    assert keys.open(merchant["phone_sealed"], table="merchant", column="phone_sealed",
                     row_id="mer_1") == PHONE
    for pid, kind, clear in (("cpt_e", "email", EMAIL), ("cpt_p", "phone", PHONE)):
        point = points[pid]
        assert point["value"] == mask_contact(kind, clear)
        assert point["value_key"] == contact_index(kind, clear, keys)
        assert keys.open(point["value_sealed"], table="contact_point", column="value_sealed",
                         row_id=pid) == clear
    assert (points["cpt_d"]["value"], points["cpt_d"]["value_sealed"]) == ("eski.com.tr", None)
    assert (points["cpt_x"]["value"], points["cpt_x"]["value_key"],
            points["cpt_x"]["value_sealed"]) == ("[erased]", "erased:cpt_x", None)
    assert (change["old_value"], change["new_value"]) == (
        mask_contact("email", "eski@eski.com.tr"), mask_contact("email", EMAIL))
    everything = repr(dict(merchant)) + repr([dict(p) for p in points.values()]) + repr(
        dict(change))
    assert EMAIL not in everything and PHONE not in everything
    engine.dispose()
    command.downgrade(alembic_config(empty_url), BEFORE)
    with engine.connect() as conn:
        back = conn.execute(sa.text("SELECT email, phone FROM merchant")).one()
        values = dict(conn.execute(sa.text("SELECT id, value FROM contact_point")).all())
        key = conn.execute(sa.text(
            "SELECT value_key FROM contact_point WHERE id = 'cpt_e'")).scalar()
    assert tuple(back) == (EMAIL, PHONE)
    assert values == {"cpt_e": EMAIL, "cpt_p": PHONE, "cpt_d": "eski.com.tr",
                      "cpt_x": "[erased]"}
    assert key == EMAIL
    engine.dispose()
