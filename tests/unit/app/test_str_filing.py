"""The STR as a PDF (Turkish text, masked cards), its filing on the case and in the audit
trail, and audited exports (R-D5)."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json

import pytest
from pypdf import PdfReader
from sqlmodel import select

from app.audit.trail import Actor, verify_trail
from app.models import AuditEvent, Case, CaseAttachment
from app.services.personal_data import Disclosure, attachment_content
from app.services.str_report import (
    StrConflict,
    StrInvalid,
    build_str_package,
    export_str,
    file_str,
    render_str_pdf,
)
from tests.factories import TCKN
from tests.str_support import MASKS, MERCHANT_NAME, PANS, build_str_world

NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)
APPROVER = Actor(name="staff:onayci@banka.example", request_id="req-1")

DISCLOSURE = Disclosure(actor=Actor("test"), purpose="STR package test")


@pytest.fixture
def world(api, db_session):
    return build_str_world(api, db_session)


def pdf_text(data: bytes) -> str:
    """Every page's extracted text, joined."""
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_pdf_prints_the_turkish_name_and_masked_cards_but_no_card_number(world, db_session):
    package = build_str_package(db_session, disclosure=DISCLOSURE, case_id=world.case_id, now=NOW)
    data = render_str_pdf(package)
    reader = PdfReader(io.BytesIO(data))
    text = pdf_text(data)
    assert MERCHANT_NAME in text
    assert "Şükrü Öztürk" in text and "İlknur Ağaoğlu" in text
    assert "Şüpheli İşlem Bildirimi" in text and "Üye işyeri" in text
    assert MASKS[0] in text and MASKS[1] in text  # the second card only in a scrubbed text
    for pan in PANS:
        assert pan not in text.replace(" ", "").replace("\n", "")
    assert package["sha256"] in text
    assert len(reader.pages) >= 2
    fonts = {str(f.get_object()["/BaseFont"]) for page in reader.pages
             for f in page["/Resources"]["/Font"].values()}
    assert any("DejaVuSans" in f for f in fonts)
    assert not any(f.endswith(("/Helvetica", "/Times-Roman")) for f in fonts)


def test_same_package_renders_the_same_pdf(world, db_session):
    package = build_str_package(db_session, disclosure=DISCLOSURE, case_id=world.case_id, now=NOW)
    assert render_str_pdf(package) == render_str_pdf(package)


def test_filing_is_recorded_on_the_case_with_the_package_hash(world, db_session):
    case = db_session.get(Case, world.case_id)
    file_str(db_session, case=case, actor=APPROVER, now=NOW, reference="MASAK-2026-0042")
    db_session.commit()
    assert (case.str_reference, case.str_filed_by) == ("MASAK-2026-0042", APPROVER.name)
    assert case.str_filed_at == NOW
    (kept,) = db_session.exec(select(CaseAttachment).where(
        CaseAttachment.case_id == case.id)).all()
    # kept sealed: it holds the owners' full national ids (R-D7)
    assert kept.sealed and TCKN[6].encode() not in kept.content
    clear = attachment_content(db_session, kept, actor=APPROVER)
    assert kept.sha256 == hashlib.sha256(clear).hexdigest() and kept.size == len(clear)
    filed = json.loads(clear)
    assert TCKN[6] in {p["national_id"] for p in filed["persons"]}
    assert filed["sha256"] == case.str_sha256
    assert filed["filing"] == {"reference": "MASAK-2026-0042", "filed_by": APPROVER.name,
                               "filed_at": "2026-11-27T12:00:00Z"}
    body = {k: v for k, v in filed.items() if k != "sha256"}
    assert hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"),
                                     ensure_ascii=False).encode()).hexdigest() == case.str_sha256


def test_filing_is_audited_with_the_package_hash_and_the_kept_copy(world, db_session):
    case = file_str(db_session, case=db_session.get(Case, world.case_id), actor=APPROVER,
                    now=NOW)
    db_session.commit()
    events = {e.action: e for e in db_session.exec(select(AuditEvent).where(
        AuditEvent.target_id == case.id)).all()}
    filed = events["case.str_filed"]
    assert (filed.actor, filed.merchant_id, filed.reason) == (APPROVER.name, case.merchant_id,
                                                              case.str_reference)
    assert filed.details["package_sha256"] == case.str_sha256
    assert filed.details["alerts"] == 2 and filed.details["transactions"] == 2
    kept = events["case.attachment_added"]
    assert kept.details["attachment_id"] == filed.details["attachment_id"]
    assert case.str_reference == f"STR-20261127-{case.id.removeprefix('cas_')[-8:]}"
    assert verify_trail(db_session).ok
    # the package shown after filing names the recorded filing
    after = build_str_package(db_session, disclosure=DISCLOSURE, case_id=case.id, now=NOW)
    assert after["filing"]["package_sha256"] == case.str_sha256


