"""CSRF on every portal form, information requests, the API-call log and notifications."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlmodel import Session, select

from app.audit.trail import Actor, record
from app.models import AuditEvent, Merchant, MerchantChange
from app.services.decisions import decide
from tests.functional.portal.conftest import PASSWORD, application_form, apply


@pytest.mark.parametrize("path", ["/portal/signup", "/portal/login", "/portal/apply",
                                  "/portal/freeze", "/portal/unfreeze", "/portal/keys/new",
                                  "/portal/respond", "/portal/logout"])
def test_a_post_without_the_csrf_token_is_refused(approved_user, path, db_session):
    user = approved_user("a@shop.example")
    resp = user.client.post(path, data={"email": "x@shop.example", "password": PASSWORD,
                                        "confirm": "y", "code": user.code(),
                                        **application_form()})
    assert resp.status_code == 400
    merchant = db_session.get(Merchant, user.merchant_id)
    assert merchant.frozen is False
    db_session.commit()


def test_a_post_with_another_sessions_csrf_token_is_refused(approved_user, app):
    user = approved_user("a@shop.example")
    stranger = app.test_client()
    html = stranger.get("/portal/login").get_data(True)
    import re
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html).group(1)
    resp = user.client.post("/portal/freeze", data={"csrf_token": token, "confirm": "y",
                                                    "code": user.code()})
    assert resp.status_code in (400, 422)
    assert "All your keys are frozen" not in user.get("/portal/keys").get_data(True)


def _request_info(db_session: Session, merchant_id: str, reason: str) -> None:
    merchant = db_session.get(Merchant, merchant_id)
    decide(db_session, merchant=merchant, decision="request_info", reason=reason,
           actor=Actor("staff:ali@bank.example"), now=dt.datetime.now(dt.UTC))
    db_session.commit()


def test_an_information_request_is_shown_and_answered_with_an_audited_change(portal_user,
                                                                            db_session):
    user = portal_user("a@shop.example")
    merchant = apply(user, db_session)
    _request_info(db_session, merchant.id, "Please send the phone number of your shop.")
    home = user.get("/portal/").get_data(True)
    assert "Please send the phone number of your shop." in home
    assert "Answer the request" in home
    resp = user.post_form("/portal/respond", {"message": "Our shop phone is below.",
                                              "phone": "+90 216 555 44 33",
                                              "code": user.code()})
    assert resp.status_code == 303
    db_session.expire_all()
    change = db_session.exec(select(MerchantChange)).one()
    assert (change.field, change.reason) == ("phone", "Our shop phone is below.")
    event = db_session.exec(select(AuditEvent).where(
        AuditEvent.action == "merchant.info_provided")).one()
    assert event.actor == f"merchant:{user.id}"  # R-D7: no portal address in the trail
    assert event.details["changed_fields"] == ["phone"]
    db_session.commit()
    assert "Data changed: phone" in user.get("/portal/").get_data(True)


def test_an_answer_without_changes_is_still_audited(portal_user, db_session):
    user = portal_user("a@shop.example")
    merchant = apply(user, db_session)
    _request_info(db_session, merchant.id, "Who are your customers?")
    resp = user.post_form("/portal/respond", {"message": "Florists and hotels in Istanbul.",
                                              "code": user.code()})
    assert resp.status_code == 303
    event = db_session.exec(select(AuditEvent).where(
        AuditEvent.action == "merchant.info_provided")).one()
    assert event.details["message"] == "Florists and hotels in Istanbul."
    db_session.commit()


def test_a_data_change_needs_a_fresh_code(portal_user, db_session):
    user = portal_user("a@shop.example")
    apply(user, db_session)
    resp = user.post_form("/portal/respond", {"message": "New payout account.",
                                              "iban": "TR330006100519786457841326",
                                              "code": "000000"})
    assert resp.status_code == 422
    assert db_session.exec(select(MerchantChange)).all() == []
    db_session.commit()


def test_a_bad_corrected_iban_is_shown_at_the_iban(portal_user, db_session):
    user = portal_user("a@shop.example")
    merchant = apply(user, db_session)
    _request_info(db_session, merchant.id, "Which bank account?")
    resp = user.post_form("/portal/respond", {"message": "New account.",
                                              "iban": "TR000000000000000000000000",
                                              "code": user.code()})
    assert resp.status_code == 422
    assert 'id="iban-err"' in resp.get_data(True)
    assert db_session.exec(select(MerchantChange)).all() == []
    db_session.commit()


def _verification(db_session: Session, merchant_id: str, *, card: str, ip: str) -> None:
    record(db_session, Actor("client:gateway", source_ip=ip).event(
        "api.verify", merchant_id=merchant_id, key_id="key_portaltest",
        operation="sale", amount=Decimal("125.50"), currency="TRY", card_masked=card,
        site="https://anadolucicek.com.tr", decision="deny", reason="ip_not_allowed"))
    db_session.commit()


def test_the_api_call_log_shows_only_own_calls_with_masked_cards(approved_user, db_session):
    user = approved_user("a@shop.example")
    other = approved_user("b@other.example", website="https://other-shop.com.tr",
                          email="info@other-shop.com.tr")
    _verification(db_session, user.merchant_id, card="454360******4242", ip="198.51.100.9")
    _verification(db_session, other.merchant_id, card="552211******9999", ip="192.0.2.77")
    html = user.get("/portal/activity").get_data(True)
    assert "454360******4242" in html and "198.51.100.9" in html and "ip_not_allowed" in html
    assert "125.50 TRY" in html
    assert "552211******9999" not in html and "192.0.2.77" not in html


def test_notifications_list_the_merchants_own_messages(approved_user):
    user = approved_user("a@shop.example")
    other = approved_user("b@other.example", website="https://other-shop.com.tr",
                          email="info@other-shop.com.tr")
    mine = user.get("/portal/notifications").get_data(True)
    assert "Application status: approved" in mine
    assert "info@other-shop.com.tr" not in mine
    assert "finans@anadolucicek.com.tr" not in other.get("/portal/notifications").get_data(True)


def test_pages_are_in_turkish_on_request(approved_user):
    user = approved_user("a@shop.example")
    html = user.get("/portal/keys?lang=tr").get_data(True)
    assert 'lang="tr"' in html
    assert "Tüm anahtarları dondur" in html
