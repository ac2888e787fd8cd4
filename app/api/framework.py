"""How every ``/api/v1`` operation is declared, so that one declaration drives all of: the OAuth
scope it needs, body and query validation (pydantic), problem+json errors, ``Idempotency-Key``
replay, the single commit, and its entry in the OpenAPI document.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from authlib.oauth2.rfc6749.errors import OAuth2Error
from authlib.oauth2.rfc6750.errors import InsufficientScopeError
from flask import Blueprint, Response, g, request
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from app.errors import ApiProblem, validation_problem
from app.extensions import db_session
from app.models import IdempotencyRecord
from app.oauth.server import require_oauth
from app.validation import FieldError

JSON_TYPES = ("application/json",)


@dataclass
class Operation:
    """One documented API operation."""

    rule: str
    method: str
    scope: str | None
    summary: str
    description: str
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    # One model, or a tuple of models when the answer takes one of several shapes (oneOf)
    response: type[BaseModel] | tuple[type[BaseModel], ...] | None
    status: int
    tags: tuple[str, ...]
    idempotent: bool
    errors: tuple[int, ...]
    extra_responses: dict[int, str] = field(default_factory=dict)
    # Other media types of the success response (e.g. ``application/pdf``) → their schema.
    media_types: dict[str, dict[str, Any]] = field(default_factory=dict)


OPERATIONS: list[Operation] = []


def error_field(loc: tuple[Any, ...]) -> str:
    """``("owners", 0, "national_id")`` → ``"owners[0].national_id"``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "body"


def pydantic_problem(exc: ValidationError, prefix: str = "") -> ApiProblem:
    """A 422 naming each bad field of a pydantic validation error."""
    errors = []
    for err in exc.errors(include_url=False, include_input=False):
        # "@…" parts are discriminated-union tags (e.g. one transaction vs a batch), not fields
        loc = tuple(p for p in err["loc"] if p not in {"function-after", "function-plain"}
                    and not (isinstance(p, str) and p.startswith("@")))
        cause = (err.get("ctx") or {}).get("error")
        if isinstance(cause, FieldError):
            loc = (*loc, cause.field)
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown field; it is not part of this resource"
        errors.append({"field": prefix + error_field(loc), "message": message,
                       "code": err["type"]})
    return validation_problem(errors)


def _authenticate(scope: str | None) -> str:
    return acquire_token(scope).client_id


def acquire_token(scope: str | None):
    """The request's valid bearer token holding ``scope``, or a 401/403 problem."""
    try:
        return require_oauth.acquire_token([scope] if scope else None)
    except InsufficientScopeError as exc:
        raise ApiProblem(403, "Insufficient scope",
                         f"This operation needs the OAuth scope '{scope}'.", kind="scope",
                         required_scope=scope) from exc
    except OAuth2Error as exc:
        raise ApiProblem(401, "Unauthorized", exc.description or "A valid bearer token is "
                         "required.", kind="unauthorized",
                         headers={"WWW-Authenticate": 'Bearer realm="kybgate"'}) from exc


def read_json_body(model: type[BaseModel], context: dict[str, Any] | None = None) -> BaseModel:
    """Validate the request body against ``model`` (``context`` is pydantic's validation
    context, e.g. the merchant's country for a change request); 415/400/422 problems otherwise.
    A 422 names every bad field at once: fields that may not change together with the rest."""
    if request.mimetype not in JSON_TYPES:
        raise ApiProblem(415, "Unsupported media type",
                         "Send the body as application/json.", kind="media-type",
                         errors=[{"field": "Content-Type", "code": "unsupported",
                                  "message": f"{request.mimetype or '(none)'} is not "
                                             "application/json"}])
    raw = request.get_data(cache=True)
    if not getattr(model, "__immutable_fields__", ()):
        # The common case first: one pass of pydantic's JSON parser. A body it refuses takes
        # the path below, which names the precise problem (malformed JSON, not an object, ...).
        try:
            return model.model_validate_json(raw, context=context)
        except ValidationError:
            pass
    parsed = parse_json_object(raw)
    immutable = [name for name in getattr(model, "__immutable_fields__", ()) if name in parsed]
    errors = [{"field": name, "code": "immutable",
               "message": "may not change after the application; submit a new application "
                          "instead"} for name in immutable]
    try:
        if immutable:  # the other fields are still checked, so that every error is named
            raw = json.dumps({k: v for k, v in parsed.items() if k not in immutable})
        result = model.model_validate_json(raw, context=context)
    except ValidationError as exc:
        raise validation_problem(errors + pydantic_problem(exc).errors) from exc
    if errors:
        raise validation_problem(errors)
    return result


