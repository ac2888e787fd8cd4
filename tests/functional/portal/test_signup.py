"""Sign-up with mandatory TOTP enrolment, login with TOTP, logout, idle timeout (R-B2)."""

from __future__ import annotations

import datetime as dt

import pyotp
from sqlmodel import select

from app.models import AuditEvent, MerchantUser
from app.services.personal_data import data_keys
from app.services.portal_users import login_index
from tests.functional.portal.conftest import PASSWORD, csrf_from


def _login(client, email: str, password: str = PASSWORD):
    page = client.get("/portal/login").get_data(True)
    return client.post("/portal/login", data={"email": email, "password": password,
                                              "csrf_token": csrf_from(page)})


def test_signup_shows_a_qr_code_and_the_secret_before_the_first_login(app, clock):
    client = app.test_client()
    page = client.get("/portal/signup").get_data(True)
    resp = client.post("/portal/signup", data={"email": "Owner@Shop.example",
                                               "password": PASSWORD, "confirm": PASSWORD,
                                               "csrf_token": csrf_from(page)})
    assert resp.status_code == 302
    enrol = client.get("/portal/login/code")
    html = enrol.get_data(True)
    assert "<svg" in html and 'class="secret"' in html
    assert client.get("/portal/").status_code == 302  # not logged in before the code


def test_signup_then_totp_logs_in_and_enrols(portal_user, db_session):
    user = portal_user("owner@shop.example")
    home = user.get("/portal/")
    assert home.status_code == 200
    assert "Start the application" in home.get_data(True)
    row = db_session.exec(select(MerchantUser).where(  # R-D7: found by its blind index
        MerchantUser.email == login_index("owner@shop.example", data_keys(db_session)))).one()
    assert "owner@shop.example" not in row.email + row.email_sealed
    assert row.mfa_confirmed_at is not None and row.password_hash.startswith("$argon2id$")
    actions = db_session.exec(select(AuditEvent.action)).all()
    assert {"merchant.signup", "merchant.login"} <= set(actions)


def test_login_asks_for_the_totp_code_and_refuses_a_wrong_one(app, portal_user, db_session):
    user = portal_user("owner@shop.example")
    client = app.test_client()
    assert _login(client, user.email).status_code == 302
    page = client.get("/portal/login/code").get_data(True)
    assert "Enter your authentication code" in page
    wrong = client.post("/portal/login/code", data={"code": "000000",
                                                   "csrf_token": csrf_from(page)})
    assert wrong.status_code == 401
    assert "That code is not valid" in wrong.get_data(True)
    assert client.get("/portal/").status_code == 302
    right = client.post("/portal/login/code", data={"code": user.code(),
                                                   "csrf_token": csrf_from(page)})
    assert right.status_code == 302
    assert client.get("/portal/").status_code == 200
    failed = db_session.exec(select(AuditEvent).where(
        AuditEvent.action == "merchant.login_failed")).all()
    assert failed and failed[0].details["factor"] == "totp"


def test_a_totp_code_works_only_once(app, portal_user):
    user = portal_user("owner@shop.example")
    client = app.test_client()
    _login(client, user.email)
    page = client.get("/portal/login/code").get_data(True)
    used = pyotp.TOTP(user.secret).generate_otp(user.last_step)
    resp = client.post("/portal/login/code", data={"code": used, "csrf_token": csrf_from(page)})
    assert resp.status_code == 401


def test_wrong_password_and_unknown_email_get_the_same_answer(app, portal_user):
    portal_user("owner@shop.example")
    first = _login(app.test_client(), "owner@shop.example", "wrong password!!")
    second = _login(app.test_client(), "nobody@shop.example", "wrong password!!")
    assert first.status_code == second.status_code == 401
    assert "E-mail or password is wrong." in first.get_data(True)
    assert "E-mail or password is wrong." in second.get_data(True)


def test_signup_refuses_a_short_password_and_a_taken_email(app, portal_user):
    portal_user("owner@shop.example")
    client = app.test_client()
    page = client.get("/portal/signup").get_data(True)
    short = client.post("/portal/signup", data={"email": "new@shop.example", "password": "short",
                                                "confirm": "short",
                                                "csrf_token": csrf_from(page)})
    assert short.status_code == 400
    assert "between 12 and 200 characters" in short.get_data(True)
    taken = client.post("/portal/signup", data={"email": "OWNER@shop.example",
                                                "password": PASSWORD, "confirm": PASSWORD,
                                                "csrf_token": csrf_from(page)})
    assert taken.status_code == 409
    assert "An account with this e-mail exists" in taken.get_data(True)


def test_logout_ends_the_session(portal_user):
    user = portal_user("owner@shop.example")
    resp = user.post_form("/portal/logout", {}, page="/portal/")
    assert resp.status_code == 302
    assert user.get("/portal/").status_code == 302


def test_idle_session_ends_after_the_configured_minutes(portal_user, clock, app):
    user = portal_user("owner@shop.example")
    minutes = app.extensions["kyb.settings"].session_minutes
    clock.tick(dt.timedelta(minutes=minutes, seconds=-5))
    assert user.get("/portal/").status_code == 200
    clock.tick(dt.timedelta(minutes=minutes, seconds=5))
    resp = user.get("/portal/")
    assert resp.status_code == 302 and "/portal/login" in resp.headers["Location"]


def test_staff_session_does_not_open_the_portal(app, portal_user):
    from tests.functional.staff.conftest import create_staff, login
    staff = create_staff(app, "ayse@bank.example", "admin")
    client = app.test_client()
    assert login(client, staff).status_code == 302
    assert client.get("/portal/").status_code == 403
