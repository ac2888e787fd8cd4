"""``/api/v1/merchants``: applications, their changes, and the list for back offices."""

from __future__ import annotations

from app.api import bp
from app.api.context import api_actor, keyring, now
from app.api.framework import operation
from app.api.schemas import (
    ChangeOut,
    MerchantApplication,
    MerchantChangeRequest,
    MerchantChangeResult,
    MerchantListQuery,
    MerchantOut,
    MerchantPage,
)
from app.errors import ApiProblem, validation_problem
from app.extensions import db_session
from app.services.merchant_changes import (
    BadCursor,
    change_merchant,
    list_merchants,
    merchant_out,
    merchants_out,
)
from app.services.merchants import MerchantNotFound, get_merchant, submit_application
from app.validation import FieldError


def load_merchant(merchant_id: str):
    """The merchant or a 404 problem."""
    try:
        return get_merchant(db_session(), merchant_id)
    except MerchantNotFound as exc:
        raise ApiProblem(404, "Not found", f"No merchant with id {merchant_id}.",
                         kind="not-found") from exc


@operation(bp, "/merchants", "POST", scope="merchants:write", summary="Submit an application",
           body=MerchantApplication, response=MerchantOut, status=201, tags=("merchants",))
def create_merchant(body: MerchantApplication, client_id: str):
    """Store a merchant's application (status ``applied``). Invalid input is 422 naming each
    bad field, and nothing is stored."""
    session = db_session()
    merchant = submit_application(session, application=body, actor=api_actor(),
                                  keyring=keyring(), now=now())
    return merchant_out(session, merchant, actor=api_actor()), 201


@operation(bp, "/merchants", "GET", scope="merchants:read", summary="List merchants",
           query=MerchantListQuery, response=MerchantPage, tags=("merchants",))
def list_merchants_view(query: MerchantListQuery, client_id: str):
    """Merchants newest first, filtered by status, tier and creation time, with cursor
    pagination."""
    session = db_session()
    try:
        page, cursor = list_merchants(session, query)
    except BadCursor as exc:
        raise validation_problem([{"field": "cursor", "code": "invalid",
                                   "message": "not a cursor issued by this API"}]) from exc
    return MerchantPage(items=merchants_out(session, page, actor=api_actor()), next_cursor=cursor)


@operation(bp, "/merchants/<merchant_id>", "GET", scope="merchants:read",
           summary="Get a merchant", response=MerchantOut, tags=("merchants",), errors=(404,))
def get_merchant_view(merchant_id: str, client_id: str):
    """One merchant with its current owners (national ids masked)."""
    return merchant_out(db_session(), load_merchant(merchant_id), actor=api_actor())


@operation(bp, "/merchants/<merchant_id>", "PATCH", scope="merchants:write",
           summary="Change a merchant's data", body=MerchantChangeRequest,
           response=MerchantChangeResult, tags=("merchants",), errors=(404,),
           body_context=lambda merchant_id: {"country": load_merchant(merchant_id).country})
def patch_merchant(merchant_id: str, body: MerchantChangeRequest, client_id: str):
    """Change contact data, IBAN, website, owners or business figures. Each change is kept
    with its old and new value, the merchant is notified, and the affected checks re-run.
    Identity fields may not change (422)."""
    session = db_session()
    merchant = load_merchant(merchant_id)
    try:
        changes = change_merchant(session, merchant=merchant, change=body, actor=api_actor(),
                                  keyring=keyring(), now=now())
    except FieldError as exc:
        raise validation_problem([{"field": exc.field, "code": "invalid",
                                   "message": str(exc)}]) from exc
    from app.services import hooks
    hooks.merchant_changed(session, merchant=merchant, changes=changes, actor=api_actor(),
                           now=now())
    return MerchantChangeResult(
        merchant=merchant_out(session, merchant, actor=api_actor()),
        changes=[ChangeOut(field=c.field, old_value=c.old_value, new_value=c.new_value,
                           actor=c.actor, reason=c.reason, at=c.at) for c in changes])
