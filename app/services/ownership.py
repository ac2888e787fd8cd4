"""Shared-ownership lookup (R-A6): which other merchants share an owner, the payout IBAN, the
contact e-mail or phone, the website's registered domain or the sign-up IP with a merchant.

Every query is an index lookup keyed by this merchant's own values, so the cost does not grow
with the number of merchants (``bench/assess.py`` measures it at 100,000):

- owners: the keyed blind indexes ``person.national_id_index`` (``ix_person_national_id_index``)
  and ``person.name_birth_index`` (``ix_person_name_birth``) find the same person under another
  record (names, birth dates and ids themselves are sealed: ``app.services.personal_data``);
  ``ownership(person_id, merchant_id)`` (``ix_ownership_person``) their merchants;
- IBAN: ``bank_account.iban`` (``ix_bank_account_iban``), current or past IBANs of others;
- contacts: ``contact_point(kind, value_key)`` (``ix_contact_kind_value``), current values only.

Owner names are opened through a :class:`~app.services.personal_data.Disclosure` (the
caller's, or one audited here for the system), only for owners the statements found.

The links of one merchant are capped at ``MAX_LINKS`` rows (a carrier-grade NAT sign-up IP can
be shared by thousands) so that one assessment stays bounded. Every branch of the statement
starts from this merchant's own rows and joins through an index; ``<>`` on the merchant id is a
filter on rows already found, never a scan.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import sqlalchemy as sa
from sqlmodel import Session

from app.models import Merchant
from app.services.personal_data import SYSTEM, Disclosure, data_keys
from checks.facts import IdentityConflict, LinkedMerchant, OwnerMerchantCount, SharedOwnership

MAX_LINKS = 1000
SHARE_ORDER = ("owner", "iban", "email", "phone", "domain", "signup_ip")


_LINKS = sa.text("""
SELECT 'owner' AS share, p.id AS owner_id, p.full_name_sealed AS owner_name, o2.merchant_id
  FROM ownership o JOIN person p ON p.id = o.person_id
  JOIN ownership o2 ON o2.person_id = p.id AND o2.removed_at IS NULL
 WHERE o.merchant_id = :m AND o.removed_at IS NULL
UNION
SELECT 'owner', p.id, p.full_name_sealed, o2.merchant_id
  FROM ownership o JOIN person p ON p.id = o.person_id
  JOIN person p2 ON p2.national_id_index = p.national_id_index AND p2.id <> p.id
  JOIN ownership o2 ON o2.person_id = p2.id AND o2.removed_at IS NULL
 WHERE o.merchant_id = :m AND o.removed_at IS NULL
UNION
SELECT 'owner', p.id, p.full_name_sealed, o2.merchant_id
  FROM ownership o JOIN person p ON p.id = o.person_id
  JOIN person p2 ON p2.name_birth_index = p.name_birth_index AND p2.id <> p.id
  JOIN ownership o2 ON o2.person_id = p2.id AND o2.removed_at IS NULL
 WHERE o.merchant_id = :m AND o.removed_at IS NULL
UNION
SELECT 'iban', NULL, NULL, b.merchant_id
  FROM bank_account b WHERE b.iban = :iban AND b.merchant_id <> :m
UNION
SELECT c.kind, NULL, NULL, c2.merchant_id
  FROM contact_point c
  JOIN contact_point c2 ON c2.kind = c.kind AND c2.value_key = c.value_key
                       AND c2.removed_at IS NULL AND c2.merchant_id <> :m
 WHERE c.merchant_id = :m AND c.removed_at IS NULL
   AND c.kind IN ('email', 'phone', 'domain', 'signup_ip')
