"""A case worth reporting (R-D5), built for the STR tests: a Turkish merchant made through
the API (persons, owners, contacts, audit), a second merchant sharing its IBAN, card
transactions sent through the API (so cards are masked the real way), verification calls in
the audit trail, and — since the case services live elsewhere — the case, its alerts, a note
and a merchant decision stored with the models and audited as those services do."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlmodel import Session

from app.audit.trail import Actor, EventDraft, record
from app.models import Alert, Case, CaseNote, Decision
from app.services.api_anomalies import IP_SCENARIO, VERIFY_ACTION
from tests.factories import TCKN, application

MERCHANT_NAME = "Öztürk Şişe Ürünleri Ltd. Şti."
PANS = ("4111111111111111", "5555555555554444")
MASKS = ("411111******1111", "555555******4444")
ANALYST = Actor(name="staff:analist@banka.example")
DAY = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
SUSPICIOUS_IP = "198.51.100.23"
NARRATIVE = ("Aynı kartla kısa sürede çok sayıda yuvarlak tutarlı satış; "
             "İşyeri sahibi Şükrü Öztürk ile görüşüldü, açıklama yetersiz.")


@dataclass
class StrWorld:
    """What the tests look for in the package."""

    merchant_id: str
    linked_id: str
    case_id: str
    alert_ids: list[str]
    transaction_ids: list[str]
    note_id: str


def str_merchant_body(**overrides) -> dict:
    """An application for the Turkish merchant with Turkish owner names."""
    return application(
        legal_name=MERCHANT_NAME, trade_name="Öztürk Şişe", website="https://ozturksise.com.tr",
        email="muhasebe@ozturksise.com.tr", phone="+90 232 444 12 34",
        owners=[{"full_name": "Şükrü Öztürk", "national_id": TCKN[6], "birth_date": "1968-02-29",
                 "nationality": "TR", "share_pct": "70", "role": "owner"},
                {"full_name": "İlknur Ağaoğlu", "national_id": TCKN[7],
                 "birth_date": "1975-07-04", "nationality": "TR", "share_pct": "30",
                 "role": "owner"}], **overrides)


def _post(api, path: str, body: dict) -> dict:
    resp = api.post(path, json=body)
    assert resp.status_code in (200, 201), resp.get_json()
    return resp.get_json()


def _transactions(api, merchant_id: str) -> list[str]:
    ids = []
    for i, pan in enumerate((PANS[0], PANS[0], PANS[1])):
        body = {"merchant_id": merchant_id, "external_id": f"sip-{i + 1}", "type": "sale",
                "amount": "5000.00", "currency": "TRY",
                "occurred_at": (DAY + dt.timedelta(hours=10, minutes=i)).isoformat(),
                "card_number": pan, "customer_ref": f"müşteri-{i + 1}",
                "client_ip": SUSPICIOUS_IP, "description": f"Şişe siparişi {PANS[1]}"}
        ids.append(_post(api, "/api/v1/transactions", body)["id"])
    return ids


def _verify_calls(session: Session, merchant_id: str) -> None:
    for i in range(3):
        record(session, EventDraft(
            action=VERIFY_ACTION, actor="key:kyb_test", merchant_id=merchant_id,
            source_ip=SUSPICIOUS_IP, customer_ref=f"müşteri-{i + 1}", card_masked=MASKS[0],
            decision="allow", at=DAY + dt.timedelta(hours=11, minutes=i)))


def _alert(session: Session, *, case: Case, scenario: str, details: dict,
           minute: int) -> Alert:
    at = DAY + dt.timedelta(hours=12, minutes=minute)
    alert = Alert(merchant_id=case.merchant_id, scenario=scenario, severity="high",
                  summary=f"{scenario}: Öztürk Şişe", details=details,
                  dedupe_key=f"{scenario}:{case.merchant_id}", case_id=case.id,
                  occurred_at=DAY + dt.timedelta(hours=10), opened_at=at,
                  due_at=at + dt.timedelta(hours=3))
    session.add(alert)
    session.flush()
    record(session, EventDraft(action="alert.opened", actor="system:monitoring",
                               target_type="alert", target_id=alert.id,
                               merchant_id=case.merchant_id, reason=scenario, at=at,
                               details={"scenario": scenario, "policy_version":
                                        details.get("policy_version")}))
    return alert


def _case(session: Session, merchant_id: str) -> Case:
    at = DAY + dt.timedelta(hours=13)
    case = Case(merchant_id=merchant_id, title="Kart hızı ve IP yoğunluğu", priority="high",
                opened_by=ANALYST.name, opened_at=at, due_at=at + dt.timedelta(days=5),
                assignee=ANALYST.name, status="investigating", narrative=NARRATIVE)
    session.add(case)
    session.flush()
    record(session, ANALYST.event("case.opened", target_type="case", target_id=case.id,
                                  merchant_id=merchant_id, at=at, details={"title": case.title}))
    return case


def _note(session: Session, case: Case) -> CaseNote:
    at = DAY + dt.timedelta(hours=14)
    note = CaseNote(case_id=case.id, author=ANALYST.name, created_at=at,
                    text=f"Müşteri kartı {PANS[0]} ile üç ödeme yaptı; çağrı kaydı eklendi.")
    session.add(note)
    session.flush()
    record(session, ANALYST.event("case.note_added", target_type="case", target_id=case.id,
                                  merchant_id=case.merchant_id, at=at,
                                  details={"note_id": note.id, "length": len(note.text)}))
    return note


def _decision(session: Session, merchant_id: str) -> None:
    at = DAY + dt.timedelta(hours=15)
    row = Decision(merchant_id=merchant_id, decision="suspend", reason="Şüpheli işlem incelemesi",
                   actor="staff:onayci@banka.example", policy_version="kyb-2026.11.2",
                   created_at=at)
    session.add(row)
    session.flush()
    record(session, EventDraft(action="decision.suspend", actor=row.actor,
                               target_type="decision", target_id=row.id,
                               merchant_id=merchant_id, decision="suspend", at=at,
                               details={"reason": row.reason}))


def build_str_world(api, session: Session) -> StrWorld:
    """Store the whole case and commit; returns the ids tests look for."""
    merchant_id = _post(api, "/api/v1/merchants", str_merchant_body())["id"]
    linked_id = _post(api, "/api/v1/merchants", application(
        legal_name="Ege Cam Ambalaj A.Ş.", iban=str_merchant_body()["iban"]))["id"]
    txn_ids = _transactions(api, merchant_id)
    _verify_calls(session, merchant_id)
    case = _case(session, merchant_id)
    velocity = _alert(session, case=case, scenario="card_velocity", details={
        "transaction_ids": txn_ids[:2], "uses": 2, "policy_version": "kyb-2026.11.2"}, minute=0)
    api_alert = _alert(session, case=case, scenario=IP_SCENARIO, details={
        "subject": SUSPICIOUS_IP, "count": 3, "threshold": 3, "day": f"{DAY:%Y-%m-%d}"},
        minute=5)
    note = _note(session, case)
    _decision(session, merchant_id)
    session.commit()
    return StrWorld(merchant_id, linked_id, case.id, [velocity.id, api_alert.id], txn_ids,
                    note.id)
