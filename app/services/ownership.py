"""Shared-ownership lookup (R-A6): which other merchants share an owner, the payout IBAN, the
contact e-mail or phone, the website's registered domain or the sign-up IP with a merchant.

Every query is an index lookup keyed by this merchant's own values, so the cost does not grow
with the number of merchants (``bench/assess.py`` measures it at 100,000):

- owners: ``person.national_id_hash`` (``ix_person_national_id_hash``) and
  ``person(name_key, birth_date)`` (``ix_person_name_birth``) find the same person under another
  record; ``ownership(person_id, merchant_id)`` (``ix_ownership_person``) their merchants;
- IBAN: ``bank_account.iban`` (``ix_bank_account_iban``), current or past IBANs of others;
- contacts: ``contact_point(kind, value_key)`` (``ix_contact_kind_value``), current values only.

The links of one merchant are capped at ``MAX_LINKS`` rows (a carrier-grade NAT sign-up IP can
be shared by thousands) so that one assessment stays bounded. Every branch of the statement
starts from this merchant's own rows and joins through an index; ``<>`` on the merchant id is a
filter on rows already found, never a scan.
"""

from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa
from sqlmodel import Session

from app.models import Merchant
from checks.facts import LinkedMerchant, OwnerMerchantCount, SharedOwnership

MAX_LINKS = 1000
SHARE_ORDER = ("owner", "iban", "email", "phone", "domain", "signup_ip")


_LINKS = sa.text("""
SELECT 'owner' AS share, p.id AS owner_id, p.full_name AS owner_name, o2.merchant_id
  FROM ownership o JOIN person p ON p.id = o.person_id
  JOIN ownership o2 ON o2.person_id = p.id AND o2.removed_at IS NULL
 WHERE o.merchant_id = :m AND o.removed_at IS NULL
UNION
SELECT 'owner', p.id, p.full_name, o2.merchant_id
  FROM ownership o JOIN person p ON p.id = o.person_id
  JOIN person p2 ON p2.national_id_hash = p.national_id_hash AND p2.id <> p.id
  JOIN ownership o2 ON o2.person_id = p2.id AND o2.removed_at IS NULL
 WHERE o.merchant_id = :m AND o.removed_at IS NULL
UNION
SELECT 'owner', p.id, p.full_name, o2.merchant_id
  FROM ownership o JOIN person p ON p.id = o.person_id
  JOIN person p2 ON p2.name_key = p.name_key AND p2.birth_date = p.birth_date
                AND p2.id <> p.id
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


def find_shared_ownership(session: Session, *, merchant: Merchant) -> SharedOwnership:
    """Other merchants linked to ``merchant``, and how many merchants each owner is behind.

    One statement (a UNION of index lookups) finds every link; a second names the merchants.
    """
    rows = session.execute(_LINKS, {"m": merchant.id, "iban": merchant.iban or "",
                                    "cap": MAX_LINKS}).all()
    shares: dict[str, set[str]] = defaultdict(set)
    owners: dict[str, tuple[str, set[str]]] = {}
    for share, owner_id, owner_name, other in rows:
        if owner_id is not None:
            owners.setdefault(owner_id, (owner_name, set()))[1].add(other)
        if other != merchant.id:
            shares[other].add(share)
    counts = tuple(OwnerMerchantCount(name, len(ids | {merchant.id}))
                   for _, (name, ids) in sorted(owners.items(), key=lambda kv: (kv[1][0],
                                                                               kv[0])))
    return SharedOwnership(linked=_describe(session, shares), merchants_per_owner=counts)


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
