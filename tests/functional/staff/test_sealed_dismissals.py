"""Screening dismissals at rest (issue #13, R-D7): an owner's "not this person" decision keeps
the owner's name sealed and a mask in clear, in its row and in the audit trail (raw SQL on
SQLite and PostgreSQL finds no name), its digest is a keyed blind index, the reviewer's page
still reads the name (audited), and the retention purge erases it."""

from __future__ import annotations

import hashlib
import json

import sqlalchemy as sa
from sqlmodel import select

from app.models import AuditEvent, ScreeningDismissal
from app.services.screening_subjects import FIELD, mask_name
from tests.functional.api.test_screening_dismissals import HIT, _proof, _seed
from tests.functional.staff.test_sealed_assessments import cells
from tests.sealed_support import purge_ended

NAME = "Cumhur Yakutlu"


def _dismissed(api, db_session, tmp_path) -> tuple[str, str]:
    merchant_id = _seed(db_session, tmp_path)
    assert api.post(f"/api/v1/merchants/{merchant_id}/assessments").status_code == 201
    url = f"/api/v1/merchants/{merchant_id}/screening/dismissals"
    resp = api.post(url, json={**HIT, **_proof("ayse@bank.example")})
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["subject"] == mask_name(NAME) == "C••• Y•••"
    return merchant_id, resp.get_json()["id"]


def test_the_dismissal_and_its_audit_event_hold_no_clear_owner_name(app, api, db_session,
                                                                   tmp_path):
    """The list entry's own name (``entry_name``) is the sanctions list's public data, as in
    ``screening_entry``; the screened subject is the owner's."""
    merchant_id, dismissal_id = _dismissed(api, db_session, tmp_path)
    with app.extensions["kyb.engine"].connect() as conn:
        subject = conn.exec_driver_sql("SELECT subject, subject_sealed FROM screening_dismissal"
                                       ).one()
        details = [d for (d,) in conn.execute(sa.text(
            "SELECT details FROM audit_event WHERE action LIKE 'screening.%'"))]
    assert subject[0] == "C••• Y•••" and subject[1].startswith("kd1:")
    assert details and all("Yakutlu" not in json.dumps(json.loads(d) if isinstance(d, str)
                                                       else d, ensure_ascii=False)
                           .replace('"entry_name": "Cumhur Yakutlu"', "") for d in details)
    assert "Yakutlu" in cells(app, "screening_entry")  # the list itself, public
    row = db_session.get(ScreeningDismissal, dismissal_id)
    plain = hashlib.sha256(f"owner\x1f{NAME.casefold()}\x1f1960-05-01".encode()).hexdigest()
    assert row.subject_digest != plain  # keyed: trying names and birth dates finds nothing


def test_the_reviewer_reads_the_name_and_the_view_is_audited(app, api, db_session, tmp_path,
                                                             staff_client):
    merchant_id, _dismissal_id = _dismissed(api, db_session, tmp_path)
    db_session.rollback()
    client, _staff = staff_client("approver")
    html = client.get(f"/staff/merchants/{merchant_id}").get_data(True)
    assert f"Strong hit on {NAME} ~" in html
    event = db_session.exec(select(AuditEvent).where(
        AuditEvent.action == "personal_data.viewed").order_by(AuditEvent.seq.desc())).first()
    assert FIELD in event.details["merchant_fields"] and NAME not in repr(event.details)


def test_retention_erases_the_owners_name(app, api, db_session, tmp_path):
    merchant_id, dismissal_id = _dismissed(api, db_session, tmp_path)
    result = purge_ended(db_session, merchant_id)
    assert result.dismissals == 1
    row = db_session.get(ScreeningDismissal, dismissal_id)
    assert (row.subject, row.subject_sealed) == ("[erased]", None)
