"""``/api/v1/webhooks``: the back office's webhook endpoints (R-D6), scope ``webhooks:write``.

The secret is in the answer of ``POST /webhooks`` and ``POST /webhooks/{id}/rotate`` only.
Those two take no ``Idempotency-Key``: a replayed answer would have to keep the secret in the
idempotency table in clear, which is exactly what encrypting it at rest avoids.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from flask import Response
from pydantic import BaseModel, Field, StringConstraints

from app.api import bp
from app.api.context import api_actor, now
from app.api.framework import operation
from app.api.schemas import Strict
from app.errors import ApiProblem, validation_problem
from app.extensions import db_session, settings
from app.models import WebhookEndpoint
from app.services.assessments import current_policy
from app.services.webhook_events import EVENT_TYPES
from app.services.webhooks import (
    WebhookError,
    WebhookNotFound,
    create_endpoint,
    delete_endpoint,
    list_endpoints,
    rotate_secret,
    secret_box_key,
)

SCOPE = "webhooks:write"


class WebhookIn(Strict):
    """An endpoint to register: an https URL (http only outside production) and the event
    types it receives."""

    url: Annotated[str, StringConstraints(min_length=8, max_length=2048)]
    events: Annotated[list[Annotated[str, StringConstraints(max_length=60)]],
                      Field(min_length=1, max_length=len(EVENT_TYPES))]


class WebhookOut(BaseModel):
    """A registered endpoint (never its secret)."""

    id: str
    url: str
    events: list[str]
    created_at: dt.datetime
    rotated_at: dt.datetime | None
    previous_secret_until: dt.datetime | None


class WebhookCreated(BaseModel):
    """A new endpoint or secret: ``secret`` (``whsec_…``) is shown here only."""

    id: str
    url: str
    events: list[str]
    secret: str


class WebhookList(BaseModel):
    """Every registered endpoint and the event types one may subscribe to."""

    items: list[WebhookOut]
    event_types: list[str]


def _out(endpoint: WebhookEndpoint) -> WebhookOut:
    return WebhookOut.model_validate(endpoint, from_attributes=True)


def _not_found(endpoint_id: str) -> ApiProblem:
    return ApiProblem(404, "Not found", f"No webhook endpoint {endpoint_id}.", kind="not-found")


@operation(bp, "/webhooks", "POST", scope=SCOPE, summary="Register a webhook endpoint",
           body=WebhookIn, response=WebhookCreated, status=201, tags=("webhooks",),
           errors=(422,), idempotent=False)
def create_webhook(body: WebhookIn, client_id: str):
    """Deliveries follow Standard Webhooks (``webhook-id``, ``webhook-timestamp``,
    ``webhook-signature``), body ``{type, timestamp, data}``, at least once, the same
    ``webhook-id`` on every retry. The URL must pass the SSRF rules of the website fetcher
    (public address, ports 80/443, https in production). The secret is shown once."""
    s = settings()
    try:
        created = create_endpoint(db_session(), url=body.url, events=body.events,
                                  key=secret_box_key(s.secret_key), actor=api_actor(),
                                  now=now(), production=s.env == "production",
                                  allow_private=s.webhook_allow_private)
    except WebhookError as exc:
        raise validation_problem([{"field": exc.field, "code": "invalid",
                                   "message": str(exc)}]) from exc
    e = created.endpoint
    return WebhookCreated(id=e.id, url=e.url, events=e.events, secret=created.secret), 201


@operation(bp, "/webhooks", "GET", scope=SCOPE, summary="List webhook endpoints",
           response=WebhookList, tags=("webhooks",))
def list_webhooks(client_id: str):
    """Every registered endpoint, oldest first."""
    return WebhookList(items=[_out(e) for e in list_endpoints(db_session())],
                       event_types=list(EVENT_TYPES))


@operation(bp, "/webhooks/<endpoint_id>", "DELETE", scope=SCOPE,
           summary="Delete a webhook endpoint", status=204, tags=("webhooks",), errors=(404,))
def delete_webhook(endpoint_id: str, client_id: str):
    """Stop deliveries at once; deliveries still waiting become dead letters."""
    try:
        delete_endpoint(db_session(), endpoint_id=endpoint_id, actor=api_actor(), now=now())
    except WebhookNotFound as exc:
        raise _not_found(endpoint_id) from exc
    return Response(status=204)


@operation(bp, "/webhooks/<endpoint_id>/rotate", "POST", scope=SCOPE,
           summary="Rotate a webhook secret", response=WebhookCreated, status=201,
           tags=("webhooks",), errors=(404,), idempotent=False)
def rotate_webhook(endpoint_id: str, client_id: str):
    """A new secret, shown once. During the overlap of the policy (``[webhooks]
    rotation_overlap_hours``) every delivery carries a signature by each secret."""
    try:
        created = rotate_secret(db_session(), endpoint_id=endpoint_id,
                                key=secret_box_key(settings().secret_key), actor=api_actor(),
                                now=now(), policy=current_policy().webhooks)
    except WebhookNotFound as exc:
        raise _not_found(endpoint_id) from exc
    e = created.endpoint
    return WebhookCreated(id=e.id, url=e.url, events=e.events, secret=created.secret), 201
