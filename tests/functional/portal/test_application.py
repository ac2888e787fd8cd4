"""The application in the portal: the API's model validates it, errors sit next to their
inputs, nothing is stored until it is valid, the user is linked to its merchant."""

from __future__ import annotations

import re

from sqlmodel import select

from app.models import AuditEvent, Merchant, Ownership
from app.services.personal_data import own_contacts
from tests.factories import TCKN
from tests.functional.portal.conftest import application_form, apply


def _field_error(html: str, field_id: str) -> str | None:
    """The error message rendered under the input ``field_id``, if any."""
    match = re.search(rf'<p class="error" id="{re.escape(field_id)}-err">([^<]*)</p>', html)
    return match.group(1) if match else None


def test_the_form_offers_three_blank_owner_rows(portal_user):
    html = portal_user("a@shop.example").get("/portal/apply").get_data(True)
    for row in range(3):
        assert f'name="owners-{row}-full_name"' in html
    assert 'name="owners-3-full_name"' not in html
    assert 'name="add_owner"' in html


def test_add_owner_adds_a_row_without_javascript_and_keeps_what_was_typed(portal_user):
    user = portal_user("a@shop.example")
    resp = user.post_form("/portal/apply", application_form(add_owner="Add owner",
                                                            submit=""))
    html = resp.get_data(True)
    assert resp.status_code == 200
    assert 'name="owners-3-full_name"' in html
    assert 'value="Ayşe Yılmaz"' in html
    assert 'class="error"' not in html


def test_a_valid_application_creates_the_merchant_linked_to_the_user(portal_user, db_session):
    user = portal_user("a@shop.example")
    merchant = apply(user, db_session)
    assert merchant.status == "applied"
    assert merchant.signup_ip == "127.0.0.1"
    assert merchant.iban == "TR330006100519786457841326"
    assert merchant.declared_price_max is not None
    owners = db_session.exec(select(Ownership).where(
        Ownership.merchant_id == merchant.id)).all()
    assert len(owners) == 2  # the blank third row is ignored
    event = db_session.exec(select(AuditEvent).where(
        AuditEvent.action == "merchant.applied")).one()
    assert event.actor == f"merchant:{user.id}"  # R-D7: no portal address in the trail
    db_session.commit()
    home = user.get("/portal/").get_data(True)
    assert "Application received" in home and "applied" in home
    assert user.get("/portal/apply").status_code == 302  # one application per user


def test_validation_messages_sit_next_to_each_bad_field(portal_user, db_session):
    user = portal_user("a@shop.example")
    resp = user.post_form("/portal/apply", application_form(
        legal_name="", iban="TR330006100519786457841327", country="XX",
        capital_amount="lots", founded_on="2999-01-01",
        **{"owners-1-national_id": "12345678901", "owners-1-birth_date": "soon"}))
    assert resp.status_code == 422
    html = resp.get_data(True)
    assert _field_error(html, "legal_name") == "This field is required."
    assert "checksum" in (_field_error(html, "iban") or "").lower()
    assert _field_error(html, "country")
    assert _field_error(html, "capital_amount")
    assert "future" in (_field_error(html, "founded_on") or "")
    assert _field_error(html, "owners-1-birth_date")
    assert _field_error(html, "owners-0-national_id") is None
    assert 'value="Anadolu Çiçek"' in html  # what was typed stays
    assert db_session.exec(select(Merchant)).all() == []


def test_owner_row_errors_point_at_the_form_row_even_after_blank_rows(portal_user, db_session):
    user = portal_user("a@shop.example")
    data = application_form(**{"owners-1-full_name": "", "owners-1-national_id": "",
                               "owners-1-birth_date": "", "owners-1-nationality": "",
                               "owners-1-share_pct": "",
                               "owners-2-full_name": "Mehmet Demir",
                               "owners-2-national_id": "12345678901",
                               "owners-2-birth_date": "1990-01-01",
                               "owners-2-nationality": "TR", "owners-2-share_pct": "10"})
    resp = user.post_form("/portal/apply", data)
    assert resp.status_code == 422
    html = resp.get_data(True)
    # the bad identity number is named on the third row's own input, not a blank row's
    assert "identity number" in (_field_error(html, "owners-2-national_id") or "")
    assert _field_error(html, "owners-1-national_id") is None
    assert db_session.exec(select(Merchant)).all() == []


def test_shares_over_100_percent_are_reported_for_the_owners(portal_user):
    user = portal_user("a@shop.example")
    resp = user.post_form("/portal/apply", application_form(**{"owners-1-share_pct": "41"}))
    assert resp.status_code == 422
    assert "more than 100" in resp.get_data(True)


def test_an_application_without_owners_is_refused(portal_user):
    user = portal_user("a@shop.example")
    blank = {f"owners-{i}-{f}": "" for i in range(2) for f in
             ("full_name", "national_id", "birth_date", "nationality", "share_pct")}
    resp = user.post_form("/portal/apply", application_form(**blank))
    assert resp.status_code == 422
    assert "Enter at least one owner." in resp.get_data(True)


def test_turkish_tax_id_checksum_error_is_shown_at_the_tax_id(portal_user):
    user = portal_user("a@shop.example")
    resp = user.post_form("/portal/apply", application_form(tax_id="1234567891"))
    assert resp.status_code == 422
    assert _field_error(resp.get_data(True), "tax_id")


def test_the_portal_and_the_api_accept_the_same_application(portal_user, api, db_session):
    from tests.factories import application
    user = portal_user("a@shop.example")
    merchant = apply(user, db_session)
    via_api = api.post("/api/v1/merchants", json=application()).get_json()
    for name in ("legal_name", "country", "tax_id", "website", "iban", "sector"):
        assert getattr(merchant, name) == via_api[name], name
    contacts = own_contacts(merchant)  # sealed at rest, the same once opened
    assert (contacts.email, contacts.phone) == (via_api["email"], via_api["phone"])
    assert TCKN[0] not in str(via_api["owners"])  # both mask national ids
