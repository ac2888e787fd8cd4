"""A key's limits in the portal (R-E5; SAMA 004 §15 e, f): a lower limit applies at once, an
increase of a live key waits ``KYB_LIMIT_INCREASE_DELAY`` and the page says when it takes
effect; the API's model judges the values, so bad input is named next to its input and
changes nothing."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from sqlmodel import Session, select

from app.models import ApiKey, AuditEvent
from app.web.filters import when
from tests.functional.portal.test_keys import create_key

DELAY = 86400  # the default KYB_LIMIT_INCREASE_DELAY
LOW = {"currency": "TRY", "max_amount_per_tx": "500", "daily_amount": "20000",
       "allowed_operations": "sale"}


def _key(db_session) -> ApiKey:
    """The only key, read on a short-lived session of its own."""
    with Session(db_session.get_bind(), expire_on_commit=False) as session:
        return session.exec(select(ApiKey)).one()


def _key_changes(db_session) -> int:
    with Session(db_session.get_bind()) as session:
        return len(session.exec(select(AuditEvent).where(
            AuditEvent.action == "key.updated")).all())


def _post_limits(user, key_id: str, **fields: str):
    path = f"/portal/keys/{key_id}/limits"
    return user.post_form(path, {**LOW, "code": user.code(), **fields})


@pytest.fixture
def live_key(approved_user, db_session):
    """A merchant user and its live key (no limits yet)."""
    user = approved_user("limits@shop.example")
    resp, _token = create_key(user, environment="live", ip_whitelist="93.184.216.34")
    assert resp.status_code == 201, resp.get_data(True)
    return user, _key(db_session)


def test_the_key_page_links_to_its_limits_form(live_key):
    user, key = live_key
    page = user.get(f"/portal/keys/{key.id}").get_data(True)
    assert f'href="/portal/keys/{key.id}/limits"' in page
    form = user.get(f"/portal/keys/{key.id}/limits")
    assert form.status_code == 200
    assert 'name="csrf_token"' in form.get_data(True)


def test_lowering_limits_applies_at_once_and_is_audited(live_key, db_session, api):
    user, key = live_key
    resp = _post_limits(user, key.id, allowed_operations="sale, refund")
    assert resp.status_code == 303
    assert resp.headers["Location"].endswith(f"/portal/keys/{key.id}")
    stored = _key(db_session)
    assert (stored.limit_currency, stored.max_amount_per_tx, stored.daily_amount_limit) == (
        "TRY", Decimal("500"), Decimal("20000"))
    assert sorted(stored.allowed_operations) == ["refund", "sale"]
    assert stored.raised_limits is None and stored.raised_limits_at is None
    page = user.get(resp.headers["Location"]).get_data(True)
    assert "the new limits apply now" in page
    assert "500.00 TRY" in page and "20,000.00 TRY" in page and "refund, sale" in page
    assert "A limit increase was requested" not in page
    listed = api.get(f"/api/v1/merchants/{user.merchant_id}/keys").get_json()["items"]
    assert listed[0]["limits"] == {"currency": "TRY", "max_amount_per_tx": "500",
                                   "daily_amount": "20000",
                                   "allowed_operations": ["refund", "sale"]}
    assert listed[0]["limit_increase"] is None
    with Session(db_session.get_bind()) as session:
        event = session.exec(select(AuditEvent).where(
            AuditEvent.action == "key.updated")).one()
    assert event.key_id == key.id and event.actor == f"merchant:{user.id}"
    assert event.details["before"]["limits"]["max_amount_per_tx"] is None
    assert event.details["after"]["limits"]["max_amount_per_tx"] == "500"


def test_an_increase_waits_and_the_page_says_when_it_takes_effect(live_key, db_session, api,
                                                                  app):
    user, key = live_key
    assert _post_limits(user, key.id).status_code == 303
    asked_at = dt.datetime.now(dt.UTC)  # the portal's clock is frozen (ticking) at START
    resp = _post_limits(user, key.id, max_amount_per_tx="5000")
    assert resp.status_code == 303
    stored = _key(db_session)
    assert stored.max_amount_per_tx == Decimal("500")  # still in force
    waited = (stored.raised_limits_at - asked_at).total_seconds()
    assert DELAY - 1 <= waited <= DELAY + 60
    with app.test_request_context():
        effective = when(stored.raised_limits_at)
    page = user.get(resp.headers["Location"]).get_data(True)
    assert f"the limit increase takes effect at {effective}" in page
    assert "A limit increase was requested" in page
    assert "500.00 TRY" in page and "5,000.00 TRY" in page
    listed = api.get(f"/api/v1/merchants/{user.merchant_id}/keys").get_json()["items"]
    assert listed[0]["limits"]["max_amount_per_tx"] == "500"
    assert listed[0]["limit_increase"]["limits"]["max_amount_per_tx"] == "5000"
    assert listed[0]["limit_increase"]["effective_at"] == stored.raised_limits_at.isoformat()
    form = user.get(f"/portal/keys/{key.id}/limits").get_data(True)
    assert f"A limit increase takes effect at {effective}" in form


def test_saving_the_limits_in_force_withdraws_a_waiting_increase(live_key, db_session):
    user, key = live_key
    _post_limits(user, key.id)
    _post_limits(user, key.id, daily_amount="90000")
    assert _key(db_session).raised_limits_at is not None
    assert _post_limits(user, key.id).status_code == 303
    stored = _key(db_session)
    assert stored.raised_limits is None and stored.daily_amount_limit == Decimal("20000")


def test_a_test_key_takes_an_increase_at_once(approved_user, db_session):
    user = approved_user("test-key@shop.example")
    create_key(user)
    key = _key(db_session)
    _post_limits(user, key.id)
    assert _post_limits(user, key.id, max_amount_per_tx="5000").status_code == 303
    stored = _key(db_session)
    assert stored.max_amount_per_tx == Decimal("5000") and stored.raised_limits_at is None


def test_blank_fields_mean_no_limit(live_key, db_session):
    user, key = live_key
    resp = _post_limits(user, key.id, currency="", max_amount_per_tx="", daily_amount="",
                        allowed_operations="")
    assert resp.status_code == 303
    stored = _key(db_session)
    assert stored.limit_currency is None and stored.max_amount_per_tx is None
    assert stored.allowed_operations == []


@pytest.mark.parametrize(("field", "value", "message"), [
    ("max_amount_per_tx", "-5", "Enter an amount above 0"),
    ("max_amount_per_tx", "0", "Enter an amount above 0"),
    ("daily_amount", "abc", "Enter a number"),
    ("daily_amount", "1.23456", "Use at most 4 decimals"),
    ("currency", "XX", "three-letter ISO 4217 currency code"),
    ("currency", "ABC", "three-letter ISO 4217 currency code"),
    ("currency", "", "Amount limits need their currency"),
    ("allowed_operations", "sale, pay now", "“pay now” is not an operation name"),
    ("allowed_operations", "Refund!", "“Refund!” is not an operation name"),
])
def test_bad_input_is_named_next_to_its_field_and_changes_nothing(live_key, db_session, field,
                                                                  value, message):
    user, key = live_key
    resp = _post_limits(user, key.id, **{field: value})
    assert resp.status_code == 422
    html = resp.get_data(True)
    error = re.search(rf'<p class="error" id="{field}-err">([^<]*)</p>', html)
    assert error and message in error.group(1).replace("&#34;", '"'), html
    assert 'aria-invalid="true"' in html
    stored = _key(db_session)
    assert stored.limit_currency is None and stored.max_amount_per_tx is None
    assert stored.daily_amount_limit is None and stored.allowed_operations == []
    assert _key_changes(db_session) == 0


def test_limits_need_a_fresh_code(live_key, db_session):
    user, key = live_key
    resp = _post_limits(user, key.id, code="000000")
    assert resp.status_code == 422
    assert "That code is not valid" in resp.get_data(True)
    assert _key(db_session).max_amount_per_tx is None


def test_a_code_spent_on_a_refused_change_cannot_be_used_again(live_key, db_session):
    user, key = live_key
    code = user.code()
    refused = _post_limits(user, key.id, currency="", code=code)  # the service wants currency
    assert refused.status_code == 422
    replay = _post_limits(user, key.id, code=code)
    assert replay.status_code == 422
    assert _key(db_session).max_amount_per_tx is None


def test_limits_are_refused_without_the_csrf_token(live_key, db_session):
    user, key = live_key
    resp = user.client.post(f"/portal/keys/{key.id}/limits",
                            data={**LOW, "code": user.code()})
    assert resp.status_code == 400
    assert _key(db_session).max_amount_per_tx is None and _key_changes(db_session) == 0


def test_a_revoked_key_cannot_have_its_limits_changed(live_key, db_session):
    user, key = live_key
    assert user.post_form(f"/portal/keys/{key.id}/revoke",
                          {"confirm": "y", "code": user.code()}).status_code == 303
    page = user.get(f"/portal/keys/{key.id}/limits").get_data(True)
    assert "A revoked key cannot be changed." in page and 'name="max_amount_per_tx"' not in page
    resp = user.post_form(f"/portal/keys/{key.id}/limits", {**LOW, "code": user.code()},
                          page="/portal/keys")
    assert resp.status_code == 409
    assert "A revoked key cannot be changed." in resp.get_data(True)
    assert _key(db_session).max_amount_per_tx is None and _key_changes(db_session) == 0


def test_the_limits_page_speaks_turkish(live_key):
    user, key = live_key
    page = user.get(f"/portal/keys/{key.id}/limits?lang=tr").get_data(True)
    assert "Limitleri kaydet" in page and "İşlem başına en yüksek tutar" in page
