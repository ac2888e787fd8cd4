"""Merchants' e-mail and phone at rest (issue #13, R-D7, R-B4): sealed on the merchant and on its
e-mail/phone contact points, masked in the change history and the audit trail, linked through
keyed blind indexes, found by the blacklist, and opened only through an audited disclosure."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlmodel import select

from app.audit.trail import Actor
from app.crypto.data_keys import SealedValueError
from app.models import AuditEvent, BlacklistEntry, ContactPoint, Merchant
from app.services.blacklist import merchants_touched
from app.services.ownership import find_shared_ownership
from app.services.personal_data import (
    Disclosure,
    contact_index,
    data_keys,
    mask_contact,
    new_contact_point,
)
from tests.factories import application
from tests.unit.app.test_ownership_service import create, distinct

EMAIL = application()["email"]
PHONE = "+902125550123"  # the factory's "+90 212 555 01 23", as stored
NEW_EMAIL, NEW_PHONE = "muhasebe@anadolucicek.com.tr", "+902165554433"


def _dump(app, table: str) -> str:
    with app.extensions["kyb.engine"].connect() as conn:
        return repr(conn.exec_driver_sql(f"SELECT * FROM {table}").all())  # noqa: S608


def test_raw_tables_hold_no_clear_email_or_phone(api, app):
    """Merchant, contact points, change history and audit trail; the notification outbox
    holds the address it mails to, and assessment snapshots are not done yet."""
    merchant_id = create(api, application())
    read = api.get(f"/api/v1/merchants/{merchant_id}").get_json()
    assert (read["email"], read["phone"]) == (EMAIL, PHONE)  # the API reader gets them
    resp = api.patch(f"/api/v1/merchants/{merchant_id}",
                     json={"email": NEW_EMAIL, "phone": "+90 216 555 44 33",
                           "reason": "merchant asked by phone"})
    assert resp.status_code == 200, resp.get_json()
    for table in ("merchant", "contact_point", "merchant_change", "audit_event"):
        text = _dump(app, table)
        for clear in (EMAIL, PHONE, NEW_EMAIL, NEW_PHONE, PHONE[3:], NEW_PHONE[3:]):
            assert clear not in text, (table, clear)
    assert mask_contact("email", EMAIL) in _dump(app, "merchant_change")  # history, masked


def test_contact_points_are_sealed_with_a_blind_index_and_a_mask(api, db_session):
    merchant_id = create(api, application())
    points = {p.kind: p for p in db_session.exec(select(ContactPoint).where(
        ContactPoint.merchant_id == merchant_id)).all()}
    keys = data_keys(db_session)
    for kind, clear in (("email", EMAIL), ("phone", PHONE)):
        point = points[kind]
        assert point.value == mask_contact(kind, clear)
        assert point.value_key == contact_index(kind, clear, keys) and clear not in point.value_key
        assert keys.open(point.value_sealed, table="contact_point", column="value_sealed",
                         row_id=point.id) == clear
    # websites, domains and sign-up IPs are not a natural person's data: in clear
    assert points["domain"].value == "anadolucicek.com.tr" and points["domain"].value_sealed is None


def test_a_sealed_value_copied_to_another_row_does_not_open(api, db_session):
    first_id, other_id = create(api, application()), create(api, distinct())
    first, other = db_session.get(Merchant, first_id), db_session.get(Merchant, other_id)
    other.email_sealed = first.email_sealed  # swapped in by someone with database access
    with pytest.raises(SealedValueError):
        Disclosure(actor=Actor("test"), purpose="test").contacts(other)
    copy = new_contact_point(merchant_id=other.id, kind="phone", value=PHONE,
                             added_at=first.created_at, keys=data_keys(db_session))
    copy.value_sealed = db_session.exec(select(ContactPoint.value_sealed).where(
        ContactPoint.merchant_id == first.id, ContactPoint.kind == "phone")).one()
    with pytest.raises(SealedValueError):
        Disclosure(actor=Actor("test"), purpose="test",
                   keys=data_keys(db_session)).contact_value(copy)


@pytest.mark.parametrize(("overrides", "share"), [
    ({"email": "Finans@AnadoluCicek.com.tr"}, "email"),
    ({"phone": "0212 555 01 23"}, "phone"),
])
def test_shared_email_or_phone_still_links_through_the_index(api, db_session, overrides,
                                                              share):
    first = create(api, application())
    second = create(api, distinct(**overrides))
    found = find_shared_ownership(db_session, merchant=db_session.get(Merchant, second))
    assert [(x.merchant_id, x.shares) for x in found.linked] == [(first, (share,))]


@pytest.mark.parametrize(("kind", "value"), [("email", EMAIL.upper()), ("phone", PHONE)])
def test_a_blacklisted_email_or_phone_finds_its_merchant(api, db_session, kind, value):
    merchant_id = create(api, application())
    create(api, distinct())
    listed = api.post("/api/v1/blacklist", json={"kind": kind, "value": value,
                                                  "reason": "fraud ring"})
    assert listed.status_code == 201, listed.get_json()
    entry = db_session.get(BlacklistEntry, listed.get_json()["id"])
    assert [m.id for m in merchants_touched(db_session, entry)] == [merchant_id]


def test_an_api_read_is_audited_with_the_merchant_fields_but_no_values(api, db_session):
    merchant_id = create(api, application())
    assert api.get(f"/api/v1/merchants/{merchant_id}").status_code == 200
    event = db_session.exec(select(AuditEvent).where(
        AuditEvent.action == "personal_data.decrypted",
        AuditEvent.reason == "API merchant read").order_by(AuditEvent.seq.desc())).first()
    assert event.merchant_id == merchant_id and event.actor.startswith("client:")
    assert event.details["merchant_fields"] == ["email", "phone"]
    assert EMAIL not in repr(event.details) and PHONE not in repr(event.details)


def test_system_openings_are_pooled_into_one_event(api, app, db_session):
    merchant_id = create(api, application())
    merchant = db_session.get(Merchant, merchant_id)
    before = db_session.exec(select(sa.func.coalesce(sa.func.max(AuditEvent.seq), 0))).one()
    from app.services.personal_data import SYSTEM
    for purpose in ("blacklist check", "merchant notification"):
        disclosure = Disclosure(actor=SYSTEM, purpose=purpose)
        assert disclosure.contacts(merchant).email == EMAIL
        disclosure.record(db_session, merchant_id=merchant_id)
    db_session.commit()
    events = db_session.exec(select(AuditEvent).where(AuditEvent.seq > before)).all()
    assert [e.action for e in events] == ["personal_data.decrypted"]
    assert events[0].details["merchant_fields"] == ["email", "phone"]
    assert events[0].details["purpose"] == ["blacklist check", "merchant notification"]
