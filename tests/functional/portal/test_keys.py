"""API keys in the portal: the token is shown once, sensitive actions need a fresh TOTP code,
the kill switch needs a confirmation, and a merchant only ever reaches its own keys."""

from __future__ import annotations

import re

import pytest
from sqlmodel import Session, select

from app.models import ApiKey, AuditEvent, Merchant, Notification

KEY = {"name": "Web shop", "environment": "test", "ip_whitelist": "203.0.113.10\n203.0.113.0/28",
       "back_urls": "https://anadolucicek.com.tr"}


def create_key(user, **overrides) -> tuple[object, str | None]:
    """POST the new-key form with a fresh code; returns the response and the token shown."""
    resp = user.post_form("/portal/keys/new", {**KEY, "code": user.code(), **overrides})
    match = re.search(r'id="token" class="mono token" type="text" value="([^"]+)"',
                      resp.get_data(True))
    return resp, match.group(1) if match else None


def _key(db_session) -> ApiKey:
    """The only key, read on a short-lived session of its own."""
    with Session(db_session.get_bind(), expire_on_commit=False) as session:
        return session.exec(select(ApiKey)).one()


def test_token_is_shown_once_and_never_again(approved_user, db_session):
    user = approved_user("a@shop.example")
    resp, token = create_key(user)
    assert resp.status_code == 201
    assert resp.headers["Cache-Control"] == "no-store"
    assert token and token.startswith("kyb_test_")
    key = _key(db_session)
    assert token not in key.token_hash
    assert sorted(key.ip_whitelist) == ["203.0.113.0/28", "203.0.113.10/32"]
    for page in ("/portal/keys", f"/portal/keys/{key.id}", f"/portal/keys/{key.id}/rotate",
                 "/portal/notifications", "/portal/activity", "/portal/"):
        assert token not in user.get(page).get_data(True), page
    events = db_session.exec(select(AuditEvent).where(AuditEvent.action == "key.created")).all()
    assert len(events) == 1 and token not in str(events[0].details)
    db_session.commit()


def test_key_creation_needs_a_valid_fresh_code(approved_user, db_session):
    user = approved_user("a@shop.example")
    resp, token = create_key(user, code="000000")
    assert resp.status_code == 422 and token is None
    assert "That code is not valid" in resp.get_data(True)
    assert db_session.exec(select(ApiKey)).all() == []
    db_session.commit()


def test_a_used_code_is_refused_for_a_sensitive_action(approved_user, db_session):
    import pyotp
    user = approved_user("a@shop.example")
    used = pyotp.TOTP(user.secret).generate_otp(user.last_step)
    resp, token = create_key(user, code=used)
    assert resp.status_code == 422 and token is None


def test_invalid_whitelist_lines_are_named_next_to_the_field(approved_user, db_session):
    user = approved_user("a@shop.example")
    resp, token = create_key(user, ip_whitelist="203.0.113.10\nnot-an-ip")
    assert resp.status_code == 422 and token is None
    assert re.search(r'id="ip_whitelist-err">Line 2: ', resp.get_data(True))


def test_a_merchant_not_yet_approved_cannot_create_keys(portal_user, db_session):
    from tests.functional.portal.conftest import apply
    user = portal_user("a@shop.example")
    apply(user, db_session)
    resp, token = create_key(user)
    assert token is None
    assert "Only approved merchants" in resp.get_data(True)


def test_restrictions_are_changed_with_a_fresh_code_and_announced(approved_user, db_session):
    user = approved_user("a@shop.example")
    create_key(user)
    key = _key(db_session)
    resp = user.post_form(f"/portal/keys/{key.id}", {
        "ip_whitelist": "198.51.100.7", "back_urls": "https://shop.anadolucicek.com.tr",
        "code": user.code()})
    assert resp.status_code == 303
    key = _key(db_session)
    assert key.ip_whitelist == ["198.51.100.7/32"]
    assert key.back_urls == ["https://shop.anadolucicek.com.tr"]
    subjects = db_session.exec(select(Notification.subject)).all()
    assert any("restrictions changed" in s for s in subjects)
    db_session.commit()


def test_rotation_shows_the_new_token_once_and_keeps_the_old_for_the_grace(approved_user,
                                                                            db_session):
    user = approved_user("a@shop.example")
    _, old_token = create_key(user)
    key = _key(db_session)
    resp = user.post_form(f"/portal/keys/{key.id}/rotate", {"grace_hours": "2",
                                                            "code": user.code()})
    assert resp.status_code == 201
    new_token = re.search(r'id="token" class="mono token" type="text" value="([^"]+)"',
                          resp.get_data(True)).group(1)
    assert new_token != old_token
    db_session.expire_all()
    old = db_session.get(ApiKey, key.id)
    assert old.rotated_to and (old.grace_until - old.created_at).total_seconds() >= 7200 - 5
    db_session.commit()


