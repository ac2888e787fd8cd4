"""``POST /api/v1/merchants/{id}/screening/dismissals`` (issue #12 item 3): a back office
dismisses a hit on behalf of a proven approver; an OAuth client alone is refused; a strong hit
waits for a second, different approver's confirmation (four eyes)."""

from __future__ import annotations

import datetime as dt
import json

import pyotp
from sqlmodel import select

from app.audit.trail import Actor
from app.models import AuditEvent, Merchant, Ownership, Person, StaffUser
from app.services.personal_data import data_keys, seal_person
from app.services.screening import import_list
from tests import factories
from tests.sealed_support import checks_of

NOW = dt.datetime(2026, 11, 27, 10, tzinfo=dt.UTC)
STAFF = {"ayse@bank.example": "approver", "can@bank.example": "approver",
         "deniz@bank.example": "approver", "ebru@bank.example": "admin",
         "filiz@bank.example": "approver"}
SECRETS = {email: pyotp.random_base32() for email in STAFF}
LISTED = {"id": "san-1", "caption": "Cumhur Yakutlu", "schema": "Person",
          "properties": {"name": ["Cumhur Yakutlu"], "birthDate": ["1960-05-01"],
                         "nationality": ["tr"], "topics": ["sanction"]}}
HIT = {"subject_role": "owner", "subject": "Cumhur Yakutlu", "list_name": "Test sanctions",
       "entry_id": "san-1", "reason": "Different person, passport checked"}


def _seed(session, tmp_path) -> str:
    path = tmp_path / "listed.jsonl"
    path.write_text(json.dumps(LISTED) + "\n", encoding="utf-8")
    import_list(session, paths=[path], kind="sanctions", name="Test sanctions",
                actor=Actor("cli"), now=NOW)
    merchant = Merchant(legal_name="Anadolu Çiçek A.Ş.", country="TR", status="applied")
    person = factories.person(session, "Cumhur Yakutlu", dt.date(1960, 5, 1))
    session.add_all([merchant, person])
    session.flush()
    session.add(Ownership(merchant_id=merchant.id, person_id=person.id, share_pct=50))
    for email, role in STAFF.items():
        session.add(StaffUser(email=email, role=role, password_hash="x",
                              totp_secret=SECRETS[email]))
    session.commit()
    return merchant.id


def _proof(email: str) -> dict:
    return {"approver": email, "approver_otp": pyotp.TOTP(SECRETS[email]).now()}


def test_a_strong_hit_dismissed_through_the_api_needs_two_approvers(api, db_session, tmp_path):
    merchant_id = _seed(db_session, tmp_path)
    url = f"/api/v1/merchants/{merchant_id}/screening/dismissals"
    alone = api.post(url, json=HIT)
    assert alone.status_code == 409 and alone.get_json()["type"].endswith("person_required")

    first = api.post(url, json={**HIT, **_proof("ayse@bank.example")})
    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    assert (body["status"], body["strong"], body["dismissed_by"]) == (
        "pending", True, "staff:ayse@bank.example")
    confirmed = api.post(f"{url}/{body['id']}/confirm", json=_proof("can@bank.example"))
    assert confirmed.status_code == 200, confirmed.get_json()
    assert (confirmed.get_json()["status"], confirmed.get_json()["confirmed_by"]) == (
        "active", "staff:can@bank.example")
    assert api.post(f"{url}/nope/confirm", json={}).status_code == 404
    actions = db_session.exec(select(AuditEvent.action).where(
        AuditEvent.merchant_id == merchant_id, AuditEvent.action.not_like("personal_data.%"))
        .order_by(AuditEvent.seq)).all()
    assert list(actions) == ["screening.hit_dismissed", "screening.hit_dismissal_confirmed"]


def test_the_body_is_checked_field_by_field(api, db_session, tmp_path):
    merchant_id = _seed(db_session, tmp_path)
    resp = api.post(f"/api/v1/merchants/{merchant_id}/screening/dismissals",
                    json={**HIT, "subject_role": "cousin", "reason": "x"})
    assert resp.status_code == 422
    assert {e["field"] for e in resp.get_json()["errors"]} == {"subject_role", "reason"}


def _latest(db_session, merchant_id: str):
    from app.models import Assessment
    db_session.expire_all()
    merchant = db_session.get(Merchant, merchant_id)
    latest = db_session.get(Assessment, merchant.latest_assessment_id)
    seen = (latest.id, latest.trigger, {c["code"]: c for c in checks_of(latest)})
    db_session.rollback()  # end the read: SQLite's requests and jobs write next
    return seen


def test_a_confirmed_dismissal_queues_a_rescreen_that_the_page_then_shows(app, api,
                                                                          db_session,
                                                                          tmp_path):
    """R-D2: an active decision re-assesses the merchant through a job queued after the
    commit (not at the next assessment only); a pending one queues nothing; a repeat is a
    no-op."""
    from app.jobs import job_queue, run_queued_jobs
    from app.models import ScreeningDismissal
    from app.services.screening_decisions import rescreen_after_dismissal
    merchant_id = _seed(db_session, tmp_path)
    assert api.post(f"/api/v1/merchants/{merchant_id}/assessments").status_code == 201
    run_queued_jobs(app)
    before, _, checks = _latest(db_session, merchant_id)
    assert checks["sanctions_pep"]["status"] == "fail"
    url = f"/api/v1/merchants/{merchant_id}/screening/dismissals"
    first = api.post(url, json={**HIT, **_proof("ayse@bank.example")}).get_json()
    assert job_queue(app).pending_count() == 0  # pending four eyes: nothing to show yet
    assert api.post(f"{url}/{first['id']}/confirm",
                    json=_proof("can@bank.example")).status_code == 200
    assert [type(t).__name__ for t in job_queue(app).pending()] == \
        ["rescreen_after_dismissal"]
    assert _latest(db_session, merchant_id)[0] == before  # nothing on the request
    assert run_queued_jobs(app) == ["rescreen_after_dismissal"]
    _, trigger, checks = _latest(db_session, merchant_id)
    assert trigger == "screening hit dismissed"
    screening = checks["sanctions_pep"]  # "unknown": no PEP list is loaded in this test
    assert screening["status"] == "unknown" and screening["evidence"]["strong"] == []
    assert [h["entry_id"] for h in screening["evidence"]["dismissed"]] == ["san-1"]
    with app.app_context():
        again = rescreen_after_dismissal(db_session, merchant_id=merchant_id,
                                         dismissal_id=first["id"], actor=Actor("job:test"),
                                         now=dt.datetime.now(dt.UTC))
        db_session.rollback()
    assert again is None
    assert db_session.get(ScreeningDismissal, first["id"]).status == "active"


