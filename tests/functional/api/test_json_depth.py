"""Deeply nested JSON bodies are refused with a 400 problem on every JSON endpoint, never a
500 (issue #13 item 5): a 5,000-level object and a 1,500-level array, with and without an
``Idempotency-Key`` (whose body hash parses the body a second time)."""

from __future__ import annotations

import re

import pytest

from app.api.framework import MAX_JSON_DEPTH, OPERATIONS, parse_json_object
from app.errors import ApiProblem
from app.oauth.models import KNOWN_SCOPES

DEEP_OBJECT = '{"a":' * 5000 + "1" + "}" * 5000
DEEP_ARRAY = '{"a":' + "[" * 1500 + "]" * 1500 + "}"


def _path(rule: str, merchant_id: str) -> str:
    return "/api/v1" + re.sub(r"<(?:\w+:)?(\w+)>",
                              lambda m: merchant_id if m.group(1) == "merchant_id"
                              else "x_unknown", rule)


@pytest.mark.parametrize("body", [DEEP_OBJECT, DEEP_ARRAY], ids=["object", "array"])
@pytest.mark.parametrize("idempotency", [False, True], ids=["plain", "idempotent"])
def test_every_json_endpoint_answers_a_deep_body_with_a_400_problem(
        make_api, create_merchant, body, idempotency):
    api = make_api(" ".join(KNOWN_SCOPES))
    merchant_id = create_merchant()["id"]
    writes = [op for op in OPERATIONS if op.method in ("POST", "PATCH", "PUT") and op.body]
    assert len(writes) >= 8
    for op in writes:
        headers = {"Content-Type": "application/json"}
        if idempotency:
            headers["Idempotency-Key"] = f"deep-{op.rule}-{op.method}"
        resp = getattr(api, op.method.lower())(_path(op.rule, merchant_id), data=body,
                                               headers=headers)
        assert resp.status_code in (400, 404), (op.rule, resp.status_code)
        assert resp.mimetype == "application/problem+json", op.rule
        if resp.status_code == 400:
            assert resp.get_json()["errors"][0]["field"] == "body"


def test_the_kill_switch_refuses_a_deep_reason_body(api, create_merchant):
    merchant_id = create_merchant()["id"]
    resp = api.post(f"/api/v1/merchants/{merchant_id}/freeze", data=DEEP_OBJECT,
                    headers={"Content-Type": "application/json"})
    assert resp.status_code == 400
    assert "nested more than" in resp.get_json()["detail"]


@pytest.mark.parametrize(("depth", "refused"), [(MAX_JSON_DEPTH, False),
                                                (MAX_JSON_DEPTH + 1, True)])
def test_nesting_is_bounded_at_the_limit(depth, refused):
    raw = ('{"a":' * depth + "1" + "}" * depth).encode()
    if refused:
        with pytest.raises(ApiProblem) as info:
            parse_json_object(raw)
        assert info.value.status == 400
    else:
        assert parse_json_object(raw)["a"]
