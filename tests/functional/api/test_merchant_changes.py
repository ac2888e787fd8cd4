"""``PATCH /api/v1/merchants/{id}``: each change of an IBAN, website, owners or contact is kept
with its old and new value, actor and reason; IBAN history rows are kept; the merchant is
notified through the outbox; an audit event is written. Identity fields may not change."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from app.models import AuditEvent, BankAccount, MerchantChange, Notification
from app.services.personal_data import MERCHANT_FIELDS, mask_contact
from tests.factories import TCKN
from tests.sealed_support import notice_content

from .conftest import NOT_DISCLOSURE, table_count

NEW_IBAN = "TR340001000000000001234567"
OLD_IBAN = "TR330006100519786457841326"


def _rows(app, model, **where):
    with Session(app.extensions["kyb.engine"]) as session:
        stmt = select(model)
        for name, value in where.items():
            stmt = stmt.where(getattr(model, name) == value)
        return session.exec(stmt).all()


def _kept(field: str, value: str) -> str:
    """A value as the history and the audit trail keep it: an e-mail or phone masked (R-D7)."""
    return mask_contact(field, value) if field in MERCHANT_FIELDS else value


def _patch(api, merchant_id: str, **body):
    return api.patch(f"/api/v1/merchants/{merchant_id}", json=body)


NEW_OWNERS = [{"full_name": "Zeynep Öztürk", "national_id": TCKN[2],
               "birth_date": "1990-01-31", "nationality": "TR", "share_pct": "100"}]

# (field, PATCH body value, expected old value, expected new value or a fragment of it)
CHANGES = [
    ("iban", NEW_IBAN, OLD_IBAN, NEW_IBAN),
    ("website", "https://yenicicek.com.tr", "https://anadolucicek.com.tr/",
     "https://yenicicek.com.tr/"),
    ("email", "muhasebe@anadolucicek.com.tr", "finans@anadolucicek.com.tr",
     "muhasebe@anadolucicek.com.tr"),
    ("phone", "+90 216 555 44 33", "+902125550123", "+902165554433"),
    # owners are kept by person id and masked national id, never by name (R-D7: the change
    # history and the audit trail cannot be purged when the retention period ends)
    ("owners", NEW_OWNERS, "*******" + TCKN[0][-4:], "*******" + TCKN[2][-4:]),
]


@pytest.mark.parametrize(("field", "value", "old", "new"), CHANGES,
                         ids=[c[0] for c in CHANGES])
def test_change_is_kept_with_old_and_new_value_actor_and_reason(app, api, create_merchant,
                                                                field, value, old, new):
    merchant = create_merchant()
    resp = _patch(api, merchant["id"], **{field: value, "reason": "merchant asked by phone"})
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    [change] = body["changes"]
    assert change["field"] == field
    assert _kept(field, old) in change["old_value"] and _kept(field, new) in change["new_value"]
    [row] = _rows(app, MerchantChange, merchant_id=merchant["id"])
    assert (row.field, row.reason) == (field, "merchant asked by phone")
    assert _kept(field, old) in row.old_value and _kept(field, new) in row.new_value
    if field in MERCHANT_FIELDS:  # kept masked; the full values stay sealed
        assert old not in row.old_value and new not in row.new_value
    assert row.actor == f"client:{api.client_id}"
    assert row.at.tzinfo is not None


@pytest.mark.parametrize(("field", "value", "old", "new"), CHANGES,
                         ids=[c[0] for c in CHANGES])
def test_change_queues_a_notification_with_old_and_new_value(app, api, create_merchant,
                                                            field, value, old, new):
    merchant = create_merchant()
    _patch(api, merchant["id"], **{field: value, "reason": "merchant asked by phone"})
    notes = _rows(app, Notification, merchant_id=merchant["id"])
    assert notes, "no notification queued"
    for note in notes:
        assert note.event == "merchant.changed" and note.sent_at is None
        full = notice_content(app, note)  # R-D7: the values are sealed, the mail carries them
        [item] = full["payload"]["changes"]
        assert item["field"] == field
        assert old in item["old"] and new in item["new"]
        assert old in full["body"] and new in full["body"]


@pytest.mark.parametrize(("field", "value", "old", "new"), CHANGES,
                         ids=[c[0] for c in CHANGES])
def test_change_writes_one_audit_event(app, api, create_merchant, field, value, old, new):
    merchant = create_merchant()
    events_before = table_count(app, "audit_event", NOT_DISCLOSURE)
    _patch(api, merchant["id"], **{field: value, "reason": "merchant asked by phone"})
    events = _rows(app, AuditEvent, action="merchant.changed")
    assert table_count(app, "audit_event", NOT_DISCLOSURE) == events_before + 1
    [event] = events
    assert event.merchant_id == merchant["id"]
    assert event.actor == f"client:{api.client_id}"
    assert event.details["reason"] == "merchant asked by phone"
    [item] = event.details["changes"]
    assert item["field"] == field
    assert _kept(field, old) in item["old"] and _kept(field, new) in item["new"]


def test_email_change_is_also_announced_to_the_old_address(app, api, create_merchant):
    merchant = create_merchant()
    _patch(api, merchant["id"], email="muhasebe@anadolucicek.com.tr", reason="new accountant")
    recipients = {notice_content(app, n)["recipient"]
                  for n in _rows(app, Notification, merchant_id=merchant["id"])}
    assert recipients == {"finans@anadolucicek.com.tr", "muhasebe@anadolucicek.com.tr"}


def test_iban_change_keeps_bank_account_history(app, api, create_merchant):
    merchant = create_merchant()
    _patch(api, merchant["id"], iban=NEW_IBAN, reason="bank moved")
    _patch(api, merchant["id"], iban=OLD_IBAN, reason="moved back")
    accounts = sorted(_rows(app, BankAccount, merchant_id=merchant["id"]),
                      key=lambda a: (a.added_at, a.replaced_at is None))
    assert [a.iban for a in accounts] == [OLD_IBAN, NEW_IBAN, OLD_IBAN]
    assert [a.replaced_at is None for a in accounts] == [False, False, True]
    assert [a.reason for a in accounts] == ["application", "bank moved", "moved back"]
    assert all(a.added_by == f"client:{api.client_id}" for a in accounts)
    got = api.get(f"/api/v1/merchants/{merchant['id']}").get_json()
    assert got["iban"] == OLD_IBAN


def test_several_fields_in_one_patch_are_each_recorded(app, api, create_merchant):
    merchant = create_merchant()
    resp = _patch(api, merchant["id"], iban=NEW_IBAN, website="https://yenicicek.com.tr",
                  reason="relaunch")
    assert sorted(c["field"] for c in resp.get_json()["changes"]) == ["iban", "website"]
    assert len(_rows(app, MerchantChange, merchant_id=merchant["id"])) == 2
    assert len(_rows(app, AuditEvent, action="merchant.changed")) == 1


def test_patch_with_unchanged_values_records_nothing(app, api, create_merchant, stored):
    merchant = create_merchant()
    before = stored()
    resp = _patch(api, merchant["id"], iban=OLD_IBAN, email="finans@anadolucicek.com.tr",
                  reason="no-op")
    assert resp.status_code == 200
    assert resp.get_json()["changes"] == []
    assert stored() == before
    assert _rows(app, MerchantChange) == [] and _rows(app, Notification) == []


@pytest.mark.parametrize(("body", "fields"), [
    ({"country": "DE"}, ["country"]),
    ({"tax_id": "9876543210"}, ["tax_id"]),
    ({"legal_name": "Başka Şirket A.Ş."}, ["legal_name"]),
    ({"founded_on": "2001-01-01"}, ["founded_on"]),
    ({"registration_number": "X-1"}, ["registration_number"]),
    ({"status": "approved"}, ["status"]),
    ({"tier": "low"}, ["tier"]),
    ({"country": "DE", "tax_id": "1", "iban": NEW_IBAN}, ["country", "tax_id"]),
    ({"nickname": "x"}, ["nickname"]),
    ({"iban": "TR330006100519786457841327"}, ["iban"]),
    ({"website": "http://yenicicek.com.tr"}, ["website"]),
    ({"website": "https://127.0.0.1"}, ["website"]),
    ({"phone": "+90 12"}, ["phone"]),
    ({"owners": [NEW_OWNERS[0], NEW_OWNERS[0]]}, ["owners"]),
])
def test_patch_refusals_are_422_naming_the_field_and_change_nothing(app, api, create_merchant,
                                                                   stored, body, fields):
    merchant = create_merchant()
    url = f"/api/v1/merchants/{merchant['id']}"
    as_stored = api.get(url).get_json()
    before = stored()
    resp = _patch(api, merchant["id"], reason="attempted change", **body)
    assert resp.status_code == 422, resp.get_data(as_text=True)
    assert resp.mimetype == "application/problem+json"
    assert [e["field"] for e in resp.get_json()["errors"]] == fields
    assert stored() == before
    assert _rows(app, MerchantChange) == [] and _rows(app, Notification) == []
    assert len(_rows(app, BankAccount)) == 1
    assert api.get(url).get_json() == as_stored


def test_patch_names_every_bad_field_at_once(app, api, create_merchant, stored):
    """Identity fields, the phone (read in the merchant's country) and the other contact
    fields are all named in one 422, not one group after the other."""
    merchant = create_merchant()
    before = stored()
    resp = _patch(api, merchant["id"], reason="x", tax_id="9876543210", legal_name="Başka",
                  phone="+90 12", iban="TR330006100519786457841327",
                  website="http://yenicicek.com.tr", email="nope")
    assert resp.status_code == 422, resp.get_data(as_text=True)
    fields = [e["field"] for e in resp.get_json()["errors"]]
    assert sorted(fields) == ["email", "iban", "legal_name", "phone", "reason", "tax_id",
                              "website"]
    assert stored() == before
    assert _rows(app, MerchantChange) == []


def test_patch_reads_a_national_phone_number_in_the_merchants_country(api, create_merchant):
    merchant = create_merchant()
    resp = _patch(api, merchant["id"], reason="new switchboard", phone="0216 555 44 33")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.get_json()["merchant"]["phone"] == "+902165554433"


def test_patch_without_a_reason_is_422(api, create_merchant, stored):
    merchant = create_merchant()
    before = stored()
    resp = _patch(api, merchant["id"], iban=NEW_IBAN)
    assert resp.status_code == 422
    assert [e["field"] for e in resp.get_json()["errors"]] == ["reason"]
    assert stored() == before
