"""Every console page answers with the demo data loaded in a bounded number of SQL queries (a
query counter on the engine proves there is no N+1). Server time per page (target < 200 ms) is
measured by ``bench/pages.py``, not asserted here: a timed test would fail on a busy machine."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import event
from sqlmodel import select

from app.db import utcnow
from app.demo.loader import load_demo
from app.models import Alert, Merchant
from tests.functional.staff.conftest import seed_assessment


@pytest.fixture
def demo(app, db_session):
    with app.app_context():
        from app.security import Keyring
        s = app.extensions["kyb.settings"]
        loaded = load_demo(db_session, keyring=Keyring(s.token_peppers, s.token_pepper_version),
                           now=utcnow())
    for item in loaded:  # the statuses the demo's review step would give (without its lookups)
        if item.spec.status in {"approved", "suspended"}:
            merchant = db_session.get(Merchant, item.merchant_id)
            merchant.status = item.spec.status
            merchant.activated_at = item.created_at + dt.timedelta(days=3)
            db_session.add(merchant)
    merchants = db_session.exec(select(Merchant).order_by(Merchant.created_at)).all()
    for i, m in enumerate(merchants):
        seed_assessment(db_session, m, tier=("low", "medium", "high")[i % 3], score=10 + i * 2)
    now = utcnow()
    for i, m in enumerate(merchants[:12]):
        db_session.add(Alert(merchant_id=m.id, scenario="card_velocity", summary="same card 6x",
                             dedupe_key=f"demo-{i}", opened_at=now - dt.timedelta(hours=i),
                             due_at=now - dt.timedelta(hours=i) + dt.timedelta(hours=3)))
    db_session.commit()
    return merchants


def _count_queries(app):
    counter = {"n": 0}

    def before(*_args, **_kw):
        counter["n"] += 1
    engine = app.extensions["kyb.engine"]
    event.listen(engine, "before_cursor_execute", before)
    return counter, lambda: event.remove(engine, "before_cursor_execute", before)


def test_every_page_answers_in_a_bounded_number_of_queries(app, demo, staff_client):
    client, _staff = staff_client("admin")
    linked = next(m for m in demo if m.website_domain == "hizlikod-epin.com")
    approved = next(m for m in demo if m.status == "approved")
    # An approved merchant's page makes one query more than another's, for the running totals
    # of its API payments against its caps (spend_total; exactly one, as test_merchant_caps
    # asserts). The bound of 40 leaves room for it.
    pages = {
        "/staff/": 12, "/staff/?show=alerts&tier=high": 12, "/staff/merchants": 12,
        f"/staff/merchants/{approved.id}": 40, f"/staff/merchants/{linked.id}": 40,
        "/staff/blacklists": 12, "/staff/lists": 12, "/staff/audit": 12,
        f"/staff/audit?merchant_id={approved.id}": 12,
    }
    counter, stop = _count_queries(app)
    report = []
    try:
        for path, max_queries in pages.items():
            client.get(path)  # warm templates and caches
            counter["n"] = 0
            resp = client.get(path)
            assert resp.status_code == 200, (path, resp.status_code)
            report.append((path, counter["n"]))
            assert counter["n"] <= max_queries, (path, counter["n"])
    finally:
        stop()
        print("\n".join(f"{p}: {n} queries" for p, n in report))
