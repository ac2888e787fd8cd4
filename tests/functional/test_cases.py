"""Cases (R-D5): opened from alerts or alone, notes and a timeline from the audit trail, actions
on the merchant audited with the case id, attachments checked and checksummed, information
requests, and the four-eyes close."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal

import pytest
from sqlmodel import Session, select

from app.audit.trail import Actor
from app.models import AuditEvent, Merchant
from app.services import case_actions as actions
from app.services import cases as svc
from app.services.alerts import start_review
from app.services.personal_data import data_keys, seal_merchant_contacts
from checks.policy import load_policy
from tests.functional.test_alert_workflow import make_alert

NOW = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.UTC)
POLICY = load_policy()
ANALYST = Actor(name="staff:analist@bank.example")
FIRST = Actor(name="staff:onay1@bank.example")
SECOND = Actor(name="staff:onay2@bank.example")
CLIENT = Actor(name="client:kybc_crm")


def merchant(session: Session, status: str = "approved") -> Merchant:
    row = Merchant(legal_name="Karadeniz Kuyumculuk Ltd. Şti.", country="TR", sector="5944",
                   status=status, tier="low")
    seal_merchant_contacts(row, email="finans@karadeniz.example", keys=data_keys(session))
    session.add(row)
    session.flush()
    return row


def low_case(session: Session, m: Merchant) -> svc.Case:
    return svc.open_case(session, merchant=m, title="Routine look", actor=ANALYST, now=NOW,
                         policy=POLICY, priority="low")


def test_open_case_from_alerts_takes_their_priority_and_links_them(db_session):
    m = merchant(db_session)
    alert = make_alert(db_session, m, severity="high")
    case = svc.open_case(db_session, merchant=m, title="Card testing", actor=ANALYST, now=NOW,
                         policy=POLICY, alert_ids=[alert.id])
    assert (case.priority, case.status, alert.case_id) == ("high", "open", case.id)
    assert case.due_at == NOW + dt.timedelta(hours=72)
    opened = db_session.exec(select(AuditEvent).where(AuditEvent.action == "case.opened")).one()
    assert opened.target_id == case.id and opened.details["alert_ids"] == [alert.id]


def test_case_without_alerts_is_medium_and_refuses_other_merchants_alerts(db_session):
    m, other = merchant(db_session), merchant(db_session)
    case = svc.open_case(db_session, merchant=m, title="Tip from the bank", actor=ANALYST,
                         now=NOW, policy=POLICY)
    assert case.priority == "medium"
    foreign = make_alert(db_session, other)
    with pytest.raises(svc.CaseRefused) as err:
        svc.open_case(db_session, merchant=m, title="Mixed", actor=ANALYST, now=NOW,
                      policy=POLICY, alert_ids=[foreign.id])
    assert err.value.code == "other_merchant"
    with pytest.raises(svc.CaseRefused):
        svc.open_case(db_session, merchant=m, title="x", actor=ANALYST, now=NOW,
                      policy=POLICY)


def test_timeline_has_the_case_and_its_alerts_events_in_order(db_session):
    m = merchant(db_session)
    alert = make_alert(db_session, m)
    start_review(db_session, alert=alert, actor=ANALYST, now=NOW)
    case = svc.open_case(db_session, merchant=m, title="Card testing", actor=ANALYST, now=NOW,
                         policy=POLICY, alert_ids=[alert.id])
    svc.add_note(db_session, case=case, text="Issuer confirms test cards.", actor=ANALYST,
                 now=NOW)
    svc.assign_case(db_session, case=case, assignee=ANALYST.name, actor=ANALYST, now=NOW)
    got = [e.action for e in svc.timeline(db_session, case)]
    assert got == ["alert.opened", "alert.review_started", "case.opened", "case.note_added",
                   "case.assigned"]


@pytest.mark.parametrize("status", ["investigating", "waiting_for_information", "open"])
def test_status_moves_between_working_states(db_session, status):
    case = low_case(db_session, merchant(db_session))
    svc.set_status(db_session, case=case, status="investigating", actor=ANALYST, now=NOW)
    svc.set_status(db_session, case=case, status=status, actor=ANALYST, now=NOW)
    assert case.status == status


def test_status_cannot_be_set_to_closed_or_unknown(db_session):
    case = low_case(db_session, merchant(db_session))
    for status in ("closed", "done"):
        with pytest.raises(svc.CaseRefused):
            svc.set_status(db_session, case=case, status=status, actor=ANALYST, now=NOW)


def test_low_priority_case_is_closed_by_one_analyst_and_its_alerts_with_it(db_session):
    m = merchant(db_session)
    alert = make_alert(db_session, m, severity="low", code="round_amounts")
    case = svc.open_case(db_session, merchant=m, title="Round amounts", actor=ANALYST,
                         now=NOW, policy=POLICY, alert_ids=[alert.id])
    svc.close_case(db_session, case=case, outcome="no_action", reason="Pricing explained.",
                   actor=ANALYST, role="analyst", now=NOW, policy=POLICY)
    assert (case.status, case.closed_by, case.outcome) == ("closed", ANALYST.name, "no_action")
    assert (alert.status, alert.disposition) == ("closed", "not_suspicious")
    with pytest.raises(svc.CaseRefused):
        svc.close_case(db_session, case=case, outcome="no_action", reason="again",
                       actor=ANALYST, role="analyst", now=NOW, policy=POLICY)


def high_case(session: Session) -> svc.Case:
    m = merchant(session)
    alert = make_alert(session, m, severity="high")
    return svc.open_case(session, merchant=m, title="Betting front", actor=ANALYST, now=NOW,
                         policy=POLICY, alert_ids=[alert.id], priority="medium")


def test_four_eyes_close_second_different_approver_completes(db_session):
    case = high_case(db_session)  # medium priority but a high-severity alert
    assert svc.needs_four_eyes(db_session, case, POLICY) == ["high-severity alert"]
    svc.close_case(db_session, case=case, outcome="merchant_offboarded",
                   reason="Front for betting.", actor=FIRST, role="approver", now=NOW,
                   policy=POLICY)
    assert (case.status, case.close_requested_by) == ("open", FIRST.name)
    with pytest.raises(svc.CaseRefused) as same:
        svc.close_case(db_session, case=case, outcome="merchant_offboarded",
                       reason="Front for betting.", actor=FIRST, role="approver", now=NOW,
                       policy=POLICY)
    assert same.value.code == "four_eyes" and case.status == "open"
    svc.close_case(db_session, case=case, outcome="merchant_offboarded", reason="Agreed.",
                   actor=SECOND, role="approver", now=NOW + dt.timedelta(minutes=5),
                   policy=POLICY)
    assert (case.status, case.closed_by) == ("closed", SECOND.name)
    closed = db_session.exec(select(AuditEvent).where(AuditEvent.action == "case.closed")).one()
    assert closed.details["first_approver"] == FIRST.name


def test_analyst_cannot_close_or_request_a_four_eyes_close(db_session):
    case = high_case(db_session)
    with pytest.raises(svc.CaseRefused) as err:
        svc.close_case(db_session, case=case, outcome="no_action", reason="Looks fine.",
                       actor=ANALYST, role="analyst", now=NOW, policy=POLICY)
    assert err.value.code == "approver_required" and case.close_requested_by is None


def test_an_api_client_alone_only_requests_a_four_eyes_close(db_session):
    case = high_case(db_session)
    svc.close_case(db_session, case=case, outcome="no_action", reason="CRM review done.",
                   actor=CLIENT, role="client", now=NOW, policy=POLICY)
    assert case.status == "open" and case.close_requested_by == CLIENT.name
    other_client = Actor(name="client:kybc_other")
    with pytest.raises(svc.CaseRefused) as err:
        svc.close_case(db_session, case=case, outcome="no_action", reason="CRM review done.",
                       actor=other_client, role="client", now=NOW, policy=POLICY)
    assert err.value.code == "person_required" and case.status == "open"
    svc.close_case(db_session, case=case, outcome="no_action", reason="Checked.",
                   actor=SECOND, role="approver", now=NOW, policy=POLICY)
    assert case.status == "closed"


def test_filed_str_and_critical_priority_need_four_eyes(db_session):
    m = merchant(db_session)
    case = low_case(db_session, m)
    assert svc.needs_four_eyes(db_session, case, POLICY) == []
    case.str_filed_at = NOW
    assert svc.needs_four_eyes(db_session, case, POLICY) == ["STR filed"]
    critical = svc.open_case(db_session, merchant=m, title="Sanctions hit", actor=ANALYST,
                             now=NOW, policy=POLICY, priority="critical")
    assert svc.needs_four_eyes(db_session, critical, POLICY) == ["priority critical"]


def test_information_request_waits_and_the_answer_resumes_the_case(db_session):
    m = merchant(db_session)
    case = low_case(db_session, m)
    req = actions.request_information(db_session, case=case, question="Send your invoices.",
                                      actor=ANALYST, now=NOW, policy=POLICY)
    assert case.status == "waiting_for_information"
    assert req.due_at == NOW + dt.timedelta(days=10)
    assert [r.id for r in actions.open_requests(db_session, merchant_id=m.id)] == [req.id]
    actions.answer_request(db_session, request=req, answer="Attached in e-mail.",
                           actor=Actor(name="merchant:a@b.example"), now=NOW)
    assert (req.status, case.status) == ("answered", "investigating")
    with pytest.raises(svc.CaseRefused):
        actions.answer_request(db_session, request=req, answer="again",
                               actor=Actor(name="merchant:a@b.example"), now=NOW)
    got = [e.action for e in svc.timeline(db_session, case)][-2:]
    assert got == ["case.info_requested", "case.info_answered"]


def test_freeze_keys_and_suspend_from_a_case_are_audited_with_the_case_id(db_session):
    m = merchant(db_session)
    case = low_case(db_session, m)
    assert actions.freeze_keys(db_session, case=case, reason="Card testing", actor=FIRST,
                               now=NOW)
    assert m.frozen
    frozen = db_session.exec(select(AuditEvent).where(AuditEvent.action == "keys.frozen")).one()
    assert case.id in frozen.reason or case.id in str(frozen.details)
    actions.suspend_merchant(db_session, case=case, reason="Front for betting", actor=FIRST,
                             now=NOW)
    assert m.status == "suspended"
    changes = [e.details["change"] for e in svc.timeline(db_session, case)
               if e.action == "case.updated"]
    assert changes == ["keys_frozen", "merchant_suspended"]


def test_limits_from_a_case_can_only_go_down(db_session):
    m = merchant(db_session)
    case = low_case(db_session, m)
    caps = actions.merchant_caps(m, POLICY)
    lower = caps.daily - 1
    after = actions.tighten_limits(db_session, case=case, limits={"daily": lower},
                                   reason="Reduce exposure", actor=FIRST, now=NOW,
                                   policy=POLICY)
    assert Decimal(after["daily"]) == lower
    with pytest.raises(svc.CaseRefused):
        actions.tighten_limits(db_session, case=case, limits={"daily": lower + 1},
                               reason="Raise again", actor=FIRST, now=NOW, policy=POLICY)


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_attachment_checksum_is_in_the_audit_event(db_session):
    case = low_case(db_session, merchant(db_session))
    row = actions.add_attachment(db_session, case=case, filename="fatura.pdf", content=PDF,
                                 actor=ANALYST, now=NOW, policy=POLICY)
    digest = hashlib.sha256(PDF).hexdigest()
    assert (row.sha256, row.content_type, row.size) == (digest, "application/pdf", len(PDF))
    event = db_session.exec(select(AuditEvent).where(
        AuditEvent.action == "case.attachment_added")).one()
    assert event.details["sha256"] == digest and event.target_id == case.id


@pytest.mark.parametrize(("name", "content", "code"), [
    ("program.exe", b"MZ\x90\x00\x03\x00\x00\x00", "type_not_allowed"),
    ("fake.pdf", b"\x00\x01binary", "type_not_allowed"),
    ("empty.txt", b"", "empty"),
    ("", b"hello", "filename"),
])
def test_attachment_of_a_wrong_type_is_refused(db_session, name, content, code):
    case = low_case(db_session, merchant(db_session))
    with pytest.raises(svc.CaseRefused) as err:
        actions.add_attachment(db_session, case=case, filename=name, content=content,
                               actor=ANALYST, now=NOW, policy=POLICY)
    assert err.value.code == code


def test_attachment_size_limit_just_under_and_just_over(db_session):
    case = low_case(db_session, merchant(db_session))
    limit = POLICY.casework.attachment_max_bytes
    ok = actions.add_attachment(db_session, case=case, filename="log.txt", content=b"a" * limit,
                                actor=ANALYST, now=NOW, policy=POLICY)
    assert ok.size == limit
    with pytest.raises(svc.CaseRefused) as err:
        actions.add_attachment(db_session, case=case, filename="log.txt",
                               content=b"a" * (limit + 1), actor=ANALYST, now=NOW,
                               policy=POLICY)
    assert err.value.code == "too_large"


def test_a_second_approver_wanting_another_outcome_makes_a_new_request(db_session):
    case = high_case(db_session)
    svc.close_case(db_session, case=case, outcome="no_action", reason="Shopper verified.",
                   actor=FIRST, role="approver", now=NOW, policy=POLICY)
    svc.close_case(db_session, case=case, outcome="merchant_offboarded",
                   reason="No: card testing.", actor=SECOND, role="approver", now=NOW,
                   policy=POLICY)
    assert (case.status, case.close_requested_by, case.outcome) == (
        "open", SECOND.name, "merchant_offboarded")
    svc.close_case(db_session, case=case, outcome="merchant_offboarded", reason="Agreed.",
                   actor=FIRST, role="approver", now=NOW, policy=POLICY)
    assert (case.status, case.closed_by, case.outcome) == (
        "closed", FIRST.name, "merchant_offboarded")
