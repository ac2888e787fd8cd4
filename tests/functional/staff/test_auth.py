"""Staff login: password + mandatory TOTP (enrolment on first login), lockout, CSRF, rate
limit, idle timeout, and merchant sessions never passing as staff."""

from __future__ import annotations

import datetime as dt

import pyotp
from freezegun import freeze_time
from sqlmodel import select

from app.models import AuditEvent, StaffUser
from app.web.auth import LOCK_MINUTES, MAX_FAILURES
from tests.functional.staff.conftest import csrf_from, login


def _password_step(client, staff, password=None):
    page = client.get("/staff/login")
    return client.post("/staff/login", data={"email": staff.email,
                                             "password": password or staff.password,
                                             "csrf_token": csrf_from(page.get_data(True))})


def _wrong_code(staff) -> str:
    """A well-formed code that is valid in no step near now."""
    totp, now = pyotp.TOTP(staff.totp_secret), dt.datetime.now(dt.UTC)
    near = {totp.at(now + dt.timedelta(seconds=s)) for s in (-30, 0, 30)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in near)


def test_console_redirects_to_login_when_logged_out(client):
    resp = client.get("/staff/")
    assert resp.status_code == 302
    assert resp.headers["Location"].startswith("/staff/login")


def test_first_login_shows_qr_code_and_enrols_with_a_valid_code(app, client, make_staff,
                                                                  db_session):
    staff = make_staff("new@bank.example", "analyst")
    assert _password_step(client, staff).status_code == 302
    page = client.get("/staff/login/code").get_data(True)
    assert "<svg" in page and 'class="qr"' in page and staff.totp_secret in page
    resp = client.post("/staff/login/code", data={"code": staff.code(),
                                                  "csrf_token": csrf_from(page)})
    assert resp.status_code == 302
    assert client.get("/staff/").status_code == 200
    user = db_session.get(StaffUser, staff.id)
    assert user.mfa_confirmed_at is not None and user.last_totp_step is not None
    assert "staff.login" in db_session.exec(select(AuditEvent.action)).all()


def test_second_login_asks_code_without_qr(app, make_staff):
    staff = make_staff("again@bank.example", "analyst")
    with freeze_time("2026-11-25T10:00:00Z"):
        assert login(app.test_client(), staff).status_code == 302
    with freeze_time("2026-11-25T10:05:00Z"):
        client = app.test_client()
        _password_step(client, staff)
        page = client.get("/staff/login/code").get_data(True)
        assert 'class="qr"' not in page and staff.totp_secret not in page


def test_wrong_totp_code_is_refused(app, client, make_staff):
    staff = make_staff("wrong@bank.example", "analyst")
    resp = login(client, staff, code=_wrong_code(staff))
    assert resp.status_code == 401
    assert "not valid" in resp.get_data(True)
    assert client.get("/staff/").status_code == 302


def test_a_totp_code_works_only_once(app, make_staff):
    staff = make_staff("replay@bank.example", "analyst")
    with freeze_time("2026-11-25T10:00:00Z"):
        code = staff.code()
        assert login(app.test_client(), staff, code=code).status_code == 302
        assert login(app.test_client(), staff, code=code).status_code == 401


def test_code_from_previous_step_is_accepted_but_two_steps_back_is_not(app, make_staff):
    staff = make_staff("drift@bank.example", "analyst")
    at = dt.datetime(2026, 11, 25, 10, 0, 15, tzinfo=dt.UTC)
    totp = pyotp.TOTP(staff.totp_secret)
    with freeze_time(at):
        assert login(app.test_client(), staff,
                     code=totp.at(at - dt.timedelta(seconds=60))).status_code == 401
        assert login(app.test_client(), staff,
                     code=totp.at(at - dt.timedelta(seconds=30))).status_code == 302


def test_account_locks_after_max_failures_even_for_the_right_password(app, client, make_staff,
                                                                      db_session):
    staff = make_staff("lock@bank.example", "analyst")
    with freeze_time("2026-11-25T10:00:00Z"):
        for _ in range(MAX_FAILURES - 1):
            assert _password_step(client, staff, "wrong-password").status_code == 401
        assert db_session.get(StaffUser, staff.id).locked_until is None  # just under
        db_session.rollback()  # end the read: SQLite writers take the lock up front
        resp = _password_step(client, staff, "wrong-password")  # at the limit
        assert "locked" in resp.get_data(True)
        resp = _password_step(client, staff)
        assert resp.status_code == 401 and "locked" in resp.get_data(True)
    with freeze_time(f"2026-11-25T10:{LOCK_MINUTES - 1:02d}:59Z"):
        assert _password_step(client, staff).status_code == 401
    with freeze_time(f"2026-11-25T10:{LOCK_MINUTES:02d}:01Z"):
        assert _password_step(client, staff).status_code == 302


