"""Answers the code gives and the OpenAPI document once missed (issue #13 item 8): each answer
here is checked against the document itself: its status is declared for the operation and
its body validates against the declared schema (JSON Schema 2020-12, the document's own
``$ref``s). The bounded schemathesis run (tests/integration/test_api_contract.py) guards every
operation; these pin the drifts it cannot reach by chance (a valid single transaction, a case
that is already closed)."""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from app.api.framework import OPERATIONS, openapi_path
from tests.factories import application


@pytest.fixture
def document(client) -> dict:
    return client.get("/api/v1/openapi.json").get_json()


def assert_documented(document: dict, method: str, path: str, resp) -> None:
    """``resp`` is a documented answer of ``method path``, its body valid against the schema."""
    responses = document["paths"][path][method.lower()]["responses"]
    assert str(resp.status_code) in responses, (resp.status_code, sorted(responses))
    content = responses[str(resp.status_code)].get("content")
    if not content:
        return
    assert resp.mimetype in content, (resp.mimetype, sorted(content))
    registry = Registry().with_resource("urn:kyb", Resource.from_contents(
        {**document, "$schema": "https://json-schema.org/draft/2020-12/schema"}))
    schema = {"$ref": "urn:kyb#/paths/" + path.replace("~", "~0").replace("/", "~1")
              + f"/{method.lower()}/responses/{resp.status_code}/content/"
              + resp.mimetype.replace("~", "~0").replace("/", "~1") + "/schema"}
    errors = list(Draft202012Validator(schema, registry=registry).iter_errors(resp.get_json()))
    assert not errors, [e.message for e in errors]


def test_every_operation_with_query_parameters_declares_422(document):
    for op in OPERATIONS:
        if op.query:
            responses = document["paths"][openapi_path(op.rule)][op.method.lower()]["responses"]
            assert "422" in responses, op.rule


def test_an_unissued_cursor_is_a_documented_422(api, document):
    resp = api.get("/api/v1/merchants?cursor=not-a-cursor")
    assert resp.status_code == 422
    assert_documented(document, "GET", "/api/v1/merchants", resp)


def _sale(merchant_id: str, external_id: str) -> dict:
    return {"merchant_id": merchant_id, "external_id": external_id, "type": "sale",
            "amount": "149.90", "currency": "TRY", "occurred_at": "2026-11-20T10:00:00Z",
            "customer_ref": "cust-42", "client_ip": "203.0.113.7"}


def test_one_transaction_and_its_duplicate_match_the_document(api, document):
    merchant_id = api.post("/api/v1/merchants", json=application()).get_json()["id"]
    for expected in (201, 200):  # stored, then the same external_id again (duplicate)
        resp = api.post("/api/v1/transactions", json=_sale(merchant_id, "ord-1"))
        assert resp.status_code == expected, resp.get_json()
        assert "transactions" not in resp.get_json()  # the single shape, not a batch
        assert_documented(document, "POST", "/api/v1/transactions", resp)
    batch = api.post("/api/v1/transactions", json={"transactions": [_sale(merchant_id, "o2")]})
    assert batch.status_code == 201
    assert_documented(document, "POST", "/api/v1/transactions", batch)


def test_blacklisting_a_listed_value_again_is_a_documented_200(api, document):
    body = {"kind": "email", "value": "fraud@example.com", "reason": "chargeback ring"}
    first = api.post("/api/v1/blacklist", json=body)
    again = api.post("/api/v1/blacklist", json=body)
    assert (first.status_code, again.status_code) == (201, 200)
    for resp in (first, again):
        assert_documented(document, "POST", "/api/v1/blacklist", resp)


def test_a_path_parameter_the_router_refuses_is_a_documented_404(client, document):
    resp = client.get("/api/v1/auth/a%0Ab")  # the path converter takes no newline
    assert resp.status_code == 404
    assert_documented(document, "GET", "/api/v1/auth/{original_path}", resp)
    for path, operations in document["paths"].items():
        if "{" in path:
            assert all("404" in op["responses"] for op in operations.values()), path
