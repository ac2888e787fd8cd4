"""Merchant API keys through the JSON API: issue, whitelist/back-URL rules, activation delay,
rotation with grace, revocation, kill switch, merchant suspension and high tier (R-B1, R-B3,
R-E1, R-E4, R-E7)."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from freezegun import freeze_time
from sqlmodel import select

from app.audit.trail import Actor
from app.models import ApiKey, AuditEvent, Merchant, Notification
from app.services import hooks
from tests.keys_support import (
    APPROVER,
    CLIENT_IP,
    add_approver,
    approved_merchant,
    approver_proof,
    issue,
    key_body,
    verify,
)

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def settings(settings):
    """Keys work at once unless a test asks for the activation delay."""
    return settings.replace(key_activation_delay=0)


@pytest.fixture
def merchant_id(api, db_session) -> str:
    return approved_merchant(api, db_session)


def _rows(db_session, statement) -> list:
    """Rows read in a transaction of their own, detached, so no SQLite lock stays held."""
    db_session.rollback()
    rows = list(db_session.exec(statement).all())
    db_session.expunge_all()
    db_session.rollback()
    return rows


def _audit(db_session, action: str) -> list[AuditEvent]:
    return _rows(db_session, select(AuditEvent).where(AuditEvent.action == action)
                 .order_by(AuditEvent.seq))


def _notices(db_session, event: str) -> list[Notification]:
    return _rows(db_session, select(Notification).where(Notification.event == event))


def test_issued_token_is_shown_once_and_stored_only_as_hmac(api, app, merchant_id, db_session):
    body = issue(api, merchant_id, name="web shop")
    token = body["token"]
    assert token.startswith("kyb_live_" + body["key_id"] + "_") and len(token) == 71
    assert body["prefix"] == "kyb_live_" + body["key_id"]
    with app.extensions["kyb.engine"].connect() as conn:
        for table in ("api_key", "audit_event", "notification", "idempotency_record"):
            rows = conn.execute(sa.text(f"SELECT * FROM {table}")).all()  # noqa: S608
            assert token not in repr(rows), table
    listed = api.get(f"/api/v1/merchants/{merchant_id}/keys").get_json()["items"]
    assert [k["key_id"] for k in listed] == [body["key_id"]]
    assert "token" not in listed[0] and "token_hash" not in listed[0]
    created = _audit(db_session, "key.created")
    assert created[0].key_id == body["key_id"] and created[0].details["after"]["name"] == "web shop"


def test_idempotent_replay_of_key_creation_never_shows_the_token_again(api, merchant_id):
    headers = {"Idempotency-Key": "create-key-1"}
    first = api.post(f"/api/v1/merchants/{merchant_id}/keys", json=key_body(), headers=headers)
    again = api.post(f"/api/v1/merchants/{merchant_id}/keys", json=key_body(), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["key_id"] == first.get_json()["key_id"]
    assert again.get_json()["token"] is None and first.get_json()["token"]


@pytest.mark.parametrize("status", ["applied", "suspended", "rejected"])
def test_only_an_approved_merchant_gets_a_key(api, db_session, merchant_id, status):
    merchant = db_session.get(Merchant, merchant_id)
    merchant.status = status
    db_session.add(merchant)
    db_session.commit()
    resp = api.post(f"/api/v1/merchants/{merchant_id}/keys", json=key_body())
    assert resp.status_code == 409
    assert resp.get_json()["code"] == "merchant_not_approved"


def test_live_keys_are_capped_by_policy_and_test_keys_are_not(api, merchant_id):
    for _ in range(5):  # [keys] max_live_keys_per_merchant = 5
        issue(api, merchant_id)
    sixth = api.post(f"/api/v1/merchants/{merchant_id}/keys", json=key_body())
    assert sixth.status_code == 409 and sixth.get_json()["code"] == "too_many_live_keys"
    issue(api, merchant_id, environment="test", ip_whitelist=["10.0.0.0/8"],
          back_urls=["http://localhost:8080"])


@pytest.mark.parametrize("entry", ["10.0.0.1/33", "::1/129", "0.0.0.0/0", "::/0", "10.0.0.0/8",
                                   "127.0.0.1", "169.254.1.0/24", "fe80::/64", "192.168.1.0/24",
                                   "10.0.0.1/24", "not-an-ip", "1.2.3.4%eth0"])
def test_bad_or_non_public_whitelist_entries_are_refused_for_live_keys(api, merchant_id, entry):
    resp = api.post(f"/api/v1/merchants/{merchant_id}/keys",
                    json=key_body(ip_whitelist=["93.184.216.0/24", entry]))
    assert resp.status_code == 422, resp.get_json()
    assert resp.get_json()["errors"][0]["field"] == "ip_whitelist[1]"


def test_private_ranges_are_fine_for_test_keys_and_mapped_v6_is_stored_as_v4(api, merchant_id):
    body = issue(api, merchant_id, environment="test",
                 ip_whitelist=["10.0.0.0/8", "::ffff:93.184.216.34"],
                 back_urls=["http://localhost:8080"])
    assert body["ip_whitelist"] == ["10.0.0.0/8", "93.184.216.34/32"]


@pytest.mark.parametrize("url", ["javascript:alert(1)", "https://shop.com@evil.com",
                                 "http://anadolucicek.com.tr", "https://com", "https://co.uk",
                                 "https://github.io", "https://shоp.com",
                                 "https://anadolucicek.com.tr/checkout", "https://127.0.0.1",
                                 "ftp://anadolucicek.com.tr"])
def test_bad_back_urls_are_refused_for_live_keys(api, merchant_id, url):
    resp = api.post(f"/api/v1/merchants/{merchant_id}/keys", json=key_body(back_urls=[url]))
    assert resp.status_code == 422, (url, resp.get_json())
    assert resp.get_json()["errors"][0]["field"] == "back_urls[0]"


def test_back_urls_are_idna_normalised_and_lower_cased(api, merchant_id):
    body = issue(api, merchant_id, back_urls=["https://ÇİÇEK.Example.COM."])
    assert body["back_urls"] == ["https://xn--iek-0la9dgb.example.com"] or \
        body["back_urls"][0].startswith("https://xn--")
    assert body["back_urls"][0] == body["back_urls"][0].lower()


def test_wide_ranges_work_only_after_an_approver_signs_off(api, db_session, merchant_id):
    add_approver(db_session)
    body = issue(api, merchant_id, ip_whitelist=["93.184.0.0/16"])
    assert body["wide_ranges_pending"] == ["93.184.0.0/16"]
    assert verify(api, body["token"], client_ip="93.184.7.7")["reason"] == "ip_not_allowed"
    bad = api.post(f"/api/v1/keys/{body['key_id']}/approve-wide-ranges",
                   json=approver_proof("nobody@bank.example"))
    assert bad.status_code == 422
    unproven = api.post(f"/api/v1/keys/{body['key_id']}/approve-wide-ranges",
                        json={"approver": APPROVER})
    assert unproven.status_code == 422
    assert unproven.get_json()["errors"][0]["field"] == "approver_otp"
    wrong = api.post(f"/api/v1/keys/{body['key_id']}/approve-wide-ranges",
                     json={"approver": APPROVER, "approver_otp": "000000"})
    assert wrong.status_code == 422 and wrong.get_json()["errors"][0]["code"] == "bad_code"
    assert verify(api, body["token"], client_ip="93.184.7.7")["reason"] == "ip_not_allowed"
    ok = api.post(f"/api/v1/keys/{body['key_id']}/approve-wide-ranges",
                  json=approver_proof())
    assert ok.status_code == 200 and ok.get_json()["wide_ranges_pending"] == []
    assert verify(api, body["token"], client_ip="93.184.7.7")["reason"] == "ok"
    event = _audit(db_session, "key.wide_ranges_approved")[0]
    assert event.details["after"]["wide_ranges_approved_by"] == APPROVER


def test_a_wide_range_given_with_an_approver_works_at_once(api, db_session, merchant_id):
    add_approver(db_session)
    body = issue(api, merchant_id, ip_whitelist=["2a00:1450::/32"], **approver_proof())
    assert verify(api, body["token"], client_ip="2a00:1450:9::1")["reason"] == "ok"


@pytest.mark.parametrize("delay_offset,reason", [(-1, "key_not_yet_active"), (0, "ok")])
def test_new_live_key_waits_for_the_activation_delay(app, api, merchant_id, db_session,
                                                     delay_offset, reason):
    app.extensions["kyb.settings"].key_activation_delay = 600
    with freeze_time(T0):
        body = issue(api, merchant_id)
        assert body["activates_at"] == "2026-03-02T09:10:00Z"
        notices = _notices(db_session, "key.created")
        # R-E7, issue #11: the notice says when the key starts working, in Istanbul time.
        assert "does not work yet: it starts working at 3/2/26, 12:10\u202fPM" in \
            notices[0].body
    with freeze_time(T0 + dt.timedelta(seconds=600 + delay_offset)):
        assert verify(api, body["token"])["reason"] == reason


def test_test_keys_have_no_activation_delay(app, api, merchant_id):
    app.extensions["kyb.settings"].key_activation_delay = 600
    body = issue(api, merchant_id, environment="test", back_urls=["http://localhost:8080"],
                 ip_whitelist=["127.0.0.1"])
    assert verify(api, body["token"], client_ip="127.0.0.1",
                  origin="http://localhost:8080")["reason"] == "ok"


def test_rotated_key_works_until_grace_ends_and_is_expired_one_second_after(api, merchant_id):
    with freeze_time(T0):
        old = issue(api, merchant_id)
        resp = api.post(f"/api/v1/keys/{old['key_id']}/rotate", json={"grace_seconds": 60})
        assert resp.status_code == 201, resp.get_json()
        new = resp.get_json()
        assert new["rotated_from"] == old["key_id"] and new["token"] != old["token"]
    with freeze_time(T0 + dt.timedelta(seconds=59)):
        assert verify(api, old["token"])["reason"] == "ok"
    with freeze_time(T0 + dt.timedelta(seconds=61)):
        assert verify(api, old["token"])["reason"] == "key_expired"
        assert verify(api, new["token"])["reason"] == "ok"
    again = api.post(f"/api/v1/keys/{old['key_id']}/rotate", json={"grace_seconds": 60})
    assert again.status_code == 409


@pytest.mark.parametrize("grace", [-1, 86401, "60"])
def test_rotation_grace_is_at_most_a_day(api, merchant_id, grace):
    old = issue(api, merchant_id)
    resp = api.post(f"/api/v1/keys/{old['key_id']}/rotate", json={"grace_seconds": grace})
    assert resp.status_code == 422


def test_revocation_takes_effect_at_once_and_is_audited_and_notified(api, db_session,
                                                                     merchant_id):
    body = issue(api, merchant_id)
    assert verify(api, body["token"])["reason"] == "ok"  # cached now
    assert api.delete(f"/api/v1/keys/{body['key_id']}").status_code == 204
    assert verify(api, body["token"])["reason"] == "key_revoked"
    assert api.delete(f"/api/v1/keys/{body['key_id']}").status_code == 204
    events = _audit(db_session, "key.revoked")
    assert len(events) == 1
    assert (events[0].details["before"]["status"], events[0].details["after"]["status"]) == \
        ("active", "revoked")
    (note,) = _notices(db_session, "key.revoked")
    assert note.subject == f"API key {body['prefix']} revoked"
    assert "will never work again" in note.body


def test_kill_switch_freezes_every_key_and_unfreeze_restores_them(api, db_session,
                                                                  merchant_id):
    first, second = issue(api, merchant_id), issue(api, merchant_id)
    assert verify(api, first["token"])["reason"] == "ok"
    resp = api.post(f"/api/v1/merchants/{merchant_id}/freeze", json={"reason": "stolen laptop"})
    assert resp.status_code == 200 and resp.get_json()["frozen"] is True
    assert {verify(api, k["token"])["reason"] for k in (first, second)} == {"key_frozen"}
    states = {k["state"] for k in api.get(f"/api/v1/merchants/{merchant_id}/keys")
              .get_json()["items"]}
    assert states == {"frozen"}
    assert api.post(f"/api/v1/merchants/{merchant_id}/unfreeze").get_json()["frozen"] is False
    assert verify(api, first["token"])["reason"] == "ok"
    frozen = _audit(db_session, "keys.frozen")[0]
    assert frozen.reason == "stolen laptop" and frozen.details["after"]["frozen"] is True


def test_a_key_revoked_during_its_merchants_freeze_stays_revoked(api, merchant_id):
    body = issue(api, merchant_id)
    api.post(f"/api/v1/merchants/{merchant_id}/freeze")
    api.delete(f"/api/v1/keys/{body['key_id']}")
    assert verify(api, body["token"])["reason"] == "key_revoked"
    api.post(f"/api/v1/merchants/{merchant_id}/unfreeze")
    assert verify(api, body["token"])["reason"] == "key_revoked"


def test_suspending_the_merchant_blocks_its_keys_at_once(api, db_session, merchant_id):
    add_approver(db_session)
    body = issue(api, merchant_id)
    assert verify(api, body["token"])["reason"] == "ok"
    resp = api.post(f"/api/v1/merchants/{merchant_id}/decisions",
                    json={"decision": "suspend", "reason": "Chargebacks", **approver_proof()})
    assert resp.status_code == 201, resp.get_json()
    assert verify(api, body["token"])["reason"] == "merchant_not_active"
    blocked = _audit(db_session, "keys.blocked")[0]
    assert blocked.details["after"] == {"status": "suspended"}


def test_reassessment_to_high_tier_blocks_keys_until_a_high_tier_approval(app, api, db_session,
                                                                          merchant_id):
    body = issue(api, merchant_id)
    assert verify(api, body["token"])["reason"] == "ok"
    with app.app_context():
        merchant = db_session.get(Merchant, merchant_id)
        merchant.tier = "high"
        hooks.tier_changed(db_session, merchant=merchant, old_tier="low", new_tier="high",
                           assessment=None, actor=Actor("system:test"), now=dt.datetime.now(dt.UTC))
        db_session.add(merchant)
        db_session.commit()
    assert verify(api, body["token"])["reason"] == "merchant_not_active"
    assert _audit(db_session, "keys.blocked")[0].details["after"] == {"tier": "high"}


def test_changing_restrictions_notifies_old_and_new_values(api, db_session, merchant_id):
    body = issue(api, merchant_id)
    resp = api.patch(f"/api/v1/keys/{body['key_id']}",
                     json={"back_urls": ["https://shop.anadolucicek.com.tr"],
                           "limits": {"currency": "TRY", "max_amount_per_tx": "500"}})
    assert resp.status_code == 200, resp.get_json()
    (note,) = _notices(db_session, "key.updated")
    assert "https://anadolucicek.com.tr → https://shop.anadolucicek.com.tr" in note.body
    assert verify(api, body["token"])["reason"] == "back_url_mismatch"
    assert verify(api, body["token"], origin="https://shop.anadolucicek.com.tr", amount="501",
                  currency="TRY")["reason"] == "limit_exceeded"


def test_unknown_key_and_merchant_are_404(api):
    assert api.delete("/api/v1/keys/nope").status_code == 404
    assert api.post("/api/v1/merchants/mer_nope/keys", json=key_body()).status_code == 404


def test_key_routes_need_the_keys_scopes(make_api, merchant_id):
    reader = make_api("merchants:read")
    assert reader.post(f"/api/v1/merchants/{merchant_id}/keys",
                       json=key_body()).status_code == 403
    assert reader.get(f"/api/v1/merchants/{merchant_id}/keys").status_code == 403


def test_usage_counters_follow_allowed_verifications(api, db_session, merchant_id):
    body = issue(api, merchant_id)
    for _ in range(3):
        verify(api, body["token"])
    verify(api, body["token"], client_ip="8.8.8.8")
    (key,) = _rows(db_session, select(ApiKey).where(ApiKey.id == body["key_id"]))
    assert (key.use_count, key.last_used_ip) == (3, CLIENT_IP)