MAX_JSON_DEPTH = 32  # no request body kybgate accepts nests deeper than a few levels


def _too_deep(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether ``value`` nests arrays/objects more than ``limit`` levels (iterative walk)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            stack.extend((child, depth + 1) for child in children
                         if isinstance(child, dict | list))
    return False


def _malformed(message: str) -> ApiProblem:
    return ApiProblem(400, "Malformed JSON", f"The body is not valid JSON: {message}",
                      kind="malformed-json",
                      errors=[{"field": "body", "code": "malformed_json", "message": message}])


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """``raw`` as a JSON object, or a 400/422 problem: malformed JSON, nesting deeper than
    ``MAX_JSON_DEPTH`` (a 5,000-level body must not exhaust the parser's stack), not an object.
    Every JSON body the API reads goes through here or through pydantic's parser first."""
    try:
        parsed = json.loads(raw or b"")
    except RecursionError as exc:
        raise _malformed(f"nested more than {MAX_JSON_DEPTH} levels deep") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise _malformed(str(exc)) from exc
    if _too_deep(parsed):
        raise _malformed(f"nested more than {MAX_JSON_DEPTH} levels deep")
    if not isinstance(parsed, dict):
        raise validation_problem([{"field": "body", "message": "expected a JSON object",
                                   "code": "object_type"}])
    return parsed


def body_hash() -> str:
    """SHA-256 of the request body in canonical form (sorted keys, no whitespace): a retry
    with the same data in another key order or layout is the same request."""
    return hashlib.sha256(_canonical(parse_json_object(request.get_data(cache=True)))).hexdigest()


def read_query(model: type[BaseModel]) -> BaseModel:
    """Validate the query string against ``model``."""
    names = {info.alias or name for name, info in model.model_fields.items()}
    unknown = set(request.args) - names
    data: dict[str, Any] = {k: v for k, v in request.args.items() if k in names}
    try:
        result = model.model_validate(data)
    except ValidationError as exc:
        raise pydantic_problem(exc) from exc
    if unknown:
        raise validation_problem([{"field": name, "message": "unknown query parameter",
                                   "code": "extra_forbidden"} for name in sorted(unknown)])
    return result


def _canonical(parsed: Any) -> bytes:
    return json.dumps(parsed, sort_keys=True, separators=(",", ":")).encode()


def _serialise(result: Any, status: int) -> tuple[Any, int]:
    if isinstance(result, tuple):
        result, status = result
    if isinstance(result, BaseModel):
        result = result.model_dump(mode="json")
    return result, status


def _replay(client_id: str, key: str, body_hash: str) -> Response | None:
    row = db_session().exec(select(IdempotencyRecord).where(
        IdempotencyRecord.client_id == client_id, IdempotencyRecord.key == key)).first()
    if row is None:
        return None
    if (row.body_hash, row.path, row.method) != (body_hash, request.path, request.method):
        raise ApiProblem(422, "Idempotency key reused",
                         "This Idempotency-Key was already used with a different request.",
                         kind="idempotency-key-reused",
                         errors=[{"field": "Idempotency-Key", "code": "reused",
                                  "message": "already used with a different body"}])
    resp = Response(json.dumps(row.response), status=row.status_code,
                    mimetype="application/json")
    resp.headers["Idempotent-Replayed"] = "true"
    return resp


def _idempotency_key() -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not (1 <= len(key) <= 200) or not key.isprintable():
        raise validation_problem([{"field": "Idempotency-Key", "code": "invalid",
                                   "message": "must be 1-200 printable characters"}])
    return key


def operation(bp: Blueprint, rule: str, method: str, *, scope: str | None, summary: str,
              body: type[BaseModel] | None = None, query: type[BaseModel] | None = None,
              response: type[BaseModel] | tuple[type[BaseModel], ...] | None = None,
              status: int = 200,
              tags: tuple[str, ...] = (), errors: tuple[int, ...] = (),
              authenticate: bool = True, extra_responses: dict[int, str] | None = None,
              idempotent: bool | None = None,
              media_types: dict[str, dict[str, Any]] | None = None,
              body_context: Callable[..., dict[str, Any]] | None = None) -> Callable:
    """Register ``fn`` as an API operation. ``fn(body=..., query=..., client_id=..., **path)``
    returns a model, a dict, ``(value, status)`` or a ``Response``; the wrapper commits once.
    ``response`` is the success model, or a tuple of models the answer is one of (documented
    as ``oneOf``); a 2xx code in ``extra_responses`` is documented with the same body.
    ``Idempotency-Key`` is honoured on POST with a body unless ``idempotent=False`` (an
    operation whose every call must take effect, such as a verification). ``body_context``,
    called with the path arguments, gives the body's validation context (a 404 it raises
    comes before any 422)."""
    if idempotent is None:
        idempotent = method == "POST" and body is not None

    def decorate(fn: Callable) -> Callable:
        op = Operation(rule=bp.url_prefix + rule if bp.url_prefix else rule, method=method,
                       scope=scope, summary=summary, description=(fn.__doc__ or "").strip(),
                       body=body, query=query, response=response, status=status, tags=tags,
                       idempotent=idempotent, errors=errors,
                       extra_responses=extra_responses or {},
                       media_types=media_types or {})
        OPERATIONS.append(op)

        @wraps(fn)
        def view(**path_args: Any) -> Any:
            client_id = _authenticate(scope) if authenticate else None
            g.api_client_id = client_id
            kwargs: dict[str, Any] = dict(path_args)
            if body is not None:
                context = body_context(**path_args) if body_context else None
                kwargs["body"] = read_json_body(body, context)
            if query is not None:
                kwargs["query"] = read_query(query)
            if client_id is not None:
                kwargs["client_id"] = client_id
            key = _idempotency_key() if idempotent and client_id else None
            digest = None
            if key is not None:
                digest = body_hash()
                replay = _replay(client_id, key, digest)
                if replay is not None:
                    return replay
            return _run(fn, kwargs, status, key, client_id, digest)

        bp.add_url_rule(rule, endpoint=fn.__name__, view_func=view, methods=[method])
        return view

    return decorate


def _run(fn: Callable, kwargs: dict[str, Any], status: int, key: str | None,
         client_id: str | None, body_hash: str | None) -> Any:
    result = fn(**kwargs)
    if isinstance(result, Response):
        if g.get("_kyb_session") is not None:  # commit only what the view opened
            db_session().commit()
        return result
    payload, code = _serialise(result, status)
    if key is None and g.get("_kyb_session") is None:  # the view never touched the database
        return Response(json.dumps(payload, ensure_ascii=False), status=code,
                        mimetype="application/json")
    session = db_session()
    if key is not None and code < 500:
        session.add(IdempotencyRecord(client_id=client_id, key=key, method=request.method,
                                      path=request.path, body_hash=body_hash,
                                      status_code=code, response=payload))
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        replay = _replay(client_id, key, body_hash) if key else None
        if replay is not None:
            return replay
        raise
    return Response(json.dumps(payload, ensure_ascii=False), status=code,
                    mimetype="application/json")


def openapi_path(rule: str) -> str:
    """Flask's ``/merchants/<merchant_id>`` → OpenAPI's ``/merchants/{merchant_id}``."""
    return re.sub(r"<(?:[a-z]+:)?([a-zA-Z_]+)>", r"{\1}", rule)
