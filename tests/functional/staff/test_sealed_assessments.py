"""Assessments at rest (issue #13, R-D7, R-D4): after a normal application and an assessment
that names a sanctioned owner, raw SQL finds no owner name, birth date, e-mail or phone in the
assessment table (SQLite and PostgreSQL); replay, the API, the reviewer's evidence view still
read them, each opening audited; re-encryption and the retention purge reach them."""

from __future__ import annotations

import json

import sqlalchemy as sa
from sqlmodel import select

from app.audit.trail import Actor
from app.crypto.data_keys import DataKeys, sealed_version
from app.models import Assessment, AuditEvent, Merchant
from app.services.assessments import replay
from app.services.data_keys import reencrypt_sealed
from app.services.personal_data import Disclosure, data_keys
from app.services.sealed_assessments import FIELD, open_assessment
from tests.conftest import TEST_DATA_KEYS
from tests.functional.api.test_screening_dismissals import _seed
from tests.sealed_support import checks_of, purge_ended

NAME, BORN = "Cumhur Yakutlu", "1960-05-01"
EMAIL, PHONE = "finans@anadolucicek.com.tr", "+902125550123"


def cells(app, table: str) -> str:
    """Every cell of ``table`` as text, JSON also with its non-ASCII characters unescaped."""
    out = []
    with app.extensions["kyb.engine"].connect() as conn:
        for row in conn.exec_driver_sql(f"SELECT * FROM {table}"):  # noqa: S608
            for cell in row:
                text = cell.decode("utf-8", "replace") if isinstance(cell, bytes) else str(cell)
                out.append(text)
                try:
                    out.append(json.dumps(json.loads(text), ensure_ascii=False))
                except ValueError:
                    pass
    return "\n".join(out)


def _assessed(app, api, db_session, tmp_path) -> str:
    merchant_id = _seed(db_session, tmp_path)  # owner Cumhur Yakutlu: a strong sanctions hit
    merchant = db_session.get(Merchant, merchant_id)
    from app.services.personal_data import seal_merchant_contacts
    seal_merchant_contacts(merchant, email=EMAIL, phone=PHONE, keys=data_keys(db_session))
    db_session.add(merchant)
    db_session.commit()
    assert api.post(f"/api/v1/merchants/{merchant_id}/assessments").status_code == 201
    return merchant_id


def _latest(db_session, merchant_id: str) -> Assessment:
    db_session.expire_all()
    return db_session.get(Assessment, db_session.get(Merchant, merchant_id).latest_assessment_id)


def test_the_assessment_table_holds_no_clear_name_birth_date_email_or_phone(app, api,
                                                                            db_session,
                                                                            tmp_path):
    merchant_id = _assessed(app, api, db_session, tmp_path)
    text = cells(app, "assessment")
    for clear in (NAME, "Yakutlu", BORN, EMAIL, PHONE):
        assert clear not in text, clear
    row = _latest(db_session, merchant_id)
    assert {c["code"]: c["status"] for c in row.checks}["sanctions_pep"] == "fail"  # outline
    assert set(row.checks[0]) == {"code", "status", "points"} and row.reasons == []
    opened = {c["code"]: c for c in checks_of(row)}
    assert NAME in opened["sanctions_pep"]["explanation"]
    assert open_assessment(row, Disclosure(actor=Actor("t"), purpose="t")).input_snapshot[
        "facts"]["owners"][0]["full_name"] == NAME


def test_replay_opens_the_sealed_snapshot_and_is_identical_and_audited(app, api, db_session,
                                                                       tmp_path):
    merchant_id = _assessed(app, api, db_session, tmp_path)
    row = _latest(db_session, merchant_id)
    disclosure = Disclosure(actor=Actor("cli"), purpose="assessment replay",
                            keys=data_keys(db_session))
    report = replay(row, disclosure)
    assert report.identical, report.differences
    event = disclosure.record(db_session, merchant_id=merchant_id)
    assert event.action == "personal_data.decrypted" and event.actor == "cli"
    assert event.details["merchant_fields"] == [FIELD] and NAME not in json.dumps(event.details)


