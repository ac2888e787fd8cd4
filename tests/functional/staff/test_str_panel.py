"""The STR panel of a case in the staff console (R-D5): downloads for every staff member
(audited), the filing form for approvers (CSRF, reason), English and Turkish."""

from __future__ import annotations

import io

import pytest
from flask import render_template_string
from pypdf import PdfReader
from sqlmodel import select

from app.models import AuditEvent, Case
from tests.functional.staff.conftest import csrf_from
from tests.str_support import MASKS, MERCHANT_NAME, NARRATIVE, build_str_world


@pytest.fixture
def world(api, db_session):
    return build_str_world(api, db_session)


def _page(client, case_id: str, lang: str = "en") -> str:
    resp = client.get(f"/staff/cases/{case_id}/str?lang={lang}")
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def test_analyst_sees_downloads_but_no_filing_form(world, staff_client):
    client, _staff = staff_client("analyst")
    html = _page(client, world.case_id)
    assert "Download STR (PDF)" in html and "Download STR (JSON)" in html
    assert "An approver files the STR." in html and "File STR" not in html


def test_panel_speaks_turkish(world, staff_client):
    client, _staff = staff_client("approver")
    html = _page(client, world.case_id, "tr")
    assert "Şüpheli işlem bildirimi (ŞİB)" in html and "ŞİB'i indir (PDF)" in html
    assert "ŞİB'i kaydet" in html and "Referans (isteğe bağlı)" in html


def test_download_is_the_pdf_and_is_audited_with_the_staff_member(world, staff_client,
                                                                  db_session):
    client, staff = staff_client("analyst")
    resp = client.get(f"/staff/cases/{world.case_id}/str.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(resp.data)).pages)
    assert MERCHANT_NAME in text and MASKS[0] in text
    event = db_session.exec(select(AuditEvent).where(
        AuditEvent.action == "case.str_exported")).one()
    assert event.actor == f"staff:{staff.email}" and event.reason == "pdf"


def test_download_of_an_unknown_case_is_404(staff_client):
    client, _staff = staff_client("analyst")
    assert client.get("/staff/cases/cas_nope/str.json").status_code == 404
    assert client.get("/staff/cases/cas_nope/str").status_code == 404


def test_an_analyst_cannot_file(world, staff_client):
    client, _staff = staff_client("analyst")
    html = _page(client, world.case_id)
    resp = client.post(f"/staff/cases/{world.case_id}/str",
                       data={"csrf_token": csrf_from(html), "narrative": NARRATIVE})
    assert resp.status_code == 403


def test_filing_without_the_csrf_token_is_refused(world, staff_client, db_session):
    client, _staff = staff_client("approver")
    resp = client.post(f"/staff/cases/{world.case_id}/str", data={"narrative": NARRATIVE})
    assert resp.status_code == 400
    assert db_session.get(Case, world.case_id).str_filed_at is None


def test_approver_files_the_str_and_the_panel_shows_it(world, staff_client, db_session):
    client, staff = staff_client("approver")
    html = _page(client, world.case_id)
    assert NARRATIVE in html  # the form starts from the case's narrative
    resp = client.post(f"/staff/cases/{world.case_id}/str", data={
        "csrf_token": csrf_from(html), "reference": "MASAK-2026-5",
        "narrative": NARRATIVE + " Ek: çağrı kaydı."})
    assert resp.status_code == 303
    html = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "STR filed under reference MASAK-2026-5." in html
    case = db_session.get(Case, world.case_id)
    assert (case.str_reference, case.str_filed_by) == ("MASAK-2026-5", f"staff:{staff.email}")
    assert case.str_sha256 in html and "File STR" not in html
    db_session.rollback()
    again = client.post(f"/staff/cases/{world.case_id}/str", data={
        "csrf_token": csrf_from(_page(client, world.case_id)), "narrative": NARRATIVE})
    assert "already filed" in client.get(again.headers["Location"]).get_data(as_text=True)


def test_a_short_narrative_is_refused_with_a_message(world, staff_client, db_session):
    client, _staff = staff_client("approver")
    resp = client.post(f"/staff/cases/{world.case_id}/str", data={
        "csrf_token": csrf_from(_page(client, world.case_id)), "narrative": "kısa"})
    html = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "at least 10 characters" in html
    assert db_session.get(Case, world.case_id).str_filed_at is None


def test_panel_renders_with_only_the_case_in_the_context(app, world, staff_client,
                                                         db_session):
    """The case page includes the panel with nothing but ``case``."""
    client, _staff = staff_client("approver")
    with app.test_request_context():
        from flask_login import login_user

        from app.models import StaffUser
        from app.web.auth import WebUser
        user = db_session.exec(select(StaffUser)).first()
        login_user(WebUser("staff", user))
        html = render_template_string('{% include "staff/_case_str.html" %}',
                                      case=db_session.get(Case, world.case_id))
    assert 'id="str"' in html and "File STR" in html


def test_the_kept_copy_is_sealed_and_its_download_is_audited(world, staff_client, db_session):
    """The filed package holds the owners' full national ids (MASAK): kept sealed at rest,
    opened for a download, and the opening recorded (R-D7, issue #13)."""
    from app.models import CaseAttachment
    from tests.factories import TCKN
    client, staff = staff_client("approver")
    client.post(f"/staff/cases/{world.case_id}/str", data={
        "csrf_token": csrf_from(_page(client, world.case_id)), "reference": "MASAK-2026-6",
        "narrative": NARRATIVE})
    (kept,) = db_session.exec(select(CaseAttachment).where(
        CaseAttachment.case_id == world.case_id)).all()
    assert kept.sealed and TCKN[6].encode() not in kept.content
    kept_id = kept.id
    db_session.rollback()  # a SQLite reader holds the write lock (BEGIN IMMEDIATE)
    resp = client.get(f"/staff/cases/{world.case_id}/attachments/{kept_id}")
    assert resp.status_code == 200 and TCKN[6] in resp.get_data(as_text=True)
    (event,) = db_session.exec(select(AuditEvent).where(
        AuditEvent.action == "personal_data.decrypted",
        AuditEvent.target_id == kept_id)).all()
    assert event.actor == f"staff:{staff.email}"
    assert event.details["purpose"] == "kept STR package download"
