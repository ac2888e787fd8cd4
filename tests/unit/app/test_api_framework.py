"""Small pure parts of the API framework: error field names and OpenAPI paths."""

from __future__ import annotations

import pytest

from app.api.framework import error_field, openapi_path


@pytest.mark.parametrize(("loc", "field"), [
    (("owners", 0, "national_id"), "owners[0].national_id"),
    (("capital", "amount"), "capital.amount"),
    (("iban",), "iban"),
    ((), "body"),
    (("owners", 2), "owners[2]"),
])
def test_error_field_names_nested_locations(loc, field):
    assert error_field(loc) == field


@pytest.mark.parametrize(("rule", "path"), [
    ("/api/v1/merchants/<merchant_id>", "/api/v1/merchants/{merchant_id}"),
    ("/api/v1/keys/<string:key_id>/rotate", "/api/v1/keys/{key_id}/rotate"),
    ("/api/v1/merchants", "/api/v1/merchants"),
])
def test_openapi_path_converts_flask_rules(rule, path):
    assert openapi_path(rule) == path
