"""Analysts' "not this person" decisions on screening hits, on a real database (issue #12
item 3, R-D2): honoured on re-screening, four eyes for a strong hit, lapsing when the list entry
or the subject changes; a PEP owner's hit carries the PEP's position (item 4)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlmodel import select

from app.audit.trail import Actor
from app.models import AuditEvent, Merchant, Ownership, Person
from app.services.personal_data import data_keys, seal_person
from app.services.screening import import_list, screen_merchant, screening_index
from app.services.screening_decisions import (
    DismissalRefused,
    apply_dismissals,
    confirm_dismissal,
    dismiss_hit,
)
from checks.facts import MerchantFacts
from checks.kyb.screening import sanctions_pep
from checks.policy import load_policy
from tests import factories

NOW = dt.datetime(2026, 11, 27, 10, tzinfo=dt.UTC)
POLICY = load_policy()
ANALYST, AYSE, MEHMET = Actor("analyst.ali"), Actor("approver.ayse"), Actor("approver.mehmet")


def _entity(entry_id: str, name: str, born: str, **props) -> dict:
    return {"id": entry_id, "caption": name, "schema": "Person",
            "properties": {"name": [name], "birthDate": [born], "nationality": ["tr"],
                           "topics": ["sanction"], **props}}


def _load(session, tmp_path, *entities: dict, name: str = "Test sanctions",
          kind: str = "sanctions") -> None:
    path = tmp_path / f"{name}-{len(list(tmp_path.iterdir()))}.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in entities), encoding="utf-8")
    import_list(session, paths=[path], kind=kind, name=name, actor=Actor("cli"), now=NOW)
    session.commit()


def _merchant(session, owner: str, born: dt.date) -> Merchant:
    merchant = Merchant(legal_name="Anadolu Çiçek A.Ş.", country="TR", status="approved",
                        tier="low")
    person = factories.person(session, owner, born)
    session.add_all([merchant, person])
    session.flush()
    session.add(Ownership(merchant_id=merchant.id, person_id=person.id, share_pct=50))
    session.commit()
    return merchant


def _judge(session, merchant: Merchant):
    index = screening_index(session)
    hits, lists = screen_merchant(session, merchant=merchant, index=index)
    hits = apply_dismissals(session, merchant=merchant, hits=hits, index=index)
    facts = MerchantFacts(merchant_id=merchant.id, legal_name=merchant.legal_name,
                          screening_hits=hits, screened_lists=lists)
    return sanctions_pep(facts, POLICY, NOW)


def _dismiss(session, merchant, actor, role, entry_id="san-1", subject="Cumhur Yakutlu"):
    return dismiss_hit(session, merchant=merchant, index=screening_index(session),
                       subject_role="owner", subject=subject, list_name="Test sanctions",
                       entry_id=entry_id, reason="Different person: born 1980, not 1960",
                       actor=actor, role=role, now=NOW, policy=POLICY)


def _actions(session, merchant_id: str) -> list[str]:
    return [e.action for e in session.exec(select(AuditEvent).where(
        AuditEvent.merchant_id == merchant_id, AuditEvent.action.not_like("personal_data.%"))
        .order_by(AuditEvent.seq)).all()]


def test_a_dismissed_possible_hit_is_honoured_on_rescreen_until_the_entry_changes(
        db_session, tmp_path):
    _load(db_session, tmp_path, _entity("san-1", "Cumhur Yakutlu", "1960-05-01"))
    merchant = _merchant(db_session, "Cumhur Yakutlu", dt.date(1980, 1, 1))
    assert _judge(db_session, merchant).status == "flag"  # birth date contradicts: possible
    row = _dismiss(db_session, merchant, ANALYST, "analyst")
    db_session.commit()
    assert (row.status, row.strong) == ("active", False)
    assert _actions(db_session, merchant.id) == ["screening.hit_dismissed"]

    again = _judge(db_session, merchant)
    assert again.status == "pass" and again.evidence["possible"] == []
    shown = again.evidence["dismissed"][0]
    assert shown["entry_id"] == "san-1"
    assert shown["dismissal"]["dismissed_by"] == "analyst.ali"
    assert shown["dismissal"]["reason"] == "Different person: born 1980, not 1960"
    with pytest.raises(DismissalRefused) as refused:
        _dismiss(db_session, merchant, ANALYST, "analyst")
    assert refused.value.code == "already_dismissed"

    # The list publishes new data for the entry (an alias): the decision lapses.
    _load(db_session, tmp_path, _entity("san-1", "Cumhur Yakutlu", "1960-05-01",
                                        alias=["C. Yakutlu"]))
    lapsed = _judge(db_session, merchant)
    assert lapsed.status == "flag" and "dismissed" not in lapsed.evidence


def test_a_dismissal_lapses_when_the_owners_name_or_birth_date_changes(db_session, tmp_path):
    _load(db_session, tmp_path, _entity("san-1", "Cumhur Yakutlu", "1960-05-01"))
    merchant = _merchant(db_session, "Cumhur Yakutlu", dt.date(1980, 1, 1))
    _dismiss(db_session, merchant, ANALYST, "analyst")
    db_session.commit()
    assert _judge(db_session, merchant).status == "pass"
    person = db_session.exec(select(Person).join(Ownership, Ownership.person_id == Person.id)
                             .where(Ownership.merchant_id == merchant.id)).one()
    seal_person(person, full_name="Cumhur Yakutlu", birth_date=dt.date(1981, 2, 2),
                national_id=None, keys=data_keys(db_session))
    db_session.add(person)
    db_session.commit()
    assert _judge(db_session, merchant).status == "flag"  # same name, other birth date
    seal_person(person, full_name="Cumhur Yakutlu Oğlu", birth_date=dt.date(1980, 1, 1),
                national_id=None, keys=data_keys(db_session))
    db_session.add(person)
    db_session.commit()
    renamed = _judge(db_session, merchant)
    assert "dismissed" not in renamed.evidence
    assert renamed.status in ("flag", "pass")  # judged afresh on the new name
    seal_person(person, full_name="Cumhur Yakutlu", birth_date=dt.date(1980, 1, 1),
                national_id=None, keys=data_keys(db_session))
    db_session.add(person)
    db_session.commit()
    assert _judge(db_session, merchant).status == "pass"  # the same subject again


def test_a_strong_hit_needs_two_different_approvers(db_session, tmp_path):
    _load(db_session, tmp_path, _entity("san-1", "Cumhur Yakutlu", "1960-05-01"))
    merchant = _merchant(db_session, "Cumhur Yakutlu", dt.date(1960, 5, 1))
    assert _judge(db_session, merchant).status == "fail"
    with pytest.raises(DismissalRefused) as refused:
        _dismiss(db_session, merchant, ANALYST, "analyst")
    assert refused.value.code == "approver_required"
    row = _dismiss(db_session, merchant, AYSE, "approver")
    db_session.commit()
    assert (row.status, row.strong) == ("pending", True)
    pending = _judge(db_session, merchant)
    assert pending.status == "fail"  # not yet confirmed: still counts
    assert pending.evidence["strong"][0]["dismissal"]["status"] == "pending"
    for actor, role, code in ((AYSE, "approver", "four_eyes"),
                              (ANALYST, "analyst", "approver_required")):
        with pytest.raises(DismissalRefused) as refused:
            confirm_dismissal(db_session, dismissal=row, actor=actor, role=role, now=NOW)
        assert refused.value.code == code
    confirm_dismissal(db_session, dismissal=row, actor=MEHMET, role="approver", now=NOW)
    db_session.commit()
    confirmed = _judge(db_session, merchant)
    assert confirmed.status == "pass"
    assert confirmed.evidence["dismissed"][0]["dismissal"]["confirmed_by"] == "approver.mehmet"
    assert _actions(db_session, merchant.id) == ["screening.hit_dismissed",
                                                 "screening.hit_dismissal_confirmed"]
    with pytest.raises(DismissalRefused) as refused:
        confirm_dismissal(db_session, dismissal=row, actor=MEHMET, role="approver", now=NOW)
    assert refused.value.code == "not_pending"


def test_a_pep_owner_hit_shows_the_position_and_puts_the_merchant_high(db_session, tmp_path):
    pep = {"id": "pep-1", "caption": "Ayşe Kılıç", "schema": "Person",
           "properties": {"name": ["Ayşe Kılıç"], "birthDate": ["1971"], "nationality": ["tr"],
                          "position": ["Member of the Grand National Assembly"],
                          "topics": ["role.pep"]}}
    _load(db_session, tmp_path, pep, name="Test PEP", kind="pep")
    merchant = _merchant(db_session, "Ayşe Kılıç", dt.date(1971, 3, 4))
    result = _judge(db_session, merchant)
    assert (result.status, result.points) == ("flag", 60)
    hit = result.evidence["possible"][0]
    assert (hit["kind"], hit["position"]) == ("pep", "Member of the Grand National Assembly")
    assert result.evidence["pep_owner"]["positions"] == ["Member of the Grand National Assembly"]
