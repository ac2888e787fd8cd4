"""The STR package of a case (R-D5): its content, masking, anchors, determinism and hash."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest
from sqlmodel import select

from app.audit.trail import Actor, chain_head
from app.models import Alert, AuditEvent, Case, CaseNote, Transaction
from app.services.personal_data import Disclosure
from app.services.str_report import CaseNotFound, build_str_package, canonical_json
from tests.factories import TCKN
from tests.str_support import (
    MASKS,
    MERCHANT_NAME,
    NARRATIVE,
    PANS,
    SUSPICIOUS_IP,
    build_str_world,
)

NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)


DISCLOSURE = Disclosure(actor=Actor("test"), purpose="STR package test")


@pytest.fixture
def world(api, db_session):
    return build_str_world(api, db_session)


@pytest.fixture
def package(world, db_session):
    return build_str_package(db_session, disclosure=DISCLOSURE, case_id=world.case_id, now=NOW)


def test_package_names_the_merchant_its_owners_with_full_ids_and_linked_merchants(
        package, world):
    assert package["merchant"]["legal_name"] == MERCHANT_NAME
    assert package["merchant"]["id"] == world.merchant_id
    owners = {p["full_name"]: p for p in package["persons"]}
    assert set(owners) == {"Şükrü Öztürk", "İlknur Ağaoğlu"}
    sukru = owners["Şükrü Öztürk"]
    # MASAK asks for the full national id (issue #13, R-D7): decrypted for the package only
    assert sukru["national_id"] == TCKN[6] and owners["İlknur Ağaoğlu"]["national_id"] == TCKN[7]
    assert sukru["national_id_masked"] and sukru["national_id_masked"] != TCKN[6]
    assert "sealed" in sukru["national_id_note"] and "audit" in sukru["national_id_note"]
    assert package["linked_merchants"]["merchants"] == [
        {"merchant_id": world.linked_id, "name": "Ege Cam Ambalaj A.Ş.", "status": "applied",
         "shares": ["iban"]}]


def test_package_holds_the_alerts_with_evidence_and_the_transactions_they_name(package, world):
    assert [a["id"] for a in package["alerts"]] == world.alert_ids
    velocity, api_alert = package["alerts"]
    assert velocity["scenario"] == "card_velocity"
    assert velocity["transaction_ids"] == world.transaction_ids[:2]
    assert velocity["api_calls"] == "not_applicable"
    assert api_alert["evidence"]["subject"] == SUSPICIOUS_IP and api_alert["api_calls"] == "found"
    # the third transaction is not named by any alert's evidence: not in the report
    assert [t["id"] for t in package["transactions"]] == world.transaction_ids[:2]
    first = package["transactions"][0]
    assert first["card_masked"] == MASKS[0] and first["amount"] == "5000"
    assert first["alert_ids"] == [velocity["id"]]
    assert first["anchors"][0]["action"] == "transaction.recorded"
    assert package["missing_transaction_ids"] == []


def test_api_calls_are_the_verifications_of_the_alerts_subject_that_day(package, world,
                                                                         db_session):
    calls = package["api_calls"]
    assert [c["customer_ref"] for c in calls] == ["müşteri-1", "müşteri-2", "müşteri-3"]
    stored = {e.seq: e.hash for e in db_session.exec(
        select(AuditEvent).where(AuditEvent.action == "api.verify")).all()}
    assert {c["seq"]: c["hash"] for c in calls} == stored
    assert all(c["card_masked"] == MASKS[0] and c["alert_ids"] == [world.alert_ids[1]]
               for c in calls)


def test_no_full_card_number_reaches_the_package(package):
    text = json.dumps(package, ensure_ascii=False)
    for pan in PANS:
        assert pan not in text
    # a card number typed into a note is masked too
    assert package["narrative"]["notes"][0]["text"].startswith(f"Müşteri kartı {MASKS[0]}")


def test_narrative_decisions_and_policy_versions(package, world):
    assert package["narrative"]["text"] == NARRATIVE
    assert package["narrative"]["notes"][0]["id"] == world.note_id
    assert package["narrative"]["notes"][0]["anchors"][0]["action"] == "case.note_added"
    actions = [e["action"] for e in package["decisions"]["case_events"]]
    assert actions == ["case.opened", "alert.opened", "alert.opened", "case.note_added"]
    assert package["decisions"]["case_events"][0]["actor"] == "staff:analist@banka.example"
    (decision,) = package["decisions"]["merchant_decisions"]
    assert (decision["decision"], decision["actor"]) == ("suspend", "staff:onayci@banka.example")
    assert decision["anchors"][0]["action"] == "decision.suspend"
    assert package["policy_versions"] == [
        {"version": "kyb-2026.11.2", "used_by": sorted([world.alert_ids[0], decision["id"]])}]


def test_every_anchor_is_a_stored_event_and_the_chain_head_is_recorded(package, db_session):
    stored = {e.seq: e.hash for e in db_session.exec(select(AuditEvent)).all()}
    items = [package["case"], package["merchant"], *package["alerts"],
             *package["transactions"], *package["narrative"]["notes"],
             *package["decisions"]["merchant_decisions"]]
    anchors = [a for item in items for a in item["anchors"]]
    assert len(anchors) >= 8
    assert all(stored[a["seq"]] == a["hash"] for a in anchors)
    seq, digest = chain_head(db_session)
    assert package["audit"]["chain_head_at_export"] == {"seq": seq, "hash": digest}


def test_package_is_deterministic_and_its_hash_covers_every_other_key(package, world,
                                                                     db_session):
    again = build_str_package(db_session, disclosure=DISCLOSURE, case_id=world.case_id, now=NOW)
    assert again == package
    body = {k: v for k, v in package.items() if k != "sha256"}
    expected = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"),
                                         ensure_ascii=False).encode()).hexdigest()
    assert package["sha256"] == expected == hashlib.sha256(canonical_json(package)).hexdigest()
    note = db_session.get(CaseNote, world.note_id)
    note.text = "başka bir metin"
    db_session.add(note)
    db_session.flush()
    changed = build_str_package(db_session, disclosure=DISCLOSURE, case_id=world.case_id, now=NOW)
    assert changed["sha256"] != package["sha256"]


def test_unknown_case_is_refused(db_session):
    with pytest.raises(CaseNotFound, match="no case with id cas_nope"):
        build_str_package(db_session, disclosure=DISCLOSURE, case_id="cas_nope", now=NOW)


def test_evidence_naming_an_unknown_transaction_lists_it_as_missing(world, db_session):
    alert = db_session.get(Alert, world.alert_ids[0])
    alert.details = {**alert.details, "transaction_ids": [*alert.details["transaction_ids"],
                                                          "trx_gone"]}
    db_session.add(alert)
    db_session.flush()
    package = build_str_package(db_session, disclosure=DISCLOSURE, case_id=world.case_id, now=NOW)
    assert package["missing_transaction_ids"] == ["trx_gone"]
    assert len(package["transactions"]) == 2


def test_api_alert_without_a_day_says_its_calls_are_unknown(world, db_session):
    alert = db_session.get(Alert, world.alert_ids[1])
    alert.details = {"subject": SUSPICIOUS_IP}
    db_session.add(alert)
    db_session.flush()
    package = build_str_package(db_session, disclosure=DISCLOSURE, case_id=world.case_id, now=NOW)
    assert package["alerts"][1]["api_calls"].startswith("unknown:")
    assert package["api_calls"] == []


def test_a_stored_card_value_that_is_not_a_mask_is_redacted(world, db_session):
    row = db_session.get(Transaction, world.transaction_ids[0])
    row.card_masked = PANS[0]  # a row written around the service, as a bad import might
    db_session.add(row)
    db_session.flush()
    package = build_str_package(db_session, disclosure=DISCLOSURE, case_id=world.case_id, now=NOW)
    assert package["transactions"][0]["card_masked"].startswith("[redacted")
    assert PANS[0] not in json.dumps(package)


def test_a_case_without_alerts_has_an_empty_but_valid_package(world, db_session):
    case = Case(merchant_id=world.merchant_id, title="Boş vaka", opened_by="staff:a@b.example")
    db_session.add(case)
    db_session.flush()
    package = build_str_package(db_session, disclosure=DISCLOSURE, case_id=case.id, now=NOW)
    assert package["alerts"] == package["transactions"] == package["api_calls"] == []
    assert package["merchant"]["legal_name"] == MERCHANT_NAME


def test_policy_version_is_read_from_the_alerts_opening_event_too(world, db_session):
    from app.audit.trail import EventDraft, record
    alert = db_session.get(Alert, world.alert_ids[1])  # its evidence names no policy
    record(db_session, EventDraft(action="alert.escalated", actor="system:monitoring",
                                  target_type="alert", target_id=alert.id,
                                  merchant_id=alert.merchant_id,
                                  details={"policy_version": "kyb-2026.11.1"}))
    package = build_str_package(db_session, disclosure=DISCLOSURE, case_id=world.case_id, now=NOW)
    assert {"version": "kyb-2026.11.1", "used_by": [alert.id]} in package["policy_versions"]


def test_a_card_number_sent_as_a_customer_ref_is_masked(world, db_session):
    row = db_session.get(Transaction, world.transaction_ids[0])
    row.customer_ref = PANS[1]
    db_session.add(row)
    db_session.flush()
    package = build_str_package(db_session, disclosure=DISCLOSURE, case_id=world.case_id, now=NOW)
    assert package["transactions"][0]["customer_ref"] == MASKS[1]
    assert PANS[1] not in json.dumps(package)
