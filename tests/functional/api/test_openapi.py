"""The OpenAPI 3.1 document describes every registered operation exactly, with the same schemas
the validator uses; the docs page works offline from vendored files."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from openapi_spec_validator import validate

from app.api.framework import OPERATIONS, openapi_path
from app.api.schemas import MerchantApplication, MerchantChangeRequest
from app.oauth.models import KNOWN_SCOPES


@pytest.fixture
def document(client) -> dict:
    resp = client.get("/api/v1/openapi.json")
    assert resp.status_code == 200
    assert resp.mimetype == "application/json"
    return resp.get_json()


def _resolve(document: dict, schema: dict) -> dict:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    assert ref.startswith("#/components/schemas/")
    return document["components"]["schemas"][ref.rsplit("/", 1)[1]]


def test_document_is_a_valid_openapi_3_1_document(document):
    assert document["openapi"] == "3.1.0"
    validate(document)  # openapi-spec-validator picks the 3.1 validator from the version


def test_every_scope_is_described_by_what_it_lets_a_client_do(document):
    """Issue #11: /api/docs showed each scope's name as its own description."""
    scopes = document["components"]["securitySchemes"]["oauth2"]["flows"][
        "clientCredentials"]["scopes"]
    assert set(scopes) == set(KNOWN_SCOPES)
    for name, description in scopes.items():
        assert description != name and len(description) > 40, name
        assert description.endswith("."), name


def test_every_registered_operation_is_documented_with_its_scope(document):
    assert OPERATIONS, "no operations registered"
    for op in OPERATIONS:
        path = openapi_path(op.rule)
        entry = document["paths"].get(path, {}).get(op.method.lower())
        assert entry is not None, f"{op.method} {path} missing"
        if op.scope:
            assert entry["security"] == [{"oauth2": [op.scope]}], path
            assert op.scope in document["components"]["securitySchemes"]["oauth2"]["flows"][
                "clientCredentials"]["scopes"]
            assert {"401", "403"} <= set(entry["responses"])
        assert str(op.status) in entry["responses"]
        if op.body:
            assert {"400", "413", "415", "422"} <= set(entry["responses"])


def test_every_api_route_of_the_app_is_documented(app, document):
    documented = {(path, method) for path, ops in document["paths"].items() for method in ops}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.rule == "/api/v1/openapi.json":
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (openapi_path(rule.rule), method.lower()) in documented, rule.rule


def test_documented_paths_are_all_real_routes(app, document):
    routes = {openapi_path(r.rule) for r in app.url_map.iter_rules()}
    assert set(document["paths"]) <= routes


@pytest.mark.parametrize(("path", "method", "model"), [
    ("/api/v1/merchants", "post", MerchantApplication),
    ("/api/v1/merchants/{merchant_id}", "patch", MerchantChangeRequest),
])
def test_request_schema_is_the_one_the_validator_uses(document, path, method, model):
    body = document["paths"][path][method]["requestBody"]
    assert body["required"] is True
    schema = _resolve(document, body["content"]["application/json"]["schema"])
    own = model.model_json_schema(mode="validation")
    assert schema["additionalProperties"] is False
    assert sorted(schema.get("required", [])) == sorted(own.get("required", []))
    assert set(schema["properties"]) == set(model.model_fields) == set(own["properties"])


def test_merchant_application_schema_lists_the_required_fields(document):
    ref = document["paths"]["/api/v1/merchants"]["post"]["requestBody"]["content"][
        "application/json"]["schema"]
    schema = _resolve(document, ref)
    assert {"legal_name", "country", "tax_id", "founded_on", "capital", "sector", "website",
            "email", "phone", "iban", "expected_monthly_turnover", "owners"} <= set(
        schema["required"])
    assert "trade_name" not in schema["required"]
    owner = _resolve(document, schema["properties"]["owners"]["items"])
    assert owner["additionalProperties"] is False


def test_every_schema_reference_resolves(document):
    text = str(document)
    for name in set(re.findall(r"#/components/schemas/([A-Za-z0-9_.-]+)", text)):
        assert name in document["components"]["schemas"], name


def test_idempotency_key_is_documented_on_posts_with_a_body(document):
    params = document["paths"]["/api/v1/merchants"]["post"]["parameters"]
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in params)


def test_list_query_parameters_are_documented(document):
    params = {p["name"]: p for p in document["paths"]["/api/v1/merchants"]["get"]["parameters"]}
    assert {"status", "tier", "created_from", "created_to", "limit", "cursor"} <= set(params)
    assert all(p["in"] == "query" for p in params.values())


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in {"src", "href"} and value:
                self.urls.append(value)


def test_api_docs_reference_only_local_files_which_are_served(client):
    resp = client.get("/api/docs")
    assert resp.status_code == 200
    assert resp.mimetype == "text/html"
    html = resp.get_data(as_text=True)
    assert not re.search(r"(https?:)?//[a-z0-9]", html, re.IGNORECASE), "external URL in docs"
    parser = _Links()
    parser.feed(html)
    assert len(parser.urls) >= 2  # the stylesheet and the bundle
    for url in parser.urls:
        assert url.startswith("/"), url
        served = client.get(url)
        assert served.status_code == 200, url
        assert len(served.data) > 1000, url
    assert "/api/v1/openapi.json" in html
