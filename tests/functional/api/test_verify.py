"""Token verification: ``POST /api/v1/verify`` and the gateway check ``GET /api/v1/auth`` —
every reason, hostile input, the audit event of each answer (R-B1, R-B3, R-B5, R-B6, R-E5)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa
from sqlmodel import select

from api_keys.tokens import BASE62, generate
from app.dataplane.runtime import wait_idle
from app.models import Alert, AuditEvent
from tests.keys_support import CLIENT_IP, SITE, approved_merchant, issue, verify

PAN = "4111111111111111"


@pytest.fixture
def settings(settings):
    return settings.replace(key_activation_delay=0)


@pytest.fixture
def key(api, db_session) -> dict:
    merchant_id = approved_merchant(api, db_session)
    return issue(api, merchant_id, limits={"currency": "TRY", "max_amount_per_tx": "1000",
                                           "daily_amount": "1500",
                                           "allowed_operations": ["sale", "refund"]})


def _events(app) -> list[dict]:
    with app.extensions["kyb.engine"].connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM audit_event WHERE action = 'api.verify' "
                                    "ORDER BY seq")).mappings().all()
    return [dict(r) for r in rows]


def _flip_checksum(token: str) -> str:
    last = token[-1]
    return token[:-1] + BASE62[(BASE62.index(last) + 1) % 62]


def test_allowed_request_answers_ok_with_its_audit_event(app, api, key):
    body = verify(api, key["token"], operation="sale", amount="250.00", currency="TRY",
                  card_number=PAN, customer_ref="cust-1", destination_ip="203.0.113.10")
    assert body["allowed"] is True and body["reason"] == "ok"
    assert (body["key_id"], body["merchant_id"]) == (key["key_id"], key["merchant_id"])
    (event,) = _events(app)
    assert event["id"] == body["audit_id"]
    assert (event["decision"], event["reason"], event["operation"]) == ("allow", "ok", "sale")
    assert event["card_masked"] == "411111******1111"
    assert (event["source_ip"], event["destination_ip"]) == (CLIENT_IP, "203.0.113.10")
    assert (event["customer_ref"], event["site"], event["currency"]) == ("cust-1", SITE, "TRY")
    assert event["latency_ms"] is not None and event["request_id"]


def test_full_card_number_is_never_stored(app, api, key):
    verify(api, key["token"], card_number="4111 1111 1111 1111", amount="1", currency="TRY",
           operation="sale")
    verify(api, "kyb_live_garbage", card_number=PAN)
    with app.extensions["kyb.engine"].connect() as conn:
        for table in ("audit_event", "api_key", "notification"):
            rows = repr(conn.execute(sa.text(f"SELECT * FROM {table}")).all())  # noqa: S608
            assert PAN not in rows and "4111 1111 1111 1111" not in rows


@pytest.mark.parametrize("mutate", [
    _flip_checksum,
    lambda t: t.replace("kyb_live_", "kyb_prod_"),
    lambda t: t.replace("kyb_live_", "kyb_test_"),  # checksum no longer matches
    lambda t: t[:-1],
    lambda t: t + "A",
    lambda t: t.replace("a", "а", 1) if "a" in t[9:] else "kyb_live_" + "а" * 62,  # Cyrillic
    lambda t: t[:20] + "Ａ" + t[21:],  # full-width A
    lambda t: " " + t,
    lambda t: "",
    lambda t: "x" * 4000,
    lambda t: generate("live").token,  # well-formed, unknown key id
], ids=["checksum", "prefix", "env-swap", "short", "long", "cyrillic", "fullwidth", "space",
        "empty", "huge", "unknown"])
def test_malformed_forged_or_unknown_tokens_are_invalid_and_audited(app, api, key, mutate):
    body = verify(api, mutate(key["token"]))
    assert (body["allowed"], body["reason"], body["key_id"]) == (False, "invalid_token", None)
    assert _events(app)[-1]["id"] == body["audit_id"]


def test_a_right_key_id_with_a_wrong_secret_reveals_nothing(api, key):
    forged = generate("live")
    body = verify(api, forged.token.replace(forged.key_id, key["key_id"]))
    assert (body["reason"], body["merchant_id"]) == ("invalid_token", None)


@pytest.mark.parametrize("client_ip", ["93.184.217.1", "8.8.8.8", "2a00:1450:4002::1",
                                       "not-an-ip", "::ffff:8.8.8.8", ""])
def test_client_ip_outside_the_whitelist_is_refused(api, key, client_ip):
    assert verify(api, key["token"], client_ip=client_ip)["reason"] == "ip_not_allowed"


@pytest.mark.parametrize("client_ip", ["93.184.216.1", "::ffff:93.184.216.34",
                                       "2a00:1450:4001:ff::1"])
def test_client_ip_inside_the_whitelist_is_allowed(api, key, client_ip):
    assert verify(api, key["token"], client_ip=client_ip, operation="sale")["reason"] == "ok"


@pytest.mark.parametrize("site", [
    "javascript:alert(1)", "https://anadolucicek.com.tr@evil.com", "https://evil.com@anadolucicek.com.tr",
    "https://anadolucicek.com.tr.evil.com", "https://evilanadolucicek.com.tr",
    "https://аnadolucicek.com.tr",  # Cyrillic а
    "http://anadolucicek.com.tr", "https://anadolucicek.com.tr:8443", "null", "",
    "https://evil.com\\@anadolucicek.com.tr", "https://" + "a" * 2000 + ".com",
])
def test_foreign_or_hostile_sites_are_refused(api, key, site):
    body = verify(api, key["token"], origin=site)
    assert body["reason"] == "back_url_mismatch", site


@pytest.mark.parametrize("field,site", [("origin", "https://shop.anadolucicek.com.tr"),
                                        ("origin", "https://ANADOLUCICEK.com.tr:443"),
                                        ("back_url", "https://anadolucicek.com.tr/pay?x=1")])
def test_registered_site_and_its_subdomains_are_allowed(api, key, field, site):
    fields = {"origin": None, "operation": "sale"} | {field: site}
    assert verify(api, key["token"], **fields)["reason"] == "ok"


def test_an_oversized_origin_is_a_clear_422(api, key):
    resp = api.post("/api/v1/verify", json={"token": key["token"], "client_ip": CLIENT_IP,
                                            "origin": "https://" + "a" * 3000 + ".com"})
    assert resp.status_code == 422


def test_null_origin_does_not_fall_back_to_back_url(api, key):
    assert verify(api, key["token"], origin="null", back_url=SITE)["reason"] == \
        "back_url_mismatch"


@pytest.mark.parametrize("amount,operation,reason", [
    ("1000.00", "sale", "ok"), ("1000.01", "sale", "limit_exceeded"),
    ("10", "payout", "limit_exceeded"),
])
def test_per_transaction_limit_and_allowed_operations(api, key, amount, operation, reason):
    assert verify(api, key["token"], amount=amount, currency="TRY",
                  operation=operation)["reason"] == reason


@pytest.mark.parametrize("amount", ["-5", "1000000000000", "1e15", "1e20", "0.00001", "NaN",
                                    "Infinity"])
def test_an_amount_out_of_the_transaction_bounds_is_422_and_stores_nothing(
        app, api, key, amount):
    """Issue #13 item 1: the same bounds as transactions (0 <= amount < 10^12, 4 decimals),
    judged at the edge, so no event the database cannot store reaches the audit writer."""
    from tests.functional.api.conftest import table_count
    before = table_count(app, "audit_event")
    resp = api.post("/api/v1/verify", json={
        "token": key["token"], "client_ip": CLIENT_IP, "back_url": SITE, "amount": amount,
        "currency": "TRY", "operation": "sale"})
    assert resp.status_code == 422, resp.get_json()
    assert [e["field"] for e in resp.get_json()["errors"]] == ["amount"]
    assert table_count(app, "audit_event") == before


def test_the_largest_amount_within_bounds_is_judged_by_the_caps(api, key):
    assert verify(api, key["token"], amount="999999999999.9999", currency="TRY",
                  operation="sale")["reason"] == "limit_exceeded"


def test_daily_limit_counts_allowed_amounts_of_today(api, key):
    assert verify(api, key["token"], amount="1000", currency="TRY", operation="sale")["allowed"]
    assert verify(api, key["token"], amount="500.01", currency="TRY",
                  operation="sale")["reason"] == "limit_exceeded"
    assert verify(api, key["token"], amount="500", currency="TRY", operation="sale")["allowed"]
    assert verify(api, key["token"], amount="0.01", currency="TRY",
                  operation="sale")["reason"] == "limit_exceeded"


def test_amount_in_another_currency_cannot_be_judged(api, key):
    assert verify(api, key["token"], amount="1", currency="EUR",
                  operation="sale")["reason"] == "limit_exceeded"


def test_test_key_is_invalid_where_test_keys_are_not_accepted(app, api, db_session):
    merchant_id = approved_merchant(api, db_session)
    test_key = issue(api, merchant_id, environment="test", ip_whitelist=[CLIENT_IP],
                     back_urls=[SITE])
    assert verify(api, test_key["token"])["reason"] == "ok"
    app.extensions.pop("kyb.keys")
    app.extensions["kyb.settings"].accept_test_keys = False
    assert verify(api, test_key["token"])["reason"] == "invalid_token"


def test_live_key_is_invalid_where_only_test_keys_are_accepted(app, api, key):
    app.extensions.pop("kyb.keys", None)
    app.config["KYB_ACCEPT_LIVE_KEYS"] = "0"
    assert verify(api, key["token"])["reason"] == "invalid_token"


@pytest.mark.parametrize("body,status", [
    ({"client_ip": CLIENT_IP}, 422),
    ({"token": "x", "client_ip": CLIENT_IP, "card_number": "4111111111111112"}, 422),
    ({"token": "x", "client_ip": CLIENT_IP, "amount": "ten"}, 422),
    ({"token": "x", "client_ip": CLIENT_IP, "currency": "try"}, 422),
    ({"token": "x", "client_ip": CLIENT_IP, "destination_ip": "10.0.0.1/33"}, 422),
    ({"token": "x", "client_ip": CLIENT_IP, "surprise": 1}, 422),
])
def test_malformed_bodies_are_422_not_500(api, body, status):
    assert api.post("/api/v1/verify", json=body).status_code == status


def test_verify_needs_the_verify_scope(make_api, client, key):
    body = {"token": key["token"], "client_ip": CLIENT_IP, "origin": SITE}
    assert client.post("/api/v1/verify", json=body).status_code == 401
    assert make_api("merchants:read").post("/api/v1/verify", json=body).status_code == 403


# --- the gateway check ---------------------------------------------------------------------

def _auth(client, headers=None, peer="127.0.0.1"):
    return client.get("/api/v1/auth", headers=headers or {},
                      environ_base={"REMOTE_ADDR": peer})


@pytest.fixture
def gateway_app(app):
    app.extensions["kyb.settings"].trusted_proxies = ("127.0.0.1/32",)
    return app


def test_gateway_allows_with_merchant_and_key_headers(gateway_app, client, key):
    resp = _auth(client, {"Authorization": f"Bearer {key['token']}", "Origin": SITE,
                          "X-Forwarded-For": CLIENT_IP, "X-Operation": "sale"})
    assert resp.status_code == 204
    assert (resp.headers["X-Merchant-Id"], resp.headers["X-Key-Id"]) == \
        (key["merchant_id"], key["key_id"])


@pytest.mark.parametrize("headers,status,reason", [
    ({}, 401, "invalid_token"),
    ({"X-Api-Key": "kyb_live_nope"}, 401, "invalid_token"),
    ({"X-Forwarded-For": "8.8.8.8"}, 403, "ip_not_allowed"),
    ({"X-Forwarded-For": "garbage, " + CLIENT_IP + ", nonsense"}, 403, "ip_not_allowed"),
    ({"X-Forwarded-For": ",".join([CLIENT_IP] * 30)}, 403, "ip_not_allowed"),
    ({"X-Forwarded-For": "1" * 10_000}, 403, "ip_not_allowed"),
    ({"Origin": "https://evil.com"}, 403, "back_url_mismatch"),
    ({"Origin": "null"}, 403, "back_url_mismatch"),
    ({"Origin": "https://" + "a" * 10_000}, 403, "back_url_mismatch"),
    ({"Referer": "https://evil.com/x", "Origin": None}, 403, "back_url_mismatch"),
])
def test_gateway_denials_carry_their_reason(gateway_app, client, key, headers, status, reason):
    merged = {"X-Api-Key": key["token"], "Origin": SITE, "X-Forwarded-For": CLIENT_IP,
              "X-Operation": "sale"}
    merged.update(headers)
    merged = {k: v for k, v in merged.items() if v is not None}
    if not headers:
        merged.pop("X-Api-Key")
    resp = _auth(client, merged)
    assert (resp.status_code, resp.headers.get("X-Deny-Reason")) == (status, reason)


def test_forwarding_headers_from_an_untrusted_peer_are_ignored(app, client, key):
    app.extensions["kyb.settings"].gateway_cidrs = ("0.0.0.0/0", "::/0")
    resp = _auth(client, {"X-Api-Key": key["token"], "Origin": SITE,
                          "X-Forwarded-For": CLIENT_IP}, peer="198.51.100.7")
    assert resp.headers["X-Deny-Reason"] == "ip_not_allowed"


def test_gateway_refuses_callers_outside_the_gateway_cidrs(client, key):
    resp = _auth(client, {"X-Api-Key": key["token"]}, peer="93.184.216.34")
    assert (resp.status_code, resp.headers["X-Deny-Reason"]) == (403, "gateway_not_allowed")


def test_every_gateway_answer_has_exactly_one_audit_event(gateway_app, app, client, key):
    headers = {"X-Api-Key": key["token"], "Origin": SITE, "X-Forwarded-For": CLIENT_IP,
               "X-Operation": "sale", "X-Amount": "12.50", "X-Currency": "TRY",
               "X-Customer-Ref": "c-9"}
    answers = [_auth(client, headers), _auth(client, {**headers, "Origin": "https://x.com"}),
               _auth(client, {})]
    events = _events(app)
    assert [e["id"] for e in events] == [a.headers["X-Audit-Id"] for a in answers]
    assert [e["decision"] for e in events] == ["allow", "deny", "deny"]
    assert events[0]["amount"] is not None and events[0]["customer_ref"] == "c-9"


@pytest.mark.parametrize("raw", ["1e20", "99999999999999999999", "NaN", "sNaN", "-1", "ten",
                                 "4111111111111111"])
def test_a_gateway_amount_out_of_bounds_is_refused_and_never_stored(gateway_app, app, client,
                                                                     key, raw):
    """Issue #13 item 1: an ``X-Amount`` no database can store (or no number at all) is a
    ``limit_exceeded`` denial, its event is stored without the value (it could be a card
    number), and the next caller is served as usual."""
    headers = {"X-Api-Key": key["token"], "Origin": SITE, "X-Forwarded-For": CLIENT_IP,
               "X-Operation": "sale", "X-Currency": "TRY"}
    bad = _auth(client, {**headers, "X-Amount": raw})
    assert (bad.status_code, bad.headers["X-Deny-Reason"]) == (403, "limit_exceeded")
    good = _auth(client, {**headers, "X-Amount": "12.50"})
    assert good.status_code == 204
    refused, allowed = _events(app)[-2:]
    details = refused["details"]
    details = json.loads(details) if isinstance(details, str) else details
    assert refused["amount"] is None and raw not in json.dumps(details)
    assert details["amount_problem"].startswith("the amount is not a number")
    assert allowed["amount"] is not None and allowed["decision"] == "allow"


# --- API anomalies (R-B6) -------------------------------------------------------------------

@pytest.mark.parametrize("refs,alerts", [(4, 0), (5, 1), (6, 1)])
def test_one_ip_serving_many_customer_refs_opens_one_alert(app, api, db_session, key, refs,
                                                           alerts):
    for n in range(refs):
        verify(api, key["token"], customer_ref=f"cust-{n}")
    wait_idle(app)
    found = db_session.exec(select(Alert).where(
        Alert.scenario == "api_ip_many_customers")).all()
    assert len(found) == alerts
    if alerts:
        alert = found[0]
        # R-C1: due 3 hours after the day's first call from the IP, not after the opening
        first_call = db_session.exec(select(sa.func.min(AuditEvent.at)).where(
            AuditEvent.action == "api.verify", AuditEvent.source_ip == CLIENT_IP)).one()
        assert alert.occurred_at == first_call <= alert.opened_at
        assert alert.due_at - alert.occurred_at == dt.timedelta(hours=3)
        assert CLIENT_IP in alert.dedupe_key and alert.merchant_id == key["merchant_id"]


@pytest.mark.parametrize("ips,alerts", [(4, 0), (5, 1)])
def test_one_customer_ref_from_many_ips_opens_an_alert(app, api, db_session, key, ips, alerts):
    for n in range(ips):
        verify(api, key["token"], customer_ref="cust-x", client_ip=f"93.184.216.{n + 1}")
    wait_idle(app)
    found = db_session.exec(select(Alert).where(
        Alert.scenario == "api_customer_many_ips")).all()
    assert len(found) == alerts


def test_audit_chain_is_intact_after_verifications(app, api, key):
    for n in range(20):
        verify(api, key["token"], customer_ref=f"r{n % 3}")
    result = app.test_cli_runner().invoke(args=["audit", "verify", "--json"])
    assert result.exit_code == 0, result.output
    with app.extensions["kyb.engine"].connect() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(AuditEvent.__table__)
                             .where(AuditEvent.__table__.c.action == "api.verify")).scalar()
    assert count == 20


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_envoy_style_check_with_the_original_path_and_method(gateway_app, client, key, method):
    headers = {"X-Api-Key": key["token"], "Origin": SITE, "X-Forwarded-For": CLIENT_IP,
               "X-Operation": "sale"}
    resp = client.open("/api/v1/auth/payments/42?x=1", method=method, headers=headers,
                       environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert resp.status_code == 204 and resp.headers["X-Key-Id"] == key["key_id"]
    denied = client.open("/api/v1/auth/payments/42", method=method,
                         headers={**headers, "Origin": "https://evil.com"},
                         environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert (denied.status_code, denied.headers["X-Deny-Reason"]) == (403, "back_url_mismatch")


def test_an_idempotency_key_never_replays_a_verification(app, api, key):
    """Every verification is decided and audited afresh: a replayed ``allowed`` could outlive
    a revocation."""
    headers = {"Idempotency-Key": "same-key-twice"}
    body = {"token": key["token"], "client_ip": CLIENT_IP, "origin": SITE, "operation": "sale"}
    first = api.post("/api/v1/verify", json=body, headers=headers)
    assert api.delete(f"/api/v1/keys/{key['key_id']}").status_code == 204
    second = api.post("/api/v1/verify", json=body, headers=headers)
    assert (first.get_json()["reason"], second.get_json()["reason"]) == ("ok", "key_revoked")
    assert "Idempotent-Replayed" not in second.headers
    assert len({e["id"] for e in _events(app)}) == 2


def test_an_unwritable_audit_journal_answers_503_and_never_allowed(app, settings, api, key,
                                                                    tmp_path):
    """A worker that cannot journal its event (here the journal folder is a file; in life a
    full or read-only disk) never answers: 503, nothing allowed, nothing half-written."""
    from app import create_app
    from tests.conftest import ApiClient
    (tmp_path / "not-a-folder").write_text("x")
    worker = create_app({"TESTING": True}, settings=settings.replace(
        audit_journal_dir=str(tmp_path / "not-a-folder")))
    try:
        worker_api = ApiClient(worker.test_client(), api.token, api.client_id,
                               api.client_secret)
        resp = worker_api.post("/api/v1/verify", json={
            "token": key["token"], "client_ip": CLIENT_IP, "origin": SITE})
        assert resp.status_code == 503
        assert resp.headers["Retry-After"] == "1"
        assert resp.get_json()["type"].endswith("/audit-unavailable")
        assert "allowed" not in resp.get_json()
        ready = worker.test_client().get("/readyz")
        assert (ready.status_code, ready.get_json()["audit_writer"]["status"]) == (
            503, "unreachable")
    finally:
        worker.extensions["kyb.engine"].dispose()
    assert _events(app) == []
