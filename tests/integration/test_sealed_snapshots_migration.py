"""Migration 0020 seals the assessments already stored (issue #13, R-D7): on SQLite and
PostgreSQL their evidence, reasons and the snapshot's personal facts move to sealed columns
(no owner name, birth date or e-mail left in clear), the outline stays, and the way down gives
back exactly what was stored; a merchant's notification keeps a masked recipient and body, its
full content sealed."""

from __future__ import annotations

import datetime as dt
import json

import sqlalchemy as sa
from alembic import command

from app.crypto.data_keys import DataKeys
from app.migrate import alembic_config, upgrade
from app.services.personal_data import mask_contact
from app.services.portal_users import login_index
from app.services.screening_decisions import keyed_digest
from app.services.sealed_assessments import opened_values
from tests.conftest import TEST_DATA_KEYS
from tests.integration.test_migrations import empty_url, engine_for  # noqa: F401 - fixtures

WHEN = dt.datetime(2020, 5, 6, 7, 8, 9)
BEFORE = "0019_sealed_contacts"
NAME, BORN, EMAIL = "Ayşe Yılmaz", "1984-05-02", "ayse@eski.com.tr"
CHECKS = [{"code": "sanctions_pep", "status": "fail", "points": 100,
           "evidence": {"strong": [{"subject": NAME}]},
           "explanation": f'Strong sanctions match: owner "{NAME}"', "wording": None}]
REASONS = ["Score 100 of 100 is tier high", f'sanctions_pep (fail): owner "{NAME}"']
SNAPSHOT = {"now": "2020-05-06T07:08:09+00:00", "facts": {
    "merchant_id": "mer_1", "legal_name": "Eski A.Ş.", "email": EMAIL, "phone": "+902125550123",
    "owners": [{"full_name": NAME, "birth_date": BORN}], "website": "https://eski.com.tr/"}}


def _seed(conn) -> None:
    conn.execute(sa.text(
        "INSERT INTO merchant (id, legal_name, country, status, frozen, limits, created_by,"
        " created_at, updated_at) VALUES ('mer_1', 'Eski A.Ş.', 'TR', 'applied',"
        " false, '{}', 'test', :t, :t)"), {"t": WHEN})
    conn.execute(sa.text(
        "INSERT INTO assessment (id, merchant_id, policy_version, policy_digest, score, tier,"
        " recommended_action, checks, reasons, input_snapshot, trigger, created_by, created_at)"
        " VALUES ('asm_1', 'mer_1', 'kyb-2026.11.1', 'd', 100, 'high', 'manual_review', :c,"
        " :r, :s, 'test', 'test', :t)"),
        {"c": json.dumps(CHECKS), "r": json.dumps(REASONS), "s": json.dumps(SNAPSHOT),
         "t": WHEN})


NOTICE_PAYLOAD = {"changes": [{"field": "email", "old": EMAIL, "new": "yeni@eski.com.tr"}],
                  "reason": "asked"}
NOTICE_BODY = f"e-mail: {EMAIL} → yeni@eski.com.tr"


def _seed_notice(conn) -> None:
    conn.execute(sa.text(
        "INSERT INTO notification (id, merchant_id, event, channel, recipient, subject, body,"
        " payload, created_at, next_attempt_at, attempts) VALUES ('ntf_1', 'mer_1',"
        " 'merchant.changed', 'email', :e, 'Changed', :b, :p, :t, :t, 0)"),
        {"e": EMAIL, "b": NOTICE_BODY, "p": json.dumps(NOTICE_PAYLOAD), "t": WHEN})


PLAIN = "ab" * 32


def _seed_dismissals(conn) -> None:
    for did, role, subject in (("sdm_o", "owner", NAME), ("sdm_l", "legal_name", "Eski A.Ş.")):
        conn.execute(sa.text(
            "INSERT INTO screening_dismissal (id, merchant_id, subject_role, subject,"
            " subject_digest, list_name, entry_id, entry_name, entry_digest, strong, status,"
            " reason, dismissed_by, dismissed_at) VALUES (:i, 'mer_1', :r, :s, :d, 'L', 'e1',"
            " 'Listed', 'x', false, 'active', 'not her', 'staff:a@bank.test', :t)"),
            {"i": did, "r": role, "s": subject, "d": PLAIN, "t": WHEN})


def _seed_user(conn) -> None:
    conn.execute(sa.text(
        "INSERT INTO merchant_user (id, email, merchant_id, password_hash, totp_secret,"
        " failed_logins, active, created_at) VALUES ('mus_1', :e, 'mer_1', 'x', 'x', 0, true,"
        " :t)"), {"e": EMAIL, "t": WHEN})


