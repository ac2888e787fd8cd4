"""``POST /api/v1/merchants`` refuses bad input with a 4xx problem naming the problem, stores
nothing (no merchant, no audit event), and never answers 500."""

from __future__ import annotations

import json

import pytest
from freezegun import freeze_time

from tests.factories import TCKN, application

URL = "/api/v1/merchants"
PROBLEM = "application/problem+json"


def _fields(resp) -> list[str]:
    return [e["field"] for e in resp.get_json()["errors"]]


def _assert_problem(resp, status: int) -> dict:
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == PROBLEM
    body = resp.get_json()
    assert body["status"] == status
    assert body["title"] and body["type"]
    return body


def test_malformed_json_is_400_and_stores_nothing(api, stored):
    before = stored()
    resp = api.post(URL, data=b'{"legal_name": "Acme", ', content_type="application/json")
    body = _assert_problem(resp, 400)
    assert "JSON" in body["title"]
    assert _fields(resp) == ["body"]
    assert stored() == before


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x"])
def test_body_that_is_not_application_json_is_415(api, stored, content_type):
    before = stored()
    resp = api.post(URL, data=json.dumps(application()), content_type=content_type)
    _assert_problem(resp, 415)
    assert _fields(resp) == ["Content-Type"]
    assert stored() == before


def test_body_over_one_mebibyte_is_413_problem(api, stored):
    before = stored()
    big = application(trade_name="x" * (1024 * 1024))
    resp = api.post(URL, data=json.dumps(big), content_type="application/json")
    _assert_problem(resp, 413)
    assert _fields(resp) == ["body"]
    assert stored() == before


def test_json_array_instead_of_object_is_422(api, stored):
    before = stored()
    resp = api.post(URL, json=[application()])
    _assert_problem(resp, 422)
    assert _fields(resp) == ["body"]
    assert stored() == before


def _without(name: str) -> dict:
    body = application()
    del body[name]
    return body


def _owner(**changes) -> dict:
    owner = application()["owners"][0]
    owner.update(changes)
    return owner


# (case id, body, fields the 422 must name)
INVALID = [
    ("unknown_field", application(nickname="Acme"), ["nickname"]),
    ("unknown_nested_field", application(capital={"amount": "1", "currency": "TRY", "x": 1}),
     ["capital.x"]),
    ("missing_iban", _without("iban"), ["iban"]),
    ("missing_owners", _without("owners"), ["owners"]),
    ("missing_legal_name", _without("legal_name"), ["legal_name"]),
    ("iban_bad_checksum", application(iban="TR330006100519786457841327"), ["iban"]),
    ("owner_shares_over_100", application(owners=[
        _owner(share_pct="60"), _owner(national_id=TCKN[1], share_pct="40.01")]), ["owners"]),
    ("national_id_twice", application(owners=[
        _owner(share_pct="50"), _owner(full_name="Başka Biri", share_pct="50")]), ["owners"]),
    ("website_http", application(website="http://anadolucicek.com.tr"), ["website"]),
    ("website_ipv4", application(website="https://192.0.2.10/"), ["website"]),
    ("website_ipv6", application(website="https://[2001:db8::1]/"), ["website"]),
    ("website_localhost", application(website="https://localhost/"), ["website"]),
    ("website_localhost_subdomain", application(website="https://shop.localhost/"),
     ["website"]),
    ("legal_name_10000_chars", application(legal_name="A" * 10_000), ["legal_name"]),
    ("owner_name_10000_chars", application(owners=[_owner(full_name="Ş" * 10_000,
                                                          share_pct="100")]),
     ["owners[0].full_name"]),
    ("country_not_iso", application(country="XX"), ["country"]),
    ("currency_not_iso", application(capital={"amount": "1", "currency": "ABC"}),
     ["capital.currency"]),
    ("negative_capital", application(capital={"amount": "-1", "currency": "TRY"}),
     ["capital.amount"]),
    ("bad_email", application(email="not-an-address"), ["email"]),
    ("owner_tckn_bad_checksum", application(owners=[_owner(national_id="10000000147",
                                                           share_pct="100")]),
     ["owners[0].national_id"]),
    ("turkish_tax_id_bad_checksum", application(tax_id="1234567891"), ["tax_id"]),
    ("phone_not_a_number", application(phone="+90 12"), ["phone"]),
    ("control_characters_in_name", application(legal_name="Acme\x00Ltd"), ["legal_name"]),
    ("prices_min_over_max", application(declared_prices={"min": "10", "max": "5",
                                                         "currency": "TRY"}),
     ["declared_prices"]),
]


@pytest.mark.parametrize(("body", "fields"), [c[1:] for c in INVALID],
                         ids=[c[0] for c in INVALID])
def test_invalid_application_is_422_naming_the_field_and_stores_nothing(api, stored, body,
                                                                        fields):
    before = stored()
    resp = api.post(URL, json=body)
    _assert_problem(resp, 422)
    assert _fields(resp) == fields
    for error in resp.get_json()["errors"]:
        assert error["message"] and error["code"]
    assert stored() == before