def test_a_sealed_evidence_copied_to_another_assessment_does_not_open(app, api, db_session,
                                                                      tmp_path):
    import pytest

    from app.crypto.data_keys import SealedValueError
    merchant_id = _assessed(app, api, db_session, tmp_path)
    first = _latest(db_session, merchant_id)
    first_id, first_sealed = first.id, first.checks_sealed
    db_session.rollback()  # end the read: SQLite's request writes next
    assert api.post(f"/api/v1/merchants/{merchant_id}/assessments").status_code == 201
    second = _latest(db_session, merchant_id)
    assert second.id != first_id
    second.checks_sealed = first_sealed
    with pytest.raises(SealedValueError):
        checks_of(second)


def test_the_api_reads_the_evidence_and_the_read_is_audited(app, api, db_session, tmp_path):
    merchant_id = _assessed(app, api, db_session, tmp_path)
    body = api.get(f"/api/v1/merchants/{merchant_id}/assessments/latest").get_json()
    sanctions = next(c for c in body["checks"] if c["code"] == "sanctions_pep")
    assert NAME in sanctions["explanation"] and sanctions["evidence"]["strong"]
    event = db_session.exec(select(AuditEvent).where(
        AuditEvent.reason == "API assessment read").order_by(AuditEvent.seq.desc())).first()
    assert event.merchant_id == merchant_id and event.actor.startswith("client:")
    assert FIELD in event.details["merchant_fields"]


def test_reencrypt_moves_assessments_to_the_current_key(app, api, db_session, tmp_path):
    merchant_id = _assessed(app, api, db_session, tmp_path)
    row = _latest(db_session, merchant_id)
    assert sealed_version(row.checks_sealed) == 2
    db_session.rollback()
    rotated = DataKeys.parse("3:" + "bWJt" * 10 + "bWI=," + TEST_DATA_KEYS + ",idx:"
                             + TEST_DATA_KEYS.split(",")[1].split(":")[1])
    list(reencrypt_sealed(app.extensions["kyb.engine"], rotated))
    row = _latest(db_session, merchant_id)
    assert (sealed_version(row.checks_sealed), sealed_version(row.snapshot_sealed)) == (3, 3)
    opened = open_assessment(row, Disclosure(actor=Actor("t"), purpose="t", keys=rotated))
    assert opened.input_snapshot["facts"]["email"] == EMAIL


def test_retention_erases_the_evidence_and_replay_says_so(app, api, db_session, tmp_path):
    merchant_id = _assessed(app, api, db_session, tmp_path)
    result = purge_ended(db_session, merchant_id)
    assert result.assessments == 1
    row = _latest(db_session, merchant_id)
    assert (row.checks_sealed, row.snapshot_sealed) == (None, None)
    assert {c["code"]: c["status"] for c in row.checks}["sanctions_pep"] == "fail"
    report = replay(row)
    assert not report.identical and "erased" in report.differences[0]
    db_session.rollback()
    with app.extensions["kyb.engine"].connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM assessment WHERE "
                                    "checks_sealed IS NOT NULL")).scalar() == 0


def test_the_reviewer_sees_the_opened_evidence_and_the_view_is_audited(app, api, db_session,
                                                                       tmp_path, staff_client):
    merchant_id = _assessed(app, api, db_session, tmp_path)
    db_session.rollback()
    client, staff = staff_client("analyst")
    html = client.get(f"/staff/merchants/{merchant_id}").get_data(True)
    assert 'id="check-sanctions_pep"' in html and html.count(NAME) >= 3  # owner, hit, evidence
    event = db_session.exec(select(AuditEvent).where(
        AuditEvent.action == "personal_data.viewed").order_by(AuditEvent.seq.desc())).first()
    assert event.actor == f"staff:{staff.email}" and event.merchant_id == merchant_id
    assert event.details["merchant_fields"] == [FIELD, "email", "phone"]
