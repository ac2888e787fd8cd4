"""The OpenAPI 3.1 document, generated from the declared operations and the very pydantic
models that validate requests, never kept by hand."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from app.api.framework import OPERATIONS, Operation, openapi_path
from app.oauth.models import SCOPE_DESCRIPTIONS

REF = "#/components/schemas/{model}"
PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"}, "instance": {"type": "string"},
        "request_id": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object", "properties": {
            "field": {"type": "string"}, "message": {"type": "string"},
            "code": {"type": "string"}}}},
    },
    "required": ["type", "title", "status"],
}
ERROR_TEXT = {400: "Malformed request", 401: "Missing or invalid bearer token",
              403: "Missing scope or forbidden", 404: "Not found", 409: "Conflict",
              413: "Body over 1 MiB", 415: "Body is not application/json",
              422: "Validation failed (one entry per bad field)"}


def _response_models(op: Operation) -> tuple[type[BaseModel], ...]:
    if op.response is None:
        return ()
    return op.response if isinstance(op.response, tuple) else (op.response,)


def _models() -> list[tuple[type[BaseModel], str]]:
    seen: dict[tuple[type[BaseModel], str], None] = {}
    for op in OPERATIONS:
        if op.body:
            seen[(op.body, "validation")] = None
        for model in _response_models(op):
            seen[(model, "serialization")] = None
    return list(seen)


def _success(op: Operation, key_map: dict, description: str) -> dict[str, Any]:
    """A success response: the response model (``oneOf`` when the answer takes one of several
    shapes) and any other media type."""
    ok: dict[str, Any] = {"description": description}
    models = [key_map[(model, "serialization")] for model in _response_models(op)]
    if models:
        ok["content"] = {"application/json": {
            "schema": models[0] if len(models) == 1 else {"oneOf": models}}}
    for media, schema in op.media_types.items():
        ok.setdefault("content", {})[media] = {"schema": schema}
    return ok


def _query_parameters(op: Operation, schemas: dict[str, Any]) -> list[dict[str, Any]]:
    if not op.query:
        return []
    schema = op.query.model_json_schema(ref_template=REF)
    schemas.update(schema.pop("$defs", {}))
    required = set(schema.get("required", []))
    return [{"name": name, "in": "query", "required": name in required,
             "description": prop.get("description", ""), "schema": prop}
            for name, prop in schema.get("properties", {}).items()]


def _operation(op: Operation, key_map: dict, schemas: dict[str, Any]) -> dict[str, Any]:
    params = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
              for name in re.findall(r"{([a-zA-Z_]+)}", openapi_path(op.rule))]
    params += _query_parameters(op, schemas)
    doc: dict[str, Any] = {"summary": op.summary, "operationId": op.rule.strip("/").replace(
        "/", "_").replace("<", "").replace(">", "") + "_" + op.method.lower(),
        "tags": list(op.tags), "parameters": params}
    if op.description:
        doc["description"] = op.description
    if op.idempotent:
        params.append({"name": "Idempotency-Key", "in": "header", "required": False,
                       "schema": {"type": "string", "maxLength": 200},
                       "description": "Same key and body replays the first response; same key "
                                      "with another body is 422."})
    if op.body:
        doc["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": key_map[(op.body, "validation")]}}}
    responses: dict[str, Any] = {str(op.status): _success(op, key_map, "Success")}
    problem = {"application/problem+json": {"schema": {"$ref": REF.format(model="Problem")}}}
    codes = set(op.errors) | ({401, 403} if op.scope else set())
    if any(p["in"] == "path" for p in params):  # routing answers 404 for a value it refuses
        codes.add(404)
    if op.body:
        codes |= {400, 413, 415, 422}
    if op.query:  # read_query: one entry per bad or unknown query parameter
        codes.add(422)
    for code in sorted(codes):
        responses[str(code)] = {"description": ERROR_TEXT.get(code, "Error"), "content": problem}
    for code, text in op.extra_responses.items():
        if 200 <= code < 300 and code != 204:  # another success: the same body
            responses[str(code)] = _success(op, key_map, text)
        else:  # an answer without a body (e.g. the gateway's 401/403 with X-Deny-Reason)
            responses[str(code)] = {"description": text}
    doc["responses"] = responses
    if op.scope:
        doc["security"] = [{"oauth2": [op.scope]}]
    return doc


def build_openapi(version: str) -> dict[str, Any]:
    """The whole document."""
    key_map, defs = models_json_schema(_models(), ref_template=REF)
    schemas: dict[str, Any] = dict(defs.get("$defs", {}))
    schemas["Problem"] = PROBLEM_SCHEMA
    paths: dict[str, Any] = {}
    for op in OPERATIONS:
        paths.setdefault(openapi_path(op.rule), {})[op.method.lower()] = _operation(
            op, key_map, schemas)
    return {
        "openapi": "3.1.0",
        "info": {"title": "kybgate API", "version": version,
                 "description": "KYB onboarding, merchant API keys, verification and audit."},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": {"oauth2": {
            "type": "oauth2", "flows": {"clientCredentials": {
                "tokenUrl": "/oauth/token",
                "scopes": dict(SCOPE_DESCRIPTIONS)}}}}},
    }