def test_every_bad_field_is_named_at_once_including_the_tax_number(api, stored):
    """Four bad top-level fields, the tax number and phone among them, and a bad owner: one
    422 names them all (the tax number and phone were once checked only after the rest)."""
    before = stored()
    body = application(tax_id="1234567891", phone="+90 12", iban="TR330006100519786457841327",
                       email="not-an-address", founded_on="2999-01-01",
                       owners=[_owner(national_id="10000000147", birth_date="1850-01-01",
                                      share_pct="100")])
    resp = api.post(URL, json=body)
    _assert_problem(resp, 422)
    assert sorted(_fields(resp)) == sorted([
        "tax_id", "phone", "iban", "email", "founded_on", "owners[0].national_id",
        "owners[0].birth_date"])
    assert len(_fields(resp)) == len(set(_fields(resp)))  # one entry per bad field
    assert stored() == before


def test_bad_country_is_named_with_the_other_bad_fields(api, stored):
    before = stored()
    resp = api.post(URL, json=application(country="XX", tax_id="1", email="nope",
                                          iban="TR00", legal_name=""))
    _assert_problem(resp, 422)
    assert sorted(_fields(resp)) == ["country", "email", "iban", "legal_name", "tax_id"]
    assert stored() == before


def test_owner_shares_summing_to_exactly_100_are_accepted(api):
    resp = api.post(URL, json=application(owners=[
        _owner(share_pct="33.33"), _owner(national_id=TCKN[1], share_pct="33.33"),
        _owner(national_id=TCKN[2], share_pct="33.34")]))
    assert resp.status_code == 201, resp.get_json()


@pytest.mark.parametrize(("founded_on", "status"), [
    ("2026-03-10", 201),  # today
    ("2026-03-11", 422),  # tomorrow
    ("2030-01-01", 422),
    ("1800-01-01", 201),  # the earliest founding date taken
    ("1799-12-31", 422),
    ("0001-01-01", 422),  # year 1 is a typo
])
def test_founding_date_may_be_today_but_not_in_the_future(api, stored, founded_on, status):
    before = stored()
    with freeze_time("2026-03-10T23:59:00Z"):
        resp = api.post(URL, json=application(founded_on=founded_on))
    assert resp.status_code == status, resp.get_json()
    if status == 422:
        assert _fields(resp) == ["founded_on"]
        assert stored() == before


def test_sql_metacharacters_are_stored_literally(api, stored):
    name = "Robert'); DROP TABLE merchant;--"
    resp = api.post(URL, json=application(legal_name=name, trade_name="O'Brien \"Quotes\" %_\\"))
    assert resp.status_code == 201, resp.get_json()
    got = api.get(f"{URL}/{resp.get_json()['id']}").get_json()
    assert got["legal_name"] == name
    assert got["trade_name"] == "O'Brien \"Quotes\" %_\\"
    assert stored()[0] == 1  # the merchant table is still there, with the row


UNICODE_NAMES = [
    ("İĞDIR Işıklı Şeker Ğıda Ürünleri A.Ş.", "İlkay Işık Şahin Ğ ı ş ğ"),
    ("شركة الأمل للتجارة الإلكترونية", "محمد بن عبد الله"),
    ("Ünlü Çağrı ﬁ Ǆ 中文 🌷", "Zoë Ångström-Çelik"),
]


@pytest.mark.parametrize(("legal_name", "owner_name"), UNICODE_NAMES)
def test_unicode_names_are_stored_and_returned_exactly(api, legal_name, owner_name):
    owner = _owner(full_name=owner_name, nationality="SA", national_id="A1234567",
                   share_pct="100")
    resp = api.post(URL, json=application(legal_name=legal_name, trade_name=legal_name,
                                          owners=[owner]))
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["legal_name"] == legal_name
    got = api.get(f"{URL}/{resp.get_json()['id']}").get_json()
    assert got["legal_name"] == legal_name
    assert got["trade_name"] == legal_name
    assert got["owners"][0]["full_name"] == owner_name


def test_unknown_merchant_id_is_404_problem(api):
    body = _assert_problem(api.get(f"{URL}/mer_doesnotexist0000000"), 404)
    assert "mer_doesnotexist0000000" in body["detail"]


def test_patch_of_unknown_merchant_is_404(api, stored):
    before = stored()
    resp = api.patch(f"{URL}/mer_doesnotexist0000000", json={"email": "a@b.com.tr",
                                                              "reason": "typo fix"})
    _assert_problem(resp, 404)
    assert stored() == before


@pytest.mark.parametrize(("amount", "status"), [
    ("999999999999.9999", 201),  # the largest amount: 16 digits
    ("1000000000000", 422),
    ("1.00001", 422),  # a fifth decimal place
])
def test_money_amounts_are_limited_to_16_digits_with_4_decimals(api, stored, amount, status):
    before = stored()
    resp = api.post(URL, json=application(capital={"amount": amount, "currency": "TRY"}))
    assert resp.status_code == status, resp.get_json()
    if status == 201:
        got = api.get(f"{URL}/{resp.get_json()['id']}").get_json()
        assert got["capital"] == {"amount": amount, "currency": "TRY"}
    else:
        assert _fields(resp) == ["capital.amount"]
        assert stored() == before