def _user(engine) -> dict:
    with engine.connect() as conn:
        return dict(conn.execute(sa.text("SELECT * FROM merchant_user")).one()._mapping)


def _dismissals(engine) -> dict:
    with engine.connect() as conn:
        return {r.id: dict(r._mapping) for r in conn.execute(sa.text(
            "SELECT * FROM screening_dismissal"))}


def _notice(engine):
    with engine.connect() as conn:
        row = dict(conn.execute(sa.text("SELECT * FROM notification")).one()._mapping)
    row["payload"] = json.loads(row["payload"]) if isinstance(row["payload"], str) \
        else row["payload"]
    return row


def _row(engine):
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT * FROM assessment")).one()._mapping
    return {k: json.loads(v) if k in ("checks", "reasons", "input_snapshot")
            and isinstance(v, str) else v for k, v in row.items()}


def test_existing_assessments_are_sealed_and_opened_again_on_the_way_down(
        empty_url, engine_for, monkeypatch, tmp_path):  # noqa: F811
    monkeypatch.setenv("KYB_DATA_KEYS", TEST_DATA_KEYS)
    monkeypatch.setenv("KYB_INSTANCE_PATH", str(tmp_path))
    upgrade(empty_url, BEFORE)
    engine = engine_for(empty_url)
    with engine.begin() as conn:
        _seed(conn)
        _seed_notice(conn)
        _seed_dismissals(conn)
        _seed_user(conn)
    engine.dispose()
    upgrade(empty_url, "0020_sealed_snapshots")
    row = _row(engine)
    keys = DataKeys.parse(TEST_DATA_KEYS)
    dismissals = _dismissals(engine)
    owner, legal = dismissals["sdm_o"], dismissals["sdm_l"]
    assert owner["subject"] == "A••• Y•••" and NAME not in repr(owner)
    assert keys.open(owner["subject_sealed"], table="screening_dismissal",
                     column="subject_sealed", row_id="sdm_o") == NAME
    assert owner["subject_digest"] == keyed_digest(PLAIN, keys) != PLAIN
    assert (legal["subject"], legal["subject_sealed"]) == ("Eski A.Ş.", None)
    user = _user(engine)
    assert user["email"] == login_index(EMAIL, keys) and EMAIL not in repr(user)
    assert keys.open(user["email_sealed"], table="merchant_user", column="email_sealed",
                     row_id="mus_1") == EMAIL
    notice = _notice(engine)
    assert EMAIL not in json.dumps(notice, default=str, ensure_ascii=False)
    assert notice["recipient"] == mask_contact("email", EMAIL)
    assert notice["body"] == "e-mail: a•••@eski.com.tr → y•••@eski.com.tr"
    assert json.loads(DataKeys.parse(TEST_DATA_KEYS).open(
        notice["content_sealed"], table="notification", column="content_sealed",
        row_id="ntf_1")) == {"recipient": EMAIL, "body": NOTICE_BODY, "payload": NOTICE_PAYLOAD}
    clear = json.dumps(row["checks"]) + json.dumps(row["reasons"]) + json.dumps(
        row["input_snapshot"])
    for value in (NAME, BORN, EMAIL, "+902125550123"):
        assert value not in clear and value not in json.dumps(row, default=str,
                                                              ensure_ascii=False)
    assert row["checks"] == [{"code": "sanctions_pep", "status": "fail", "points": 100}]
    assert row["input_snapshot"]["facts"]["website"] == "https://eski.com.tr/"
    opened = opened_values("asm_1", input_snapshot=row["input_snapshot"],
                           checks_sealed=row["checks_sealed"],
                           snapshot_sealed=row["snapshot_sealed"],
                           keys=DataKeys.parse(TEST_DATA_KEYS))
    assert (opened["checks"], opened["reasons"], opened["input_snapshot"]) == (
        CHECKS, REASONS, SNAPSHOT)
    engine.dispose()
    command.downgrade(alembic_config(empty_url), BEFORE)
    back = _row(engine)
    assert (back["checks"], back["reasons"], back["input_snapshot"]) == (
        CHECKS, REASONS, SNAPSHOT)
    assert "checks_sealed" not in back
    assert _user(engine)["email"] == EMAIL
    back_dismissals = _dismissals(engine)
    assert back_dismissals["sdm_o"]["subject"] == NAME
    assert "subject_sealed" not in back_dismissals["sdm_o"]
    notice = _notice(engine)
    assert (notice["recipient"], notice["body"], notice["payload"]) == (
        EMAIL, NOTICE_BODY, NOTICE_PAYLOAD)
    engine.dispose()
