"""``POST /api/v1/transactions``: one or a batch, card numbers never stored, idempotent ids."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.factories import application

PAN = "4111111111111111"
PAN_SPACED = "4111 1111 1111 1111"


@pytest.fixture
def merchant_id(api) -> str:
    resp = api.post("/api/v1/merchants", json=application())
    assert resp.status_code == 201
    return resp.get_json()["id"]


def sale(merchant_id: str, external_id: str = "ord-1", **overrides) -> dict:
    body = {"merchant_id": merchant_id, "external_id": external_id, "type": "sale",
            "amount": "149.90", "currency": "TRY", "occurred_at": "2026-11-20T10:00:00Z",
            "card_number": PAN, "customer_ref": "cust-42", "client_ip": "203.0.113.7",
            "description": "Gül buketi"}
    body.update(overrides)
    return body


def test_one_transaction_is_stored_with_the_card_masked(api, merchant_id):
    resp = api.post("/api/v1/transactions", json=sale(merchant_id))
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["card_masked"] == "411111******1111"
    assert len(body["card_fingerprint"]) == 64
    assert body["amount"] == "149.90" or body["amount"].startswith("149.9")
    assert body["duplicate"] is False
    assert PAN not in resp.get_data(as_text=True)


def test_foreign_currency_is_converted_at_the_policy_rate(api, merchant_id):
    body = api.post("/api/v1/transactions",
                    json=sale(merchant_id, amount="10", currency="USD")).get_json()
    assert body["amount_try"].startswith("420.00")


def _all_text(engine: sa.Engine) -> str:
    """Every text value of every table, concatenated."""
    chunks = []
    inspector = sa.inspect(engine)
    with engine.connect() as conn:
        for table in inspector.get_table_names():
            for row in conn.execute(sa.text(f'SELECT * FROM "{table}"')):  # noqa: S608
                chunks += [str(v) for v in row if v is not None]
    return "\n".join(chunks)


def test_the_full_card_number_is_nowhere_in_the_database(app, api, merchant_id):
    api.post("/api/v1/transactions", json=sale(merchant_id))
    api.post("/api/v1/transactions", json=sale(
        merchant_id, "ord-2", card_number=PAN_SPACED,
        description=f"customer wrote card {PAN} in the note"))
    api.post("/api/v1/transactions", json=sale(merchant_id, "ord-3", amount="-1"))  # refused
    engine = app.extensions["kyb.engine"]
    text = _all_text(engine)
    assert PAN not in text and PAN_SPACED not in text
    assert "411111******1111" in text
    if engine.dialect.name == "sqlite":
        engine.dispose()
        raw = b"".join(p.read_bytes() for p in Path(engine.url.database).parent.glob("kyb.db*"))
        assert PAN.encode() not in raw and PAN_SPACED.encode() not in raw


def test_duplicate_external_id_is_idempotent(api, merchant_id, db_session):
    first = api.post("/api/v1/transactions", json=sale(merchant_id))
    again = api.post("/api/v1/transactions", json=sale(merchant_id, amount="999"))
    assert first.status_code == 201 and again.status_code == 200
    assert again.get_json()["id"] == first.get_json()["id"]
    assert again.get_json()["duplicate"] is True
    assert again.get_json()["amount"].startswith("149.9")
    count = db_session.execute(sa.text("SELECT count(*) FROM payment_transaction")).scalar()
    assert count == 1


def test_a_batch_of_1000_is_accepted(api, merchant_id):
    batch = [sale(merchant_id, f"ord-{i}", amount=f"{10 + i % 50}.00") for i in range(1000)]
    resp = api.post("/api/v1/transactions", json={"transactions": batch})
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["created"] == 1000 and body["duplicates"] == 0
    retry = api.post("/api/v1/transactions", json={"transactions": batch[:10]})
    assert retry.status_code == 200 and retry.get_json()["duplicates"] == 10


def test_a_batch_of_1001_is_refused_and_nothing_is_stored(api, merchant_id, db_session):
    batch = [sale(merchant_id, f"ord-{i}") for i in range(1001)]
    resp = api.post("/api/v1/transactions", json={"transactions": batch})
    assert resp.status_code == 422
    assert resp.get_json()["errors"][0]["field"] == "transactions"
    count = db_session.execute(sa.text("SELECT count(*) FROM payment_transaction")).scalar()
    assert count == 0


def test_a_duplicate_inside_one_batch_is_stored_once(api, merchant_id):
    resp = api.post("/api/v1/transactions",
                    json={"transactions": [sale(merchant_id), sale(merchant_id)]})
    body = resp.get_json()
    assert body["created"] == 1 and body["duplicates"] == 1
    assert body["items"][0]["id"] == body["items"][1]["id"]


@pytest.mark.parametrize(("override", "field"), [
    ({"amount": "0"}, "amount"),
    ({"amount": "abc"}, "amount"),
    ({"currency": "XXQ"}, "currency"),
    ({"type": "gift"}, "type"),
    ({"occurred_at": "2026-11-20T10:00:00"}, "occurred_at"),
    ({"occurred_at": "2999-01-01T00:00:00Z"}, "occurred_at"),
    ({"card_number": "4111111111111112"}, "card_number"),
    ({"card_number": "41111"}, "card_number"),
    ({"client_ip": "300.1.1.1"}, "client_ip"),
    ({"surprise": 1}, "surprise"),
])
def test_bad_input_is_422_naming_the_field(api, merchant_id, override, field):
    resp = api.post("/api/v1/transactions", json=sale(merchant_id, **override))
    assert resp.status_code == 422, resp.get_json()
    assert resp.mimetype == "application/problem+json"
    fields = [e["field"] for e in resp.get_json()["errors"]]
    assert field in fields
    assert "4111111111111112" not in resp.get_data(as_text=True)


def test_bad_input_in_a_batch_names_its_position(api, merchant_id):
    batch = [sale(merchant_id, "a"), sale(merchant_id, "b", amount="-5")]
    resp = api.post("/api/v1/transactions", json={"transactions": batch})
    assert resp.status_code == 422
    assert [e["field"] for e in resp.get_json()["errors"]] == ["transactions[1].amount"]


def test_unknown_merchant_is_422(api, merchant_id):
    resp = api.post("/api/v1/transactions",
                    json={"transactions": [sale(merchant_id), sale("mer_nope", "x")]})
    assert resp.status_code == 422
    assert resp.get_json()["errors"][0]["field"] == "transactions[1].merchant_id"


def test_transactions_need_their_scope(make_api, merchant_id):
    reader = make_api("merchants:read")
    resp = reader.post("/api/v1/transactions", json=sale(merchant_id))
    assert resp.status_code == 403


def test_card_number_and_fingerprint_together_are_refused(api, merchant_id):
    resp = api.post("/api/v1/transactions",
                    json=sale(merchant_id, card_fingerprint="f" * 64))
    assert resp.status_code == 422
