"""The merchant page's sanctions row (issue #12 items 3 and 4, R-D2): "not this person" with a
reason, four eyes for a strong hit (the same approver and an analyst are refused), audited; the
hits and the form in English and Turkish."""

from __future__ import annotations

import datetime as dt
import json

from sqlmodel import select

from app.audit.trail import Actor
from app.models import Assessment, AuditEvent, Merchant, Ownership, ScreeningDismissal
from app.services.screening import import_list, screen_merchant, screening_index
from app.services.screening_decisions import apply_dismissals
from checks.facts import MerchantFacts
from checks.kyb.screening import sanctions_pep
from checks.policy import load_policy
from tests import factories
from tests.functional.staff.conftest import csrf_from

NOW = dt.datetime(2026, 11, 27, 10, tzinfo=dt.UTC)
LISTED = {"id": "san-1", "caption": "Cumhur Yakutlu", "schema": "Person",
          "properties": {"name": ["Cumhur Yakutlu"], "birthDate": ["1960-05-01"],
                         "nationality": ["tr"], "topics": ["sanction"]}}


def _seed(session, tmp_path) -> str:
    path = tmp_path / "listed.jsonl"
    path.write_text(json.dumps(LISTED) + "\n", encoding="utf-8")
    import_list(session, paths=[path], kind="sanctions", name="Test sanctions",
                actor=Actor("cli"), now=NOW)
    merchant = Merchant(legal_name="Anadolu Çiçek A.Ş.", country="TR", status="applied",
                        tier="high")
    person = factories.person(session, "Cumhur Yakutlu", dt.date(1960, 5, 1))
    session.add_all([merchant, person])
    session.flush()
    session.add(Ownership(merchant_id=merchant.id, person_id=person.id, share_pct=50))
    session.flush()
    _assess(session, merchant)
    return merchant.id


def _assess(session, merchant: Merchant) -> None:
    """Store the sanctions_pep result as an assessment would (decisions applied)."""
    index = screening_index(session)
    hits, lists = screen_merchant(session, merchant=merchant, index=index)
    hits = apply_dismissals(session, merchant=merchant, hits=hits, index=index)
    check = sanctions_pep(MerchantFacts(merchant_id=merchant.id, legal_name=merchant.legal_name,
                                        screening_hits=hits, screened_lists=lists),
                          load_policy(), NOW)
    row = Assessment(merchant_id=merchant.id, policy_version="kyb-2026.11.2",
                     policy_digest="0" * 64, score=100, tier="high",
                     recommended_action="manual_review",
                     checks=[{"code": check.code, "status": check.status,
                              "points": check.points, "evidence": check.evidence,
                              "explanation": check.explanation}],
                     reasons=[], input_snapshot={}, trigger="test")
    session.add(row)
    session.flush()
    merchant.latest_assessment_id = row.id
    session.add(merchant)
    session.commit()


def _post(client, merchant_id: str, url: str, **data):
    page = client.get(f"/staff/merchants/{merchant_id}")
    assert page.status_code == 200
    return client.post(url, data={**data, "csrf_token": csrf_from(page.get_data(True))})


def _dismiss(client, merchant_id: str):
    return _post(client, merchant_id, f"/staff/merchants/{merchant_id}/screening/dismiss",
                 subject_role="owner", subject="Cumhur Yakutlu", list_name="Test sanctions",
                 entry_id="san-1", reason="Different person, ID card checked")


def _status(db_session, row_id: str) -> str:
    db_session.expire_all()
    status = db_session.get(ScreeningDismissal, row_id).status
    db_session.rollback()  # plain values only: an open read would hold SQLite's lock
    return status


def test_a_strong_hit_is_dismissed_by_two_different_approvers(staff_client, db_session,
                                                              tmp_path):
    merchant_id = _seed(db_session, tmp_path)
    analyst, _ = staff_client("analyst")
    first, _ = staff_client("approver")
    second, _ = staff_client("approver")
    page = analyst.get(f"/staff/merchants/{merchant_id}").get_data(True)
    assert "Screening hits" in page and "Not this person" in page and "#san-1" in page
    turkish = analyst.get(f"/staff/merchants/{merchant_id}?lang=tr").get_data(True)
    assert "Tarama eşleşmeleri" in turkish and "Bu kişi değil" in turkish

    refused = _dismiss(analyst, merchant_id)
    assert refused.status_code == 303
    assert db_session.exec(select(ScreeningDismissal)).all() == []
    db_session.rollback()

    assert _dismiss(first, merchant_id).status_code == 303
    row = db_session.exec(select(ScreeningDismissal)).one()
    row_id, state = row.id, (row.status, row.strong)
    db_session.rollback()
    assert state == ("pending", True)
    confirm = f"/staff/merchants/{merchant_id}/screening/dismissals/{row_id}/confirm"
    mine = first.get(f"/staff/merchants/{merchant_id}").get_data(True)
    assert "must confirm it" in mine and "Confirm dismissal" not in mine
    for client in (first, analyst):  # four eyes: the same approver, and an analyst, refused
        assert _post(client, merchant_id, confirm).status_code == 303
        assert _status(db_session, row_id) == "pending"
    assert "Confirm dismissal" in second.get(f"/staff/merchants/{merchant_id}").get_data(True)
    assert _post(second, merchant_id, confirm).status_code == 303
    assert _status(db_session, row_id) == "active"
    actions = [e.action for e in db_session.exec(select(AuditEvent).where(
        AuditEvent.merchant_id == merchant_id, AuditEvent.action.not_like("personal_data.%"))
        .order_by(AuditEvent.seq)).all()]
    assert actions == ["screening.hit_dismissed", "screening.hit_dismissal_confirmed"]
    _assess(db_session, db_session.get(Merchant, merchant_id))  # the re-assessment
    page = analyst.get(f"/staff/merchants/{merchant_id}?lang=en").get_data(True)
    assert "Dismissed: not this person, by staff:" in page and "Confirmed by staff:" in page
    assert "Different person, ID card checked" in page and "Not this person" not in page
    turkish = analyst.get(f"/staff/merchants/{merchant_id}?lang=tr").get_data(True)
    assert "Reddedildi: bu kişi değil" in turkish


