"""``/api/v1/blacklist``: add, list and remove, scopes and bad input."""

from __future__ import annotations

import pytest
from sqlmodel import select

from app.models import AuditEvent, BlacklistEntry
from app.services.blacklist import merchant_hits
from app.services.merchants import get_merchant
from tests.factories import TCKN, application


def test_added_values_are_normalised_and_listed(api):
    resp = api.post("/api/v1/blacklist", json={"kind": "email", "value": "Fraud@Example.COM",
                                               "reason": "chargeback ring"})
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["value"] == "Fraud@example.com"
    domain = api.post("/api/v1/blacklist", json={"kind": "domain",
                                                 "value": "https://shop.kotu-site.com.tr/x",
                                                 "reason": "phishing front"})
    assert domain.get_json()["value"] == "kotu-site.com.tr"
    listed = api.get("/api/v1/blacklist").get_json()["items"]
    assert {e["kind"] for e in listed} == {"email", "domain"}
    only = api.get("/api/v1/blacklist?kind=domain").get_json()["items"]
    assert [e["kind"] for e in only] == ["domain"]


def test_adding_twice_returns_the_entry(api):
    body = {"kind": "ip", "value": "203.0.113.9", "reason": "botnet"}
    first = api.post("/api/v1/blacklist", json=body)
    second = api.post("/api/v1/blacklist", json=body)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.get_json()["id"] == second.get_json()["id"]


def test_a_national_id_is_stored_only_hashed_and_masked(api, db_session):
    resp = api.post("/api/v1/blacklist", json={"kind": "national_id", "value": TCKN[0],
                                               "reason": "identity fraud"})
    assert resp.get_json()["value"] == "*******0146"
    row = db_session.exec(select(BlacklistEntry)).one()
    assert TCKN[0] not in row.value_key and TCKN[0] not in row.value


def test_merchant_attributes_on_the_blacklist_are_hits(api, db_session):
    merchant_id = api.post("/api/v1/merchants", json=application()).get_json()["id"]
    for kind, value in (("iban", "TR33 0006 1005 1978 6457 8413 26"),
                        ("national_id", TCKN[1]), ("phone", "+90 212 555 01 23")):
        assert api.post("/api/v1/blacklist", json={"kind": kind, "value": value,
                                                   "reason": "fraud"}).status_code == 201
    hits = merchant_hits(db_session, merchant=get_merchant(db_session, merchant_id))
    assert {h.kind for h in hits} == {"iban", "national_id", "phone"}


def test_removal_needs_a_reason_and_is_audited(api, db_session):
    entry = api.post("/api/v1/blacklist", json={"kind": "iban",
                                                "value": "TR330006100519786457841326",
                                                "reason": "mule"}).get_json()
    no_reason = api.delete(f"/api/v1/blacklist/{entry['id']}")
    assert no_reason.status_code == 422
    assert no_reason.get_json()["errors"][0]["field"] == "reason"
    resp = api.delete(f"/api/v1/blacklist/{entry['id']}?reason=cleared+by+bank")
    assert resp.status_code == 200 and resp.get_json()["removed_at"]
    assert api.delete(f"/api/v1/blacklist/{entry['id']}?reason=again").status_code == 404
    assert api.get("/api/v1/blacklist").get_json()["items"] == []
    assert len(api.get("/api/v1/blacklist?include_removed=true").get_json()["items"]) == 1
    actions = db_session.exec(select(AuditEvent.action)).all()
    assert "blacklist.added" in actions and "blacklist.removed" in actions


@pytest.mark.parametrize(("body", "field"), [
    ({"kind": "colour", "value": "red", "reason": "nope"}, "kind"),
    ({"kind": "iban", "value": "TR00 not an iban", "reason": "bad"}, "value"),
    ({"kind": "ip", "value": "999.1.1.1", "reason": "bad"}, "value"),
    ({"kind": "email", "value": "x@y.com", "reason": ""}, "reason"),
    ({"kind": "email", "reason": "missing value"}, "value"),
])
def test_bad_input_is_422_naming_the_field(api, body, field):
    resp = api.post("/api/v1/blacklist", json=body)
    assert resp.status_code == 422, resp.get_json()
    assert field in [e["field"] for e in resp.get_json()["errors"]]


def test_scopes(make_api):
    reader = make_api("merchants:read")
    body = {"kind": "ip", "value": "203.0.113.9", "reason": "botnet"}
    assert reader.post("/api/v1/blacklist", json=body).status_code == 403
    assert reader.get("/api/v1/blacklist").status_code == 200
    nobody = make_api("verify")
    assert nobody.get("/api/v1/blacklist").status_code == 403


def test_cli_blacklist_add_list_remove(app):
    runner = app.test_cli_runner()
    added = runner.invoke(args=["blacklist", "add", "email", "bad@example.com",
                                "--reason", "fraud"])
    assert added.exit_code == 0, added.output
    entry_id = added.output.split()[1]
    assert "bad@example.com" in runner.invoke(args=["blacklist", "list"]).output
    removed = runner.invoke(args=["blacklist", "remove", entry_id, "--reason", "cleared"])
    assert removed.exit_code == 0, removed.output
    assert "empty" in runner.invoke(args=["blacklist", "list"]).output