@pytest.mark.parametrize("hours", ["25", "-1"])
def test_rotation_grace_is_at_most_24_hours(approved_user, db_session, hours):
    user = approved_user("a@shop.example")
    create_key(user)
    key = _key(db_session)
    resp = user.post_form(f"/portal/keys/{key.id}/rotate", {"grace_hours": hours,
                                                            "code": user.code()})
    assert resp.status_code == 422
    assert _key(db_session).rotated_to is None


def test_freeze_needs_the_confirmation_and_a_fresh_code(approved_user, db_session):
    user = approved_user("a@shop.example")
    keys_page = user.get("/portal/keys").get_data(True)
    assert 'href="/portal/freeze"' in keys_page
    no_box = user.post_form("/portal/freeze", {"code": user.code()})
    assert no_box.status_code == 422
    bad_code = user.post_form("/portal/freeze", {"confirm": "y", "code": "123456"})
    assert bad_code.status_code == 422
    db_session.expire_all()
    assert db_session.get(Merchant, user.merchant_id).frozen is False
    db_session.commit()
    done = user.post_form("/portal/freeze", {"confirm": "y", "code": user.code()})
    assert done.status_code == 303
    db_session.expire_all()
    assert db_session.get(Merchant, user.merchant_id).frozen is True
    db_session.commit()
    assert "All your keys are frozen" in user.get("/portal/keys").get_data(True)
    again = user.post_form("/portal/unfreeze", {"confirm": "y", "code": user.code()})
    assert again.status_code == 303
    db_session.expire_all()
    assert db_session.get(Merchant, user.merchant_id).frozen is False
    actions = db_session.exec(select(AuditEvent.action)).all()
    assert "keys.frozen" in actions and "keys.unfrozen" in actions
    db_session.commit()


def test_revoke_needs_confirmation_and_stops_the_key(approved_user, db_session):
    user = approved_user("a@shop.example")
    create_key(user)
    key = _key(db_session)
    path = f"/portal/keys/{key.id}/revoke"
    assert user.post_form(path, {"code": user.code()}).status_code == 422
    assert user.post_form(path, {"confirm": "y", "code": user.code()}).status_code == 303
    assert _key(db_session).status == "revoked"


@pytest.mark.parametrize("suffix", ["", "/rotate", "/revoke", "/limits"])
def test_another_merchants_key_is_not_found(approved_user, db_session, suffix):
    owner = approved_user("a@shop.example")
    create_key(owner)
    key = _key(db_session)
    other = approved_user("b@other.example", website="https://other-shop.com.tr",
                          email="info@other-shop.com.tr")
    assert other.get(f"/portal/keys/{key.id}{suffix}").status_code == 404
    assert other.get(f"/portal/keys/no-such-key{suffix}").status_code == 404
    page = other.get("/portal/keys").get_data(True)
    resp = other.client.post(f"/portal/keys/{key.id}{suffix or ''}", data={
        "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page).group(1),
        "confirm": "y", "code": other.code(), "ip_whitelist": "192.0.2.1",
        "back_urls": "https://evil.example", "grace_hours": "1", "currency": "TRY",
        "max_amount_per_tx": "1"})
    assert resp.status_code == 404
    unchanged = _key(db_session)
    assert unchanged.status == "active" and unchanged.rotated_to is None
    assert sorted(unchanged.ip_whitelist) == ["203.0.113.0/28", "203.0.113.10/32"]
    assert unchanged.max_amount_per_tx is None


def test_a_user_without_a_merchant_gets_404_on_merchant_pages(portal_user):
    user = portal_user("a@shop.example")
    for page in ("/portal/keys", "/portal/freeze", "/portal/activity", "/portal/notifications",
                 "/portal/respond"):
        assert user.get(page).status_code == 404, page


def test_the_key_page_shows_its_limits_and_a_waiting_increase(approved_user, db_session):
    """R-E5 in the portal: the limits in force, and a requested increase with its time."""
    import datetime as dt
    from decimal import Decimal
    user = approved_user("limits@shop.example")
    create_key(user)
    with Session(db_session.get_bind(), expire_on_commit=False) as session:
        key = session.exec(select(ApiKey)).one()
        key.limit_currency, key.max_amount_per_tx = "TRY", Decimal("500")
        key.allowed_operations = ["sale"]
        key.raised_limits = {"currency": "TRY", "max_amount_per_tx": "5000",
                             "daily_amount": None, "allowed_operations": None}
        key.raised_limits_at = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
        session.add(key)
        session.commit()
    page = user.get(f"/portal/keys/{key.id}").get_data(True)
    assert "500.00 TRY" in page and "5,000.00 TRY" in page
    assert "A limit increase was requested" in page
    assert "sale" in page and "no limit" in page
