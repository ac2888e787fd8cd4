"""``/api/v1/blacklist``: values known to be used for fraud (R-E2, R-E3)."""

from __future__ import annotations

from app.api import bp
from app.api.context import api_actor, keyring, now
from app.api.framework import operation
from app.api.risk_schemas import (
    BlacklistIn,
    BlacklistOut,
    BlacklistPage,
    BlacklistQuery,
    BlacklistRemoval,
)
from app.errors import ApiProblem, validation_problem
from app.extensions import db_session
from app.models import BlacklistEntry
from app.services.blacklist import (
    BlacklistEntryNotFound,
    add_entry,
    list_entries,
    normalise,
    remove_entry,
)


def entry_out(entry: BlacklistEntry) -> BlacklistOut:
    """The API view of an entry."""
    return BlacklistOut.model_validate(entry, from_attributes=True)


@operation(bp, "/blacklist", "POST", scope="blacklist:write", summary="Blacklist a value",
           body=BlacklistIn, response=BlacklistOut, status=201, tags=("blacklist",),
           extra_responses={200: "The value was already listed: that entry"})
def add_blacklist_entry(body: BlacklistIn, client_id: str):
    """Add an IBAN, e-mail, phone, domain, IP, national id or device. The value is
    normalised (an e-mail's case, a URL's registered domain); a national id is kept only as a
    keyed hash and shown masked. Adding a value already listed returns that entry (200)."""
    try:
        normalise(body.kind, body.value, keyring())
    except ValueError as exc:
        raise validation_problem([{"field": "value", "code": "invalid",
                                   "message": str(exc)}]) from exc
    entry, created = add_entry(db_session(), kind=body.kind, value=body.value,
                               reason=body.reason, actor=api_actor(), keyring=keyring(),
                               now=now())
    return entry_out(entry), 201 if created else 200


@operation(bp, "/blacklist", "GET", scope="merchants:read", summary="List the blacklist",
           query=BlacklistQuery, response=BlacklistPage, tags=("blacklist",))
def list_blacklist(query: BlacklistQuery, client_id: str):
    """Active entries (and removed ones with ``include_removed=true``), newest first."""
    rows = list_entries(db_session(), kind=query.kind, include_removed=query.include_removed,
                        limit=query.limit)
    return BlacklistPage(items=[entry_out(row) for row in rows])


@operation(bp, "/blacklist/<entry_id>", "DELETE", scope="blacklist:write",
           summary="Remove a blacklist entry", query=BlacklistRemoval, response=BlacklistOut,
           tags=("blacklist",), errors=(404,))
def remove_blacklist_entry(entry_id: str, query: BlacklistRemoval, client_id: str):
    """Unblock a value. A ``reason`` is required and audited; the entry is kept with who
    removed it and when."""
    try:
        entry = remove_entry(db_session(), entry_id=entry_id, reason=query.reason,
                             actor=api_actor(), now=now())
    except BlacklistEntryNotFound as exc:
        raise ApiProblem(404, "Not found", f"No active blacklist entry {entry_id}.",
                         kind="not-found") from exc
    return entry_out(entry)