def test_a_new_narrative_replaces_the_cases(world, db_session):
    case = file_str(db_session, case=db_session.get(Case, world.case_id), actor=APPROVER,
                    now=NOW, narrative="  Yeni değerlendirme: kart test saldırısı.  ")
    assert case.narrative == "Yeni değerlendirme: kart test saldırısı."


def test_a_second_filing_is_refused(world, db_session):
    case = file_str(db_session, case=db_session.get(Case, world.case_id), actor=APPROVER,
                    now=NOW, reference="R-1")
    with pytest.raises(StrConflict, match="already filed.*reference R-1"):
        file_str(db_session, case=case, actor=APPROVER, now=NOW, reference="R-2")
    assert case.str_reference == "R-1"


def test_a_closed_case_is_refused(world, db_session):
    case = db_session.get(Case, world.case_id)
    case.status, case.closed_at = "closed", NOW
    with pytest.raises(StrConflict, match="is closed"):
        file_str(db_session, case=case, actor=APPROVER, now=NOW)
    assert case.str_filed_at is None


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"narrative": "   "}, "narrative"),
    ({"narrative": "x" * 20001}, "narrative"),
    ({"reference": "r" * 81}, "reference"),
    ({"reference": "bad\nref"}, "reference"),
])
def test_bad_inputs_are_refused_naming_the_field(world, db_session, kwargs, field):
    case = db_session.get(Case, world.case_id)
    with pytest.raises(StrInvalid) as info:
        file_str(db_session, case=case, actor=APPROVER, now=NOW, **kwargs)
    assert info.value.field == field
    assert case.str_filed_at is None


def test_no_narrative_on_the_case_and_none_given_is_refused(world, db_session):
    case = db_session.get(Case, world.case_id)
    case.narrative = None
    with pytest.raises(StrInvalid, match="narrative"):
        file_str(db_session, case=case, actor=APPROVER, now=NOW)


@pytest.mark.parametrize("fmt", ["json", "pdf"])
def test_an_export_is_audited_with_who_what_and_the_hash(world, db_session, fmt):
    analyst = Actor(name="staff:analist@banka.example")
    package, data = export_str(db_session, case_id=world.case_id, actor=analyst, now=NOW,
                               fmt=fmt)
    (event,) = db_session.exec(select(AuditEvent).where(
        AuditEvent.action == "case.str_exported")).all()
    assert (event.actor, event.target_id, event.reason) == (analyst.name, world.case_id, fmt)
    assert event.details["package_sha256"] == package["sha256"]
    assert event.details["file_sha256"] == hashlib.sha256(data).hexdigest()
    if fmt == "json":
        assert json.loads(data) == package


def test_an_unknown_format_is_refused(world, db_session):
    with pytest.raises(StrInvalid, match="unknown format 'docx'"):
        export_str(db_session, case_id=world.case_id, actor=APPROVER, now=NOW, fmt="docx")


def test_a_note_longer_than_a_page_still_prints(world, db_session):
    from app.models import Alert, CaseNote
    note = CaseNote(case_id=world.case_id, author="staff:analist@banka.example",
                    text="Uzun inceleme notu; ödeme akışı ve ortaklık yapısı. " * 400)
    alert = db_session.get(Alert, world.alert_ids[0])
    alert.details = {**alert.details, "matches": [{"description": f"Şişe {i}", "n": i}
                                                  for i in range(300)]}
    db_session.add_all([note, alert])
    db_session.flush()
    package = build_str_package(db_session, disclosure=DISCLOSURE, case_id=world.case_id, now=NOW)
    text = pdf_text(render_str_pdf(package))
    assert "Uzun inceleme notu" in text and "matches.299.description: Şişe 299" in text


def test_two_approvers_filing_at_once_file_one_str(app, world):
    """Two sessions race to file the same case: one files, the other is refused."""
    import threading

    from sqlmodel import Session
    engine = app.extensions["kyb.engine"]
    barrier, outcomes = threading.Barrier(2), []

    def attempt(reference: str) -> None:
        barrier.wait(30)  # before any read: a SQLite reader already holds the write lock
        with Session(engine, expire_on_commit=False) as session:
            case = session.get(Case, world.case_id)
            try:
                file_str(session, case=case, actor=Actor(name=f"staff:{reference}"), now=NOW,
                         reference=reference)
                session.commit()
                outcomes.append(("filed", reference))
            except StrConflict:
                session.rollback()
                outcomes.append(("refused", reference))
    threads = [threading.Thread(target=attempt, args=(ref,)) for ref in ("R-A", "R-B")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(kind for kind, _ref in outcomes) == ["filed", "refused"]
    with Session(engine) as session:
        filed = session.exec(select(AuditEvent).where(
            AuditEvent.action == "case.str_filed")).all()
        case = session.get(Case, world.case_id)
        assert len(filed) == 1 and case.str_reference == filed[0].reason
