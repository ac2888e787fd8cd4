"""Portal accounts' e-mail at rest (issue #13, R-D7): after sign-up, logins (right, wrong,
unknown address) and an application, raw SQL finds the portal address nowhere — not in
``merchant_user`` (a keyed blind index and a sealed value), not in the audit trail (the user is
``merchant:<id>``, an unknown address its mask) — on SQLite and PostgreSQL; the login still
finds the account case-insensitively, and the account's own pages show its address."""

from __future__ import annotations

from app.services.personal_data import mask_contact
from tests.functional.portal.conftest import PASSWORD, apply, csrf_from
from tests.functional.staff.test_sealed_assessments import cells

EMAIL = "sahibe@dukkan.example"


def _login(client, email: str, password: str = PASSWORD):
    page = client.get("/portal/login").get_data(True)
    return client.post("/portal/login", data={"email": email, "password": password,
                                              "csrf_token": csrf_from(page)})


def test_no_table_holds_the_portal_address(app, portal_user, db_session):
    user = portal_user(EMAIL)
    apply(user, db_session)
    client = app.test_client()
    assert _login(client, "  Sahibe@Dukkan.EXAMPLE ").status_code == 302  # normalised
    assert _login(app.test_client(), EMAIL, "wrong password").status_code == 401
    assert _login(app.test_client(), "nobody@dukkan.example").status_code == 401
    for table in ("merchant_user", "audit_event", "notification"):
        text = cells(app, table)
        assert EMAIL not in text and "nobody@dukkan.example" not in text, table
    trail = cells(app, "audit_event")
    assert f"merchant:{user.id}" in trail
    assert f"merchant:{mask_contact('email', 'nobody@dukkan.example')}" in trail
    assert EMAIL in user.get("/portal/").get_data(True)  # its own address, opened for it


def test_signing_up_twice_with_the_same_address_in_other_case_is_refused(app, portal_user):
    portal_user(EMAIL)
    client = app.test_client()
    page = client.get("/portal/signup").get_data(True)
    resp = client.post("/portal/signup", data={"email": EMAIL.upper(), "password": PASSWORD,
                                               "confirm": PASSWORD,
                                               "csrf_token": csrf_from(page)})
    assert resp.status_code == 409
