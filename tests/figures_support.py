"""Test helpers for the running figures: an onboarded merchant with a baseline assessment made
without lookups, and reads that never keep a SQLite transaction open."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

from app.audit.trail import Actor
from app.models import Merchant
from app.services.assessments import store_assessment
from checks.facts import PriceRange, TransactionsSummary
from checks.policy import load_policy
from tests.keys_support import approved_merchant
from tests.unit.checks.conftest import clean_facts

POLICY = load_policy()


def onboarded(api, db_session, *, activated_at: dt.datetime, sector: str = "5992",
              declared_max: str = "200") -> str:
    """An approved merchant activated at ``activated_at`` with a low-tier assessment (no
    lookups made: the snapshot is a clean merchant's) whose reference price is the declared
    maximum (200 TRY by default: the median ticket flags at 600 TRY, the p90 at 1,000 TRY)."""
    merchant_id = approved_merchant(api, db_session, sector=sector)
    merchant = db_session.get(Merchant, merchant_id)
    merchant.activated_at = activated_at
    facts = dataclasses.replace(clean_facts(activated_at), merchant_id=merchant_id,
                                transactions=TransactionsSummary(activated_at=activated_at),
                                declared_prices=PriceRange(Decimal(10), Decimal(declared_max),
                                                           "TRY"))
    assessment = store_assessment(db_session, merchant=merchant, facts=facts,
                                  actor=Actor("test:onboarding"), now=activated_at,
                                  trigger="manual", policy=POLICY)
    db_session.commit()
    assert assessment.tier == "low"
    return merchant_id


def read(db_session, fn):
    """``fn(session)`` in a transaction of its own that ends at once (the app's writers take
    SQLite's write lock with BEGIN IMMEDIATE, so the test must not keep one open)."""
    db_session.expire_all()
    try:
        result = fn(db_session)
        if isinstance(result, list):
            for item in result:
                db_session.refresh(item)
        elif result is not None:
            db_session.refresh(result)
        db_session.expunge_all()
        return result
    finally:
        db_session.rollback()


