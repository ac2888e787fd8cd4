"""``/api/v1/transactions``: merchants' payment transactions, one or a batch of up to 1,000."""

from __future__ import annotations

from app.api import bp
from app.api.context import api_actor, keyring, now
from app.api.framework import operation
from app.api.risk_schemas import (
    TransactionBatch,
    TransactionBatchOut,
    TransactionOut,
    TransactionSubmission,
)
from app.errors import validation_problem
from app.extensions import db_session, settings
from app.services.assessments import active_policy
from app.services.transactions import Recorded, UnknownMerchants, record_transactions


def transaction_out(item: Recorded) -> TransactionOut:
    """The API view of a recorded transaction (the card only masked)."""
    row = item.row
    return TransactionOut(id=row.id, merchant_id=row.merchant_id, external_id=row.external_id,
                          type=row.type, amount=row.amount, currency=row.currency,
                          amount_try=row.amount_try, occurred_at=row.occurred_at,
                          card_masked=row.card_masked, card_fingerprint=row.card_fingerprint,
                          customer_ref=row.customer_ref, client_ip=row.client_ip,
                          duplicate=item.duplicate)


@operation(bp, "/transactions", "POST", scope="transactions:write",
           summary="Record transactions", body=TransactionSubmission,
           response=TransactionBatchOut, status=201, tags=("transactions",),
           extra_responses={200: "Every transaction was already recorded (duplicates)"})
def create_transactions(body: TransactionSubmission, client_id: str):
    """Record one transaction (the object itself) or a batch ``{"transactions": [...]}`` of
    at most 1,000. A ``card_number`` is masked to first 6 / last 4 and fingerprinted with a
    keyed hash, and never stored. An ``external_id`` already recorded for the merchant is not
    stored again: the stored transaction is returned with ``duplicate: true``. A single
    transaction is answered as a ``TransactionOut``, a batch as a ``TransactionBatchOut``;
    201 when something new was stored, else 200."""
    batch = isinstance(body.root, TransactionBatch)
    items = body.root.transactions if batch else [body.root]
    try:
        recorded = record_transactions(db_session(), items=items, actor=api_actor(),
                                       keyring=keyring(),
                                       policy=active_policy(settings().policy_path), now=now())
    except UnknownMerchants as exc:
        prefix = "transactions[{}]." if batch else ""
        raise validation_problem([{"field": prefix.format(i) + "merchant_id", "code": "unknown",
                                   "message": f"no merchant with id {mid}"}
                                  for i, mid in sorted(exc.positions.items())]) from exc
    status = 200 if all(r.duplicate for r in recorded) else 201
    if not batch:
        return transaction_out(recorded[0]), status
    out = [transaction_out(r) for r in recorded]
    created = sum(not r.duplicate for r in recorded)
    return TransactionBatchOut(created=created, duplicates=len(out) - created, items=out), status
