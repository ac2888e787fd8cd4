"""``kybgate scrub backfill`` (issue #13 item 4, R-B5): card numbers stored before the scrubber
existed (rows written raw, past the flush hook) are masked in every listed free-text column,
a merchant change's values and an alert's JSON details; a second run changes nothing; the
audit trail is only counted, never rewritten, and no card number is printed. SQLite, and
PostgreSQL when ``KYB_TEST_POSTGRES_URL`` is set."""

from __future__ import annotations

import json

import sqlalchemy as sa
from sqlmodel import select

from app.audit.trail import Actor, record
from app.models import Alert, AuditEvent, Merchant, MerchantChange

PAN, MASK = "4111 1111 1111 1111", "411111******1111"


def _raw_rows(db_session) -> tuple[str, str, str]:
    merchant = Merchant(legal_name="Anadolu Çiçek A.Ş.", country="TR")
    db_session.add(merchant)
    db_session.flush()
    change = MerchantChange(merchant_id=merchant.id, field="trade_name", actor="x")
    other = MerchantChange(merchant_id=merchant.id, field="iban", actor="x")
    alert = Alert(merchant_id=merchant.id, scenario="s", summary="clean", details={},
                  dedupe_key="k1")
    db_session.add_all([change, other, alert])
    record(db_session, Actor("test").event("thing.done", details={"note": "clean"}))
    db_session.commit()
    conn = db_session.connection()  # core statements: no flush hook, as before the scrubber
    conn.execute(sa.update(Merchant.__table__).where(Merchant.__table__.c.id == merchant.id)
                 .values(trade_name=f"Kart {PAN} Shop"))
    for row in (change, other):
        conn.execute(sa.update(MerchantChange.__table__)
                     .where(MerchantChange.__table__.c.id == row.id)
                     .values(new_value=f"was {PAN}"))
    conn.execute(sa.update(Alert.__table__).where(Alert.__table__.c.id == alert.id)
                 .values(details={"card": PAN, "n": 3}))
    event = db_session.exec(select(AuditEvent)).one().model_dump()
    conn.execute(sa.insert(AuditEvent.__table__).values(
        {**event, "id": "evt_raw", "seq": event["seq"] + 1, "details": {"pan": PAN}}))
    db_session.commit()
    return merchant.id, change.id, other.id


def test_backfill_masks_old_rows_and_only_counts_the_audit_trail(app, db_session):
    merchant_id, change_id, iban_change_id = _raw_rows(db_session)
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["scrub", "backfill", "--dry-run", "--json"])
    assert dry.exit_code == 0, dry.output
    assert json.loads(dry.stdout)["values_masked"] == 3
    db_session.expire_all()
    assert PAN in db_session.get(Merchant, merchant_id).trade_name
    db_session.rollback()

    result = runner.invoke(args=["scrub", "backfill", "--batch", "1", "--json"])
    assert result.exit_code == 0, result.output
    assert PAN.replace(" ", "") not in result.output and PAN not in result.output
    summary = json.loads(result.stdout)
    assert (summary["rows_changed"], summary["values_masked"]) == (3, 3)
    assert summary["tables"]["merchant_change"] == {"scanned": 2, "rows_changed": 1,
                                                    "values_masked": 1}
    assert summary["audit_events_with_card_numbers"] == 1
    assert "merchant: 1 row(s) read" in result.stderr
    db_session.expire_all()
    assert db_session.get(Merchant, merchant_id).trade_name == f"Kart {MASK} Shop"
    assert db_session.get(MerchantChange, change_id).new_value == f"was {MASK}"
    assert db_session.get(MerchantChange, iban_change_id).new_value == f"was {PAN}"
    assert db_session.exec(select(Alert)).one().details == {"card": MASK, "n": 3}
    assert db_session.get(AuditEvent, "evt_raw").details == {"pan": PAN}  # never rewritten
    done = db_session.exec(select(AuditEvent).where(
        AuditEvent.action == "pans.backfilled")).one()
    assert done.details["values_masked"] == 3
    db_session.rollback()

    again = runner.invoke(args=["scrub", "backfill"])
    assert again.exit_code == 0, again.output
    assert "masked 0 value(s) in 0 row(s)" in again.stdout
    assert "not rewritten): 1" in again.stdout


def test_help_says_what_it_does(app):
    result = app.test_cli_runner().invoke(args=["scrub", "backfill", "--help"])
    assert result.exit_code == 0 and "--dry-run" in result.output
    assert "hash-chained" in result.output
