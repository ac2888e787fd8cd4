"""``/api/v1/transactions``: merchants' payment transactions, one or a batch of up to 1,000."""

from __future__ import annotations

from app.api import bp
from app.api.context import api_actor, keyring, now
from app.api.framework import operation
from app.api.risk_schemas import (
    RefusedTransaction,
    TransactionBatch,
    TransactionBatchOut,
    TransactionIn,
    TransactionOut,
    TransactionSubmission,
)
from app.dataplane.runtime import runtime
from app.errors import ApiProblem, problem_response, validation_problem
from app.extensions import db_session, settings
from app.services.assessments import active_policy
from app.services.transactions import Recorded, UnknownMerchants, record_transactions

# The request field behind each probe attribute a blacklist entry can match.
_FIELDS = {"client_ip": "client_ip", "card_fingerprint": "card", "customer_ref": "customer_ref",
           "device_id": "device_id"}


def transaction_out(item: Recorded) -> TransactionOut:
    """The API view of a recorded transaction (the card only masked)."""
    row = item.row
    assert row is not None  # noqa: S101 - refused items are answered by ``refused_out``
    return TransactionOut(id=row.id, merchant_id=row.merchant_id, external_id=row.external_id,
                          type=row.type, amount=row.amount, currency=row.currency,
                          amount_try=row.amount_try, occurred_at=row.occurred_at,
                          card_masked=row.card_masked, card_fingerprint=row.card_fingerprint,
                          customer_ref=row.customer_ref, client_ip=row.client_ip,
                          device_id=row.device_id, account_ref=row.account_ref,
                          account_type=row.account_type,
                          counterparty_ref=row.counterparty_ref,
                          phone_country=row.phone_country, ip_country=row.ip_country,
                          duplicate=item.duplicate)


def _field(item: TransactionIn, probe_field: str) -> str:
    if probe_field == "card_fingerprint":
        return "card_number" if item.card_number is not None else "card_fingerprint"
    return _FIELDS.get(probe_field, probe_field)


def refused_out(index: int, item: TransactionIn, recorded: Recorded) -> RefusedTransaction:
    """The API view of a refused transaction."""
    hit = recorded.refused
    assert hit is not None  # noqa: S101
    return RefusedTransaction(index=index, merchant_id=item.merchant_id,
                              external_id=item.external_id, code="blacklisted",
                              field=_field(item, hit.field), kind=hit.kind,
                              entry_id=hit.entry_id)


def _refused_one(item: TransactionIn, recorded: Recorded):
    """422 for a single refused transaction; returned (not raised) so that the audit event
    and the alert of the refusal are committed."""
    out = refused_out(0, item, recorded)
    return problem_response(ApiProblem(
        422, "Blacklisted", f"The transaction's {out.field} is on the blacklist "
        f"({out.kind}, entry {out.entry_id}); it was not recorded.", kind="blacklisted",
        errors=[{"field": out.field, "code": "blacklisted",
                 "message": f"{out.kind} on the blacklist (entry {out.entry_id})"}]))


@operation(bp, "/transactions", "POST", scope="transactions:write",
           summary="Record transactions", body=TransactionSubmission,
           response=(TransactionOut, TransactionBatchOut), status=201, tags=("transactions",),
           extra_responses={200: "Every transaction was already recorded (duplicates)"})
def create_transactions(body: TransactionSubmission, client_id: str):
    """Record one transaction (the object itself) or a batch ``{"transactions": [...]}`` of
    at most 1,000. A ``card_number`` is masked to first 6 / last 4 and fingerprinted with a
    keyed hash, and never stored. An ``external_id`` already recorded for the merchant is not
    stored again: the stored transaction is returned with ``duplicate: true``. A single
    transaction is answered as a ``TransactionOut``, a batch as a ``TransactionBatchOut``;
    201 when something new was stored, else 200. A transaction whose client IP (or its CIDR),
    card, customer ref or ``device_id`` is blacklisted is refused — not recorded, audited and
    alerted (``blacklist_hit``): alone, with 422 ``blacklisted`` naming the field; in a batch,
    listed in ``refused`` while the others are recorded."""
    batch = isinstance(body.root, TransactionBatch)
    items = body.root.transactions if batch else [body.root]
    try:
        recorded = record_transactions(db_session(), items=items, actor=api_actor(),
                                       keyring=keyring(),
                                       policy=active_policy(settings().policy_path), now=now(),
                                       blacklist=runtime().blacklist.current(fresh=True))
    except UnknownMerchants as exc:
        prefix = "transactions[{}]." if batch else ""
        raise validation_problem([{"field": prefix.format(i) + "merchant_id", "code": "unknown",
                                   "message": f"no merchant with id {mid}"}
                                  for i, mid in sorted(exc.positions.items())]) from exc
    if not batch and recorded[0].refused is not None:
        return _refused_one(items[0], recorded[0])
    kept = [r for r in recorded if r.refused is None]
    created = sum(not r.duplicate for r in kept)
    status = 201 if created else 200
    if not batch:
        return transaction_out(recorded[0]), status
    refused = [refused_out(i, items[i], r) for i, r in enumerate(recorded) if r.refused]
    return TransactionBatchOut(created=created, duplicates=len(kept) - created,
                               items=[transaction_out(r) for r in kept],
                               refused=refused), status