def test_a_possible_hits_dismissal_is_active_at_once_and_queues_the_rescreen(app, api,
                                                                              db_session,
                                                                              tmp_path):
    from app.jobs import job_queue, run_queued_jobs
    merchant_id = _seed(db_session, tmp_path)
    person = db_session.exec(select(Person)).one()
    # contradicts the entry's birth date: a possible hit
    seal_person(person, full_name="Cumhur Yakutlu", birth_date=dt.date(1980, 1, 1),
                national_id=None, keys=data_keys(db_session))
    db_session.add(person)
    db_session.commit()
    assert api.post(f"/api/v1/merchants/{merchant_id}/assessments").status_code == 201
    run_queued_jobs(app)
    assert _latest(db_session, merchant_id)[2]["sanctions_pep"]["evidence"]["possible"]
    resp = api.post(f"/api/v1/merchants/{merchant_id}/screening/dismissals",
                    json={**HIT, **_proof("ayse@bank.example")})
    assert resp.status_code == 201 and resp.get_json()["status"] == "active"
    assert [type(t).__name__ for t in job_queue(app).pending()] == \
        ["rescreen_after_dismissal"]
    assert run_queued_jobs(app) == ["rescreen_after_dismissal"]
    _, trigger, checks = _latest(db_session, merchant_id)
    assert trigger == "screening hit dismissed"
    assert checks["sanctions_pep"]["evidence"]["possible"] == []
    assert checks["sanctions_pep"]["evidence"]["dismissed"][0]["entry_id"] == "san-1"


def test_a_revoked_dismissal_raises_the_hit_again_after_the_rescreen(app, api, db_session,
                                                                     tmp_path):
    """Issue #12 (h6): one proven approver revokes a confirmed strong-hit dismissal with a
    reason (no second approver needed); an OAuth client alone, a missing reason and a second
    revocation are refused; audited; the queued re-screen counts the hit again."""
    from app.jobs import job_queue, run_queued_jobs
    merchant_id = _seed(db_session, tmp_path)
    assert api.post(f"/api/v1/merchants/{merchant_id}/assessments").status_code == 201
    run_queued_jobs(app)
    url = f"/api/v1/merchants/{merchant_id}/screening/dismissals"
    first = api.post(url, json={**HIT, **_proof("ayse@bank.example")}).get_json()
    assert api.post(f"{url}/{first['id']}/confirm",
                    json=_proof("can@bank.example")).status_code == 200
    run_queued_jobs(app)
    assert _latest(db_session, merchant_id)[2]["sanctions_pep"]["evidence"]["strong"] == []

    revoke = f"{url}/{first['id']}/revoke"
    alone = api.post(revoke, json={"reason": "New evidence: same passport number"})
    assert alone.status_code == 409 and alone.get_json()["type"].endswith("approver_required")
    short = api.post(revoke, json={"reason": "x"})
    assert short.status_code == 422
    assert [e["field"] for e in short.get_json()["errors"]] == ["reason"]
    assert api.post(f"{url}/nope/revoke", json={"reason": "whatever"}).status_code == 404
    done = api.post(revoke, json={"reason": "New evidence: same passport number",
                                  **_proof("deniz@bank.example")})
    assert done.status_code == 200, done.get_json()
    body = done.get_json()
    assert (body["status"], body["revoked_by"], body["revoke_reason"]) == (
        "revoked", "staff:deniz@bank.example", "New evidence: same passport number")
    again = api.post(revoke, json={"reason": "twice", **_proof("ebru@bank.example")})
    assert again.status_code == 409 and again.get_json()["type"].endswith("already_revoked")

    assert [type(t).__name__ for t in job_queue(app).pending()] == \
        ["rescreen_after_dismissal"]
    assert run_queued_jobs(app) == ["rescreen_after_dismissal"]
    _, trigger, checks = _latest(db_session, merchant_id)
    assert trigger == "screening dismissal revoked"
    evidence = checks["sanctions_pep"]["evidence"]
    assert [h["entry_id"] for h in evidence["strong"]] == ["san-1"]
    assert evidence.get("dismissed", []) == []
    events = db_session.exec(select(AuditEvent).where(
        AuditEvent.merchant_id == merchant_id,
        AuditEvent.action == "screening.hit_dismissal_revoked")).all()
    assert [(e.actor, e.reason) for e in events] == [
        ("staff:deniz@bank.example", "New evidence: same passport number")]
    db_session.rollback()
    # The hit can be decided afresh.
    fresh = api.post(url, json={**HIT, **_proof("filiz@bank.example")})
    assert fresh.status_code == 201 and fresh.get_json()["status"] == "pending"
