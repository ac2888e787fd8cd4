"""Recording merchants' payment transactions (one or a batch of up to 1,000).

A full card number never reaches the database or a log: ``api_keys.cards.protect_pan`` keeps
the first six and last four digits and an HMAC fingerprint under the server's pepper (R-B5),
and the number is dropped right there. A transaction whose ``external_id`` the merchant already
sent is not stored twice: the stored one comes back, marked ``duplicate`` (so a client may
retry a batch safely). ``amount_try`` is the amount at the active policy's dated rate; it is
None for a currency the policy has no rate for. The payment account's e-mail and phone (R-C10)
are stored only as keyed HMAC digests under the server's pepper (like card fingerprints), with
the phone's country read offline by ``phonenumbers``.

A transaction whose client IP (or its CIDR block), card fingerprint, customer ref or device id
is on the blacklist (R-E2) is refused: it is not stored (a blacklisted attribute must not be
usable on a payment), the refusal is audited as ``transaction.refused`` with reason
``blacklisted``, and a ``blacklist_hit`` alert is opened for the merchant (one per entry and
day). The other items of a batch are recorded as usual.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import phonenumbers
from sqlmodel import Session, select

from api_keys.blacklist import (
    BlacklistIndex,
    BlacklistMatch,
    BlacklistProbe,
    card_key,
    customer_key,
    device_key,
)
from api_keys.cards import protect_pan, scrub_pans
from api_keys.whitelist import parse_ip
from app.api.risk_schemas import TransactionIn
from app.audit.trail import Actor, EventDraft, append_events, record
from app.models import Merchant, Transaction
from app.security import Keyring
from app.services import hooks
from checks.facts import Money
from checks.policy import Policy

LOOKUP_CHUNK = 500  # bound on the IN (...) list of one query


class UnknownMerchants(LookupError):
    """Some transactions name merchants that do not exist: ``positions`` → merchant id."""

    def __init__(self, positions: dict[int, str]) -> None:
        super().__init__(", ".join(sorted(set(positions.values()))))
        self.positions = positions


@dataclass(frozen=True)
class Recorded:
    """One transaction of a request and whether it was already known; ``row`` is None when
    it was ``refused`` (a blacklist hit)."""

    row: Transaction | None
    duplicate: bool
    refused: BlacklistMatch | None = None


def record_transactions(session: Session, *, items: Sequence[TransactionIn], actor: Actor,
                        keyring: Keyring, policy: Policy, now: dt.datetime,
                        blacklist: BlacklistIndex | None = None) -> list[Recorded]:
    """Store ``items`` (in order), audit each new one and publish ``transactions_recorded``
    per merchant (real-time monitoring subscribes); returns one ``Recorded`` per item.
    Items hitting ``blacklist`` (default: the database's current index) are refused.

    Raises ``UnknownMerchants`` (nothing stored) when a merchant id does not exist.
    """
    _require_merchants(session, items)
    known = _existing(session, items)
    pepper = keyring.peppers[keyring.current]
    if blacklist is None:
        from app.services.blacklist_index import current_index
        blacklist = current_index(session)
    out: list[Recorded] = []
    new_rows: list[Transaction] = []
    for item in items:
        key = (item.merchant_id, item.external_id)
        if key in known:
            out.append(Recorded(known[key], True))
            continue
        row = _row(item, pepper, policy, now)
        _account_fields(row, item, keyring)
        hit = blacklist.match(_probe(row)) if blacklist else None
        if hit is not None:
            _refuse(session, row, hit, actor=actor, policy=policy, now=now)
            out.append(Recorded(None, False, hit))
            continue
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


def _probe(row: Transaction) -> BlacklistProbe:
    return BlacklistProbe(
        ip=parse_ip(row.client_ip) if row.client_ip else None,
        card_fingerprint=card_key(row.card_fingerprint) if row.card_fingerprint else None,
        customer_ref=customer_key(row.customer_ref) if row.customer_ref else None,
        device_id=device_key(row.device_id) if row.device_id else None)


def _refuse(session: Session, row: Transaction, hit: BlacklistMatch, *, actor: Actor,
            policy: Policy, now: dt.datetime) -> None:
    """Audit the refusal of a blacklisted payment and open its alert (not stored)."""
    from app.services.blacklist_alerts import open_blacklist_alert
    draft = actor.event("transaction.refused", target_type="transaction",
                        merchant_id=row.merchant_id, operation=row.type, amount=row.amount,
                        currency=row.currency, card_masked=row.card_masked,
                        customer_ref=row.customer_ref, decision="deny", reason="blacklisted",
                        details={"external_id": row.external_id, "client_ip": row.client_ip,
                                 "occurred_at": row.occurred_at.isoformat(),
                                 "device_id": row.device_id, "blacklist": hit.to_dict()})
    draft.source_ip = row.client_ip or actor.source_ip
    record(session, draft)
    open_blacklist_alert(session, merchant_id=row.merchant_id, match=hit.to_dict(),
                         channel="transactions", occurred_at=row.occurred_at, now=now,
                         policy=policy, actor=actor.name)


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
                       description=scrub_pans(item.description), created_at=now,
                       device_id=item.device_id)


def _account_fields(row: Transaction, item: TransactionIn, keyring: Keyring) -> None:
    """Copy the payment-account fields; e-mail and phone only as digests (and the country)."""
    row.account_ref, row.account_type = item.account_ref, item.account_type
    row.account_opened_at, row.counterparty_ref = item.account_opened_at, item.counterparty_ref
    row.account_holder_birth_year, row.ip_country = item.account_holder_birth_year, item.ip_country
    if item.account_email:
        row.account_email_hash = identity_digest("email", item.account_email, keyring)
    if item.account_phone:
        row.account_phone_hash = identity_digest("phone", item.account_phone, keyring)
        row.phone_country = phone_country(item.account_phone)


def identity_digest(kind: str, value: str, keyring: Keyring) -> str:
    """The keyed digest of an account's e-mail (case-folded) or E.164 phone."""
    return keyring.keyed_hash(f"account_{kind}", value.strip().lower())


def phone_country(e164: str) -> str | None:
    """The ISO country of an E.164 number (offline metadata), ``None`` when unknown."""
    try:
        region = phonenumbers.region_code_for_number(phonenumbers.parse(e164, None))
    except phonenumbers.NumberParseException:
        return None
    return region if region and region != "ZZ" else None


def _event(actor: Actor, row: Transaction) -> EventDraft:
    draft = actor.event("transaction.recorded", target_type="transaction", target_id=row.id,
                        merchant_id=row.merchant_id, operation=row.type, amount=row.amount,
                        currency=row.currency, card_masked=row.card_masked,
                        customer_ref=row.customer_ref,
                        details={"external_id": row.external_id, "client_ip": row.client_ip,
                                 "occurred_at": row.occurred_at.isoformat(),
                                 **({"device_id": row.device_id} if row.device_id else {})})
    draft.source_ip = row.client_ip or actor.source_ip  # the payer's address when known (R-B5)
    return draft