LIMIT :cap
""")


# An owner of this merchant and another person record with the same national id but another
# name or birth date (``ix_person_national_id_index``; the name and name-and-birth-date blind
# indexes tell "another name or birth date" without opening anything), with its merchants.
_CONFLICTS = sa.text("""
SELECT p.id, p.national_id_masked, p.full_name_sealed, p.birth_date_sealed,
       p2.id, p2.full_name_sealed, p2.birth_date_sealed, o2.merchant_id
  FROM ownership o JOIN person p ON p.id = o.person_id
  JOIN person p2 ON p2.national_id_index = p.national_id_index AND p2.id <> p.id
  LEFT JOIN ownership o2 ON o2.person_id = p2.id AND o2.removed_at IS NULL
 WHERE o.merchant_id = :m AND o.removed_at IS NULL AND p.national_id_index IS NOT NULL
   AND (p2.name_index <> p.name_index OR p2.name_birth_index IS NULL
        OR p.name_birth_index IS NULL OR p2.name_birth_index <> p.name_birth_index)
 ORDER BY p2.id
 LIMIT :cap
""")


def find_shared_ownership(session: Session, *, merchant: Merchant,
                          disclosure: Disclosure | None = None) -> SharedOwnership:
    """Other merchants linked to ``merchant``, and how many merchants each owner is behind.

    One statement (a UNION of index lookups) finds every link; a second names the merchants.
    Owner names are opened through ``disclosure``; without one, the system's opening is
    audited here (purpose "shared ownership").
    """
    own = disclosure or Disclosure(actor=SYSTEM, purpose="shared ownership",
                                     keys=data_keys(session))
    rows = session.execute(_LINKS, {"m": merchant.id, "iban": merchant.iban or "",
                                    "cap": MAX_LINKS}).all()
    shares: dict[str, set[str]] = defaultdict(set)
    owners: dict[str, tuple[str, set[str]]] = {}
    for share, owner_id, owner_name, other in rows:
        if owner_id is not None:
            if owner_id not in owners:
                name = own.open(owner_id, "full_name", owner_name) or "[erased]"
                owners[owner_id] = (name, set())
            owners[owner_id][1].add(other)
        if other != merchant.id:
            shares[other].add(share)
    counts = tuple(OwnerMerchantCount(name, len(ids | {merchant.id}))
                   for _, (name, ids) in sorted(owners.items(), key=lambda kv: (kv[1][0],
                                                                               kv[0])))
    found = SharedOwnership(linked=_describe(session, shares), merchants_per_owner=counts,
                            identity_conflicts=_conflicts(session, merchant, own))
    if disclosure is None:
        own.record(session, merchant_id=merchant.id)
    return found


def _conflicts(session: Session, merchant: Merchant,
               disclosure: Disclosure) -> tuple[IdentityConflict, ...]:
    found: dict[str, tuple[tuple, list[str]]] = {}
    for (pid, masked, name, born, other_id, other_name, other_born,
         other_merchant) in session.execute(_CONFLICTS, {"m": merchant.id, "cap": MAX_LINKS}):
        if other_id not in found:
            head = (masked, _open(disclosure, pid, "full_name", name),
                    _date(disclosure.open(pid, "birth_date", born)),
                    _open(disclosure, other_id, "full_name", other_name),
                    _date(disclosure.open(other_id, "birth_date", other_born)))
            found[other_id] = (head, [])
        if other_merchant and other_merchant != merchant.id:
            found[other_id][1].append(other_merchant)
    return tuple(IdentityConflict(*head, merchant_ids=tuple(sorted(set(ids))))
                 for head, ids in found.values())


def _open(disclosure: Disclosure, person_id: str, name: str, sealed: str | None) -> str:
    return disclosure.open(person_id, name, sealed) or "[erased]"


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def _describe(session: Session, shares: dict[str, set[str]]) -> tuple[LinkedMerchant, ...]:
    if not shares:
        return ()
    rows = session.execute(sa.select(Merchant.id, Merchant.legal_name, Merchant.status)
                           .where(Merchant.id.in_(list(shares)))).all()
    return tuple(
        LinkedMerchant(merchant_id=mid, name=name, status=str(status),
                       shares=tuple(s for s in SHARE_ORDER if s in shares[mid]))
        for mid, name, status in sorted(rows)
    )
