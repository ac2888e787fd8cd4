"""The portal shows the questions asked from a case and the merchant answers them (R-D5): the
case waits for the answer and resumes when it arrives; another merchant's question is 404."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session, select

from app.audit.trail import Actor
from app.models import Case, InformationRequest, Merchant
from app.services.case_actions import request_information
from app.services.cases import open_case
from checks.policy import load_policy
from tests.functional.portal.conftest import csrf_from

STAFF = Actor(name="staff:analist@bank.example")


def ask(db_session: Session, merchant_id: str, question: str) -> tuple[str, str]:
    merchant = db_session.get(Merchant, merchant_id)
    now = dt.datetime.now(dt.UTC)
    case = open_case(db_session, merchant=merchant, title="Ticket sizes", actor=STAFF, now=now,
                     policy=load_policy(), priority="low")
    row = request_information(db_session, case=case, question=question, actor=STAFF, now=now,
                              policy=load_policy())
    db_session.commit()
    return case.id, row.id


def test_portal_shows_the_question_and_the_answer_resumes_the_case(approved_user, db_session):
    user = approved_user("a@shop.example")
    case_id, request_id = ask(db_session, user.merchant_id,
                              "Lütfen son üç ayın faturalarını gönderin.")
    home = user.get("/portal/").get_data(True)
    assert "Questions from us (1)" in home
    page = user.get("/portal/questions").get_data(True)
    assert "Lütfen son üç ayın faturalarını gönderin." in page
    resp = user.client.post(f"/portal/questions/{request_id}", data={
        "csrf_token": csrf_from(page), "answer": "Faturalar e-posta ile gönderildi."})
    assert resp.status_code == 303
    db_session.expire_all()
    row = db_session.get(InformationRequest, request_id)
    assert (row.status, row.answer) == ("answered", "Faturalar e-posta ile gönderildi.")
    assert row.answered_by == f"merchant:{user.id}"
    assert db_session.get(Case, case_id).status == "investigating"
    db_session.commit()  # end the read: SQLite transactions hold the write lock
    after = user.get("/portal/questions").get_data(True)
    assert "No open questions." in after and "Faturalar e-posta ile gönderildi." in after


def test_another_merchants_question_is_not_found(approved_user, db_session):
    user = approved_user("a@shop.example")
    other = approved_user("b@other.example", website="https://other-shop.com.tr",
                          email="info@other-shop.com.tr")
    _, request_id = ask(db_session, other.merchant_id, "Send the invoices please.")
    page = user.get("/portal/questions").get_data(True)
    assert "Send the invoices please." not in page
    resp = user.client.post(f"/portal/questions/{request_id}", data={
        "csrf_token": csrf_from(page), "answer": "sneaky"})
    assert resp.status_code == 404
    db_session.expire_all()
    assert db_session.exec(select(InformationRequest.status)).one() == "open"


def test_questions_page_in_turkish(approved_user, db_session):
    user = approved_user("a@shop.example")
    ask(db_session, user.merchant_id, "Kargo belgelerini yükleyin.")
    html = user.get("/portal/questions?lang=tr").get_data(True)
    assert "Sizden istediklerimiz" in html and "Yanıtı gönder" in html