def test_an_approver_revokes_a_dismissal_from_the_console_and_the_hit_counts_again(
        staff_client, db_session, tmp_path):
    """Issue #12 (h6): the dismissed row offers an approver "Revoke dismissal" (English and
    Turkish); an analyst and a missing reason are refused; one approver is enough; audited;
    the page then lists the revoked decision and the hit is counted again."""
    merchant_id = _seed(db_session, tmp_path)
    analyst, _ = staff_client("analyst")
    first, _ = staff_client("approver")
    second, _ = staff_client("approver")
    assert _dismiss(first, merchant_id).status_code == 303
    row_id = db_session.exec(select(ScreeningDismissal)).one().id
    db_session.rollback()
    _post(second, merchant_id,
          f"/staff/merchants/{merchant_id}/screening/dismissals/{row_id}/confirm")
    _assess(db_session, db_session.get(Merchant, merchant_id))
    assert "Revoke dismissal" not in analyst.get(f"/staff/merchants/{merchant_id}").get_data(True)
    assert "Kararı geri al" in first.get(f"/staff/merchants/{merchant_id}?lang=tr").get_data(True)
    revoke = f"/staff/merchants/{merchant_id}/screening/dismissals/{row_id}/revoke"
    for client, reason in ((analyst, "Passport matches the list"), (first, "x")):
        assert _post(client, merchant_id, revoke, reason=reason).status_code == 303
        assert _status(db_session, row_id) == "active"
    refused = first.get(f"/staff/merchants/{merchant_id}").get_data(True)  # Turkish chosen above
    assert "3 ile 1000 karakter arasında bir gerekçe gereklidir." in refused
    assert _post(first, merchant_id, revoke,
                 reason="Passport matches the list").status_code == 303
    assert _status(db_session, row_id) == "revoked"
    event = db_session.exec(select(AuditEvent).where(
        AuditEvent.action == "screening.hit_dismissal_revoked")).one()
    assert (event.merchant_id, event.reason) == (merchant_id, "Passport matches the list")
    db_session.rollback()
    _assess(db_session, db_session.get(Merchant, merchant_id))  # what the queued job does
    page = first.get(f"/staff/merchants/{merchant_id}?lang=en").get_data(True)
    assert "Revoked: Cumhur Yakutlu" in page and "Passport matches the list" in page
    assert "Not this person" in page  # the hit is back, to be decided afresh
    turkish = first.get(f"/staff/merchants/{merchant_id}?lang=tr").get_data(True)
    assert "Geri alındı: Cumhur Yakutlu" in turkish


def test_a_hit_by_an_owners_national_id_is_marked_on_the_sanctions_row(app, staff_client,
                                                                        db_session, tmp_path):
    """Issue #12 (h6): the owner applies under another name; the list carries their national
    id; the row says the identifier is on the list entry (English and Turkish)."""
    listed = {"id": "san-2", "caption": "Mehmet Karaca", "schema": "Person",
              "properties": {"name": ["Mehmet Karaca"], "idNumber": ["10000000146"],
                             "topics": ["sanction"]}}
    path = tmp_path / "ids.jsonl"
    path.write_text(json.dumps(listed) + "\n", encoding="utf-8")
    import_list(db_session, paths=[path], kind="sanctions", name="Test sanctions",
                actor=Actor("cli"), now=NOW)
    merchant = Merchant(legal_name="Anadolu Çiçek A.Ş.", country="TR", status="applied",
                        tier="high")
    person = factories.person(db_session, "Ayşe Yılmaz", dt.date(1984, 5, 2),
                              national_id="10000000146")
    db_session.add_all([merchant, person])
    db_session.flush()
    db_session.add(Ownership(merchant_id=merchant.id, person_id=person.id, share_pct=50))
    db_session.flush()
    with app.app_context():  # the index keys the list's identifiers with the app's data keys
        _assess(db_session, merchant)
    analyst, _ = staff_client("analyst")
    page = analyst.get(f"/staff/merchants/{merchant.id}?lang=en").get_data(True)
    assert "Ayşe Yılmaz" in page and "#san-2" in page and "Identifier on the list entry" in page
    assert "10000000146" not in page
    turkish = analyst.get(f"/staff/merchants/{merchant.id}?lang=tr").get_data(True)
    assert "Kimlik numarası liste kaydında var" in turkish
