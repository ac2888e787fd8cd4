"""``GET/POST /api/v1/cases/{id}/str``: the STR package as JSON or PDF and the record of its
filing; scopes, problem+json errors, audit and the OpenAPI entry (R-D5)."""

from __future__ import annotations

import hashlib
import io
import json

import pytest
from pypdf import PdfReader
from sqlmodel import select

from app.models import AuditEvent, Case
from tests.str_support import MASKS, MERCHANT_NAME, PANS, build_str_world


@pytest.fixture
def world(api, db_session):
    return build_str_world(api, db_session)


@pytest.fixture
def reader(make_api):
    return make_api("cases:read")


@pytest.fixture
def writer(make_api):
    return make_api("cases:write")


def _problem(resp, status: int) -> dict:
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == "application/problem+json"
    return resp.get_json()


def test_json_package_is_returned_and_the_export_audited(world, reader, db_session):
    resp = reader.get(f"/api/v1/cases/{world.case_id}/str?format=json")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    body = resp.get_json()
    assert body["merchant"]["legal_name"] == MERCHANT_NAME
    assert [t["card_masked"] for t in body["transactions"]] == [MASKS[0], MASKS[0]]
    assert all(pan not in resp.get_data(as_text=True) for pan in PANS)
    # a recipient can check the hash from the JSON alone
    rest = {k: v for k, v in body.items() if k != "sha256"}
    assert hashlib.sha256(json.dumps(rest, sort_keys=True, separators=(",", ":"),
                                     ensure_ascii=False).encode()).hexdigest() == body["sha256"]
    (event,) = db_session.exec(select(AuditEvent).where(
        AuditEvent.action == "case.str_exported")).all()
    assert event.actor == f"client:{reader.client_id}" and event.target_id == world.case_id
    assert event.details["package_sha256"] == body["sha256"]


def test_json_is_the_default_format(world, reader):
    resp = reader.get(f"/api/v1/cases/{world.case_id}/str")
    assert resp.status_code == 200 and resp.get_json()["case"]["id"] == world.case_id


def test_pdf_is_a_download_with_the_turkish_name_and_masked_cards(world, reader):
    resp = reader.get(f"/api/v1/cases/{world.case_id}/str?format=pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert resp.headers["Content-Disposition"] == (
        f'attachment; filename="str-{world.case_id}.pdf"')
    assert len(resp.headers["X-Package-SHA256"]) == 64
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(resp.data)).pages)
    assert MERCHANT_NAME in text and MASKS[0] in text
    assert all(pan not in text for pan in PANS)


@pytest.mark.parametrize(("query", "field"), [("format=docx", "format"),
                                              ("format=json&lang=tr", "lang")])
def test_bad_query_is_a_problem_naming_the_field(world, reader, query, field):
    body = _problem(reader.get(f"/api/v1/cases/{world.case_id}/str?{query}"), 422)
    assert [e["field"] for e in body["errors"]] == [field]


def test_unknown_case_is_404(reader):
    body = _problem(reader.get("/api/v1/cases/cas_nope/str"), 404)
    assert "cas_nope" in body["detail"]


def test_export_needs_the_cases_read_scope(world, client, writer):
    _problem(client.get(f"/api/v1/cases/{world.case_id}/str"), 401)
    body = _problem(writer.get(f"/api/v1/cases/{world.case_id}/str"), 403)
    assert body["required_scope"] == "cases:read"


def test_filing_is_recorded_and_a_second_is_a_conflict(world, writer, db_session):
    resp = writer.post(f"/api/v1/cases/{world.case_id}/str",
                       json={"reference": "MASAK-2026-77", "narrative": "Kart test saldırısı."})
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["reference"] == "MASAK-2026-77"
    assert body["filed_by"] == f"client:{writer.client_id}"
    case = db_session.get(Case, world.case_id)
    db_session.refresh(case)
    assert (case.str_reference, case.str_sha256) == ("MASAK-2026-77", body["sha256"])
    assert case.narrative == "Kart test saldırısı."
    event = db_session.exec(select(AuditEvent).where(
        AuditEvent.action == "case.str_filed")).one()
    assert event.details["package_sha256"] == body["sha256"]
    db_session.rollback()  # end the read (a SQLite transaction holds the write lock)
    again = _problem(writer.post(f"/api/v1/cases/{world.case_id}/str", json={}), 409)
    assert "already filed" in again["detail"]


def test_filing_a_closed_case_is_a_conflict(world, writer, db_session):
    case = db_session.get(Case, world.case_id)
    case.status = "closed"
    db_session.add(case)
    db_session.commit()
    body = _problem(writer.post(f"/api/v1/cases/{world.case_id}/str", json={}), 409)
    assert "closed" in body["detail"]


@pytest.mark.parametrize(("payload", "field"), [
    ({"narrative": "   "}, "narrative"),
    ({"reference": "r" * 81}, "reference"),
    ({"reference": ""}, "reference"),
    ({"narrative": "ok ok ok ok", "extra": 1}, "extra"),
])
def test_bad_filing_bodies_are_problems_naming_the_field(world, writer, payload, field):
    body = _problem(writer.post(f"/api/v1/cases/{world.case_id}/str", json=payload), 422)
    assert [e["field"] for e in body["errors"]] == [field]


def test_filing_needs_the_cases_write_scope_and_a_known_case(world, reader, writer):
    body = _problem(reader.post(f"/api/v1/cases/{world.case_id}/str", json={}), 403)
    assert body["required_scope"] == "cases:write"
    _problem(writer.post("/api/v1/cases/cas_nope/str", json={}), 404)


def test_openapi_documents_both_media_types_and_the_scopes(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    path = doc["paths"]["/api/v1/cases/{case_id}/str"]
    content = path["get"]["responses"]["200"]["content"]
    assert set(content) == {"application/json", "application/pdf"}
    assert content["application/pdf"]["schema"] == {"type": "string", "format": "binary"}
    assert path["get"]["security"] == [{"oauth2": ["cases:read"]}]
    assert {p["name"] for p in path["get"]["parameters"]} >= {"case_id", "format"}
    assert path["post"]["security"] == [{"oauth2": ["cases:write"]}]
    assert {"404", "409", "422"} <= set(path["post"]["responses"])
