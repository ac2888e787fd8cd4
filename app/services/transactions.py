"""Recording merchants' payment transactions (one or a batch of up to 1,000).

A full card number never reaches the database or a log: ``api_keys.cards.protect_pan`` keeps
the first six and last four digits and an HMAC fingerprint under the server's pepper (R-B5),
and the number is dropped right there. A transaction whose ``external_id`` the merchant already
sent is not stored twice: the stored one comes back, marked ``duplicate`` (so a client may
retry a batch safely). ``amount_try`` is the amount at the active policy's dated rate; it is
None for a currency the policy has no rate for.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session, select

from api_keys.cards import InvalidCardNumber, mask_pan, protect_pan
from app.api.risk_schemas import TransactionIn
from app.audit.trail import Actor, EventDraft, append_events
from app.models import Merchant, Transaction
from app.security import Keyring
from app.services import hooks
from checks.facts import Money
from checks.policy import Policy

LOOKUP_CHUNK = 500  # bound on the IN (...) list of one query
PAN_LIKE = re.compile(r"(?<!\d)\d(?:[ -]?\d){11,18}(?!\d)")


class UnknownMerchants(LookupError):
    """Some transactions name merchants that do not exist: ``positions`` → merchant id."""

    def __init__(self, positions: dict[int, str]) -> None:
        super().__init__(", ".join(sorted(set(positions.values()))))
        self.positions = positions


@dataclass(frozen=True)
class Recorded:
    """One transaction of a request and whether it was already known."""

    row: Transaction
    duplicate: bool


def record_transactions(session: Session, *, items: Sequence[TransactionIn], actor: Actor,
                        keyring: Keyring, policy: Policy, now: dt.datetime) -> list[Recorded]:
    """Store ``items`` (in order), audit each new one and publish ``transactions_recorded``
    per merchant (real-time monitoring subscribes); returns one ``Recorded`` per item.

    Raises ``UnknownMerchants`` (nothing stored) when a merchant id does not exist.
    """
    _require_merchants(session, items)
    known = _existing(session, items)
    pepper = keyring.peppers[keyring.current]
    out: list[Recorded] = []
    new_rows: list[Transaction] = []
    for item in items:
        key = (item.merchant_id, item.external_id)
        if key in known:
            out.append(Recorded(known[key], True))
            continue
        row = _row(item, pepper, policy, now)
        known[key] = row
        new_rows.append(row)
        out.append(Recorded(row, False))
    session.add_all(new_rows)
    session.flush()
    append_events(session, [_event(actor, row) for row in new_rows])
    by_merchant: dict[str, list[Transaction]] = defaultdict(list)
    for row in new_rows:
        by_merchant[row.merchant_id].append(row)
    for merchant_id, rows in by_merchant.items():
        hooks.publish("transactions_recorded", session=session, actor=actor, now=now,
                      merchant_id=merchant_id, transactions=rows)
    return out


def _require_merchants(session: Session, items: Sequence[TransactionIn]) -> None:
    wanted = sorted({item.merchant_id for item in items})
    found: set[str] = set()
    for start in range(0, len(wanted), LOOKUP_CHUNK):
        chunk = wanted[start:start + LOOKUP_CHUNK]
        found.update(session.exec(select(Merchant.id).where(Merchant.id.in_(chunk))).all())
    missing = {i: item.merchant_id for i, item in enumerate(items)
               if item.merchant_id not in found}
    if missing:
        raise UnknownMerchants(missing)


def _existing(session: Session,
              items: Sequence[TransactionIn]) -> dict[tuple[str, str], Transaction]:
    """Already stored transactions of these (merchant, external_id) pairs (unique index)."""
    by_merchant: dict[str, set[str]] = defaultdict(set)
    for item in items:
        by_merchant[item.merchant_id].add(item.external_id)
    known: dict[tuple[str, str], Transaction] = {}
    for merchant_id, external_ids in by_merchant.items():
        ids = sorted(external_ids)
        for start in range(0, len(ids), LOOKUP_CHUNK):
            rows = session.exec(select(Transaction).where(
                Transaction.merchant_id == merchant_id,
                Transaction.external_id.in_(ids[start:start + LOOKUP_CHUNK]))).all()
            known.update({(r.merchant_id, r.external_id): r for r in rows})
    return known


def _row(item: TransactionIn, pepper: bytes, policy: Policy, now: dt.datetime) -> Transaction:
    masked, fingerprint = None, item.card_fingerprint
    if item.card_number is not None:
        card = protect_pan(item.card_number, pepper)
        masked, fingerprint = card.masked, card.fingerprint
    amount_try = policy.to_try(Money(item.amount, item.currency))
    return Transaction(merchant_id=item.merchant_id, external_id=item.external_id,
                       type=item.type, amount=item.amount, currency=item.currency,
                       amount_try=amount_try, occurred_at=item.occurred_at,
                       card_masked=masked, card_fingerprint=fingerprint,
                       customer_ref=item.customer_ref, client_ip=item.client_ip,
                       description=scrub_pans(item.description), created_at=now)


def scrub_pans(text: str | None) -> str | None:
    """``text`` with anything that is a valid card number masked (a client that pastes a card
    number into a free-text field must not get it stored)."""
    if not text:
        return text

    def mask(match: re.Match[str]) -> str:
        try:
            return mask_pan(match.group(0))
        except InvalidCardNumber:
            return match.group(0)
    return PAN_LIKE.sub(mask, text)


def _event(actor: Actor, row: Transaction) -> EventDraft:
    draft = actor.event("transaction.recorded", target_type="transaction", target_id=row.id,
                        merchant_id=row.merchant_id, operation=row.type, amount=row.amount,
                        currency=row.currency, card_masked=row.card_masked,
                        customer_ref=row.customer_ref,
                        details={"external_id": row.external_id, "client_ip": row.client_ip,
                                 "occurred_at": row.occurred_at.isoformat()})
    draft.source_ip = row.client_ip or actor.source_ip  # the payer's address when known (R-B5)
    return draft