def test_wrong_codes_count_towards_the_lock(app, client, make_staff, db_session):
    staff = make_staff("codes@bank.example", "analyst")
    with freeze_time("2026-11-25T10:00:00Z"):
        _password_step(client, staff)
        for _ in range(MAX_FAILURES):
            page = client.get("/staff/login/code").get_data(True)
            client.post("/staff/login/code", data={"code": _wrong_code(staff), "csrf_token":
                                                   csrf_from(page)})
            if "csrf_token" not in page:
                break
    db_session.expire_all()
    assert db_session.get(StaffUser, staff.id).locked_until is not None


def test_login_form_without_csrf_token_is_refused(client, make_staff):
    staff = make_staff("csrf@bank.example", "analyst")
    resp = client.post("/staff/login", data={"email": staff.email, "password": staff.password})
    assert resp.status_code == 400
    assert "Traceback" not in resp.get_data(True)


def test_decision_without_csrf_token_is_refused(staff_client):
    client, _staff = staff_client("approver")
    resp = client.post("/staff/merchants/mer_x/decisions",
                       data={"decision": "reject", "reason": "fraud"})
    assert resp.status_code == 400


def test_too_many_attempts_from_one_ip_are_rate_limited(app, client, make_staff):
    staff = make_staff("rl@bank.example", "analyst")
    limiter = app.extensions["kyb.login_limiter"]
    limiter.limit = 3
    codes = [_password_step(client, staff, "nope").status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]


def test_session_ends_after_idle_timeout(app, make_staff):
    staff = make_staff("idle@bank.example", "analyst")
    minutes = app.extensions["kyb.settings"].session_minutes
    client = app.test_client()
    start = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC)
    with freeze_time(start) as clock:
        login(client, staff)
        clock.tick(dt.timedelta(minutes=minutes - 1))
        assert client.get("/staff/").status_code == 200  # just under, and it renews
        clock.tick(dt.timedelta(minutes=minutes, seconds=1))
        resp = client.get("/staff/")
        assert resp.status_code == 302 and "/staff/login" in resp.headers["Location"]


def test_merchant_session_id_never_loads_a_staff_user(app, make_staff):
    from app.web.auth import load_user
    staff = make_staff("kind@bank.example", "admin")
    with app.test_request_context():
        assert load_user(f"staff:{staff.id}") is not None
        assert load_user(f"merchant:{staff.id}") is None
        assert load_user(staff.id) is None


def test_login_does_not_follow_offsite_next(app, client, make_staff):
    staff = make_staff("next@bank.example", "analyst")
    page = client.get("/staff/login?next=//evil.example/x")
    client.post("/staff/login?next=//evil.example/x", data={
        "email": staff.email, "password": staff.password,
        "csrf_token": csrf_from(page.get_data(True))})
    page = client.get("/staff/login/code").get_data(True)
    resp = client.post("/staff/login/code", data={"code": staff.code(),
                                                  "csrf_token": csrf_from(page)})
    assert resp.headers["Location"] == "/staff/"


def test_users_list_shows_enrolment(app, make_staff):
    import json
    make_staff("l1@bank.example", "approver")
    result = app.test_cli_runner().invoke(args=["users", "list", "--json"])
    assert result.exit_code == 0
    rows = json.loads(result.output)
    assert rows[0]["email"] == "l1@bank.example" and rows[0]["mfa_enrolled"] is False


def test_users_create_prints_provisioning_uri_and_refuses_duplicates(app):
    import json
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create", "--email", "Dup@Bank.example", "--role",
                                 "admin", "--password", "a-long-password-1", "--json"])
    data = json.loads(result.output)
    assert data["totp_uri"].startswith("otpauth://totp/kybgate:dup%40bank.example")
    assert data["password"] == "a-long-password-1"  # noqa: S105 - test value
    again = runner.invoke(args=["users", "create", "--email", "dup@bank.example", "--role",
                                "admin"])
    assert again.exit_code != 0 and "already exists" in again.output
