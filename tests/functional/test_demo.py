"""``kybgate demo`` loads a realistic, reviewed data set through the real services."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlmodel import func, select

from app.audit.trail import Actor, verify_trail
from app.models import (
    Alert,
    Assessment,
    AuditEvent,
    Case,
    Decision,
    Merchant,
    SpendTotal,
    StaffUser,
    Transaction,
)
from app.services.alerts import DISPOSITIONS, OPEN_STATUSES
from app.services.ownership import find_shared_ownership
from app.services.personal_data import Disclosure

pytestmark = pytest.mark.slow


def test_demo_loads_assessed_and_decided_merchants_with_logins(app, db_session, db_url):
    if not db_url.startswith("sqlite"):
        pytest.skip("one backend is enough for the demo's 30-second load")
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert "demo loaded: 37 merchants" in result.output
    merchants = db_session.exec(select(Merchant)).all()
    assert len(merchants) >= 30
    assert {m.country for m in merchants} >= {"TR", "DE", "GB", "NL", "AE"}
    assert all(m.latest_assessment_id for m in merchants)
    assert {m.tier for m in merchants} == {"low", "medium", "high"}
    statuses = {m.status for m in merchants}
    assert statuses >= {"applied", "in_review", "info_requested", "approved", "rejected",
                        "suspended"}
    by_name = {m.trade_name: m for m in merchants}
    sanctioned = db_session.get(Assessment, by_name["Konak Petrol"].latest_assessment_id)
    assert {c["code"]: c["status"] for c in sanctioned.checks}["sanctions_pep"] == "fail"
    front = db_session.get(Assessment, by_name["Altın Kuyum"].latest_assessment_id)
    statuses_by_code = {c["code"]: c["status"] for c in front.checks}
    assert statuses_by_code["price_ticket_mismatch"] == "flag"
    assert statuses_by_code["new_merchant_turnover"] == "flag"
    # One phone behind three gambling shops: sealed at rest, still linked by its blind index.
    gambling = [m for m in merchants if m.website_domain in
                {"hizlikod-epin.com", "megabonus-oyun.net", "kriptohizli.io"}]
    assert len(gambling) == 3
    look = Disclosure(actor=Actor("test"), purpose="test")
    phone = look.contacts(gambling[0]).phone
    assert {look.contacts(m).phone for m in gambling} == {phone}
    raw = repr(db_session.execute(text("SELECT * FROM merchant")).all()) + repr(
        db_session.execute(text("SELECT * FROM contact_point")).all())
    assert phone not in raw and phone[3:] not in raw
    for shop in gambling:
        found = find_shared_ownership(db_session, merchant=shop, disclosure=look)
        assert {x.merchant_id for x in found.linked if "phone" in x.shares} == {
            m.id for m in gambling} - {shop.id}
    decisions = db_session.exec(select(Decision)).all()
    assert {d.decision for d in decisions} >= {"approve", "reject", "request_info", "suspend"}
    assert all(d.policy_version and d.reason for d in decisions)
    assert db_session.exec(select(func.count()).select_from(Transaction)).one() > 1000
    assert db_session.exec(select(func.count()).select_from(StaffUser)).one() == 4
    # Today's API traffic went through the real verification path: a live key per approved
    # merchant, allowed and refused answers in the chain, totals settled against the caps.
    verdicts = dict(db_session.exec(select(AuditEvent.reason, func.count()).where(
        AuditEvent.action == "api.verify").group_by(AuditEvent.reason)).all())
    assert verdicts["ok"] > 300
    assert {"ip_not_allowed", "back_url_mismatch", "limit_exceeded"} <= set(verdicts)
    assert re.search(r"API verifications (today|since \d\d:\d\d UTC yesterday)", result.output)
    totals = db_session.exec(select(SpendTotal)).all()
    assert sum(t.count for t in totals) == verdicts["ok"]
    assert max(t.amount for t in totals) <= Decimal("250000")  # the low tier's daily cap
    assert db_session.exec(select(func.count()).select_from(Alert).where(
        Alert.scenario == "api_ip_many_customers")).one() == 1
    # The sales went through the real ingest path: monitoring raised real alerts of several
    # kinds (R-C2, R-C5, R-C6, R-C7, R-C10), and the blacklist held on payments and calls.
    scenarios = set(db_session.exec(select(Alert.scenario)).all())
    assert scenarios >= {"card_velocity", "night_turnover", "round_amounts",
                         "suspicious_description", "turnover_jump", "blacklist_hit"}
    channels = {a.details["channel"] for a in db_session.exec(
        select(Alert).where(Alert.scenario == "blacklist_hit")).all()}
    assert channels == {"transactions", "verify"}
    assert verdicts["blacklisted"] == 1
    assert db_session.exec(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "transaction.refused")).one() == 1
    assert "alert queue:" in result.output
    assert verify_trail(db_session).ok
    db_session.commit()  # end the read transaction: SQLite writers begin IMMEDIATE
    again = app.test_cli_runner().invoke(args=["demo", "--if-empty"])
    assert again.exit_code == 0 and "nothing loaded" in again.output


def test_demo_timeline_reads_like_a_working_day(app, db_session, db_url):
    """Issue #11: an application received weeks ago had its ``merchant.applied`` event dated
    today, seq order and time order disagreed, and 21 of 22 applications were overdue. Each
    event is now dated when it happened, in seq order, and most applications are within
    their review window, a few overdue."""
    if not db_url.startswith("sqlite"):
        pytest.skip("one backend is enough for the demo's 30-second load")
    with app.app_context():
        from app.staff.queue import REVIEW_STATUSES, application_sla
        sla = application_sla()
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    events = db_session.exec(select(AuditEvent).order_by(AuditEvent.seq)).all()
    # An event is dated with the time its work began (taken before the chain lock), so today's
    # live-time events may reach the chain a few milliseconds out of time order (seen once:
    # an alert opened 13 ms before its judgement's event). Days, as issue #11 saw, never.
    backwards = [(a.seq, a.action, a.at, b.action, b.at)
                 for a, b in zip(events, events[1:], strict=False)
                 if b.at < a.at - dt.timedelta(seconds=2)]
    assert backwards == [], [(b[0], b[1], b[3]) for b in backwards]
    merchants = {m.id: m for m in db_session.exec(select(Merchant)).all()}
    applied = {e.merchant_id: e.at for e in events if e.action == "merchant.applied"}
    assert applied == {m.id: m.created_at for m in merchants.values()}
    assert len({at.date() for at in applied.values()}) > 10  # not all dated today
    now = events[-1].at
    waiting = [m for m in merchants.values() if m.status in REVIEW_STATUSES]
    overdue = [m for m in waiting if m.created_at + sla <= now]
    assert len(waiting) >= 20
    assert 1 <= len(overdue) <= len(waiting) // 4  # a few overdue, most within the window
    for m in merchants.values():  # every decision after the application it decides
        for d in db_session.exec(select(Decision).where(Decision.merchant_id == m.id)).all():
            assert d.created_at > m.created_at
    _alerts_read_like_a_working_day(db_session, merchants, events)
    assert verify_trail(db_session).ok


# Open alerts past their 3-hour clock (R-C1) when the demo is loaded: at most this many.
OVERDUE_OPEN_MAX = 2


def _alerts_read_like_a_working_day(db_session, merchants, events):
    """Issue #11: 6 of 16 open alerts were "overdue by 35 days" (the history was uploaded in
    one batch at load time). The back office now sends each day's sales the next night, the
    demo analyst works each past day's alerts to a documented end through the alert service,
    and today's stories stay open in the queue, at most OVERDUE_OPEN_MAX of them overdue."""
    alerts = db_session.exec(select(Alert)).all()
    now = max(e.at for e in events)  # the last thing the demo did (its API alerts come last)
    name = {m.id: m.trade_name for m in merchants.values()}
    open_ = [a for a in alerts if a.status in OPEN_STATUSES]
    overdue = [(a.scenario, name[a.merchant_id], a.due_at) for a in open_ if a.due_at <= now]
    assert len(overdue) <= OVERDUE_OPEN_MAX, overdue
    # Every monitoring story is still in the queue today: the front, the jump, the stolen card.
    today = {(a.scenario, name[a.merchant_id]) for a in open_}
    assert {("card_velocity", "Altın Kuyum"), ("suspicious_description", "Altın Kuyum"),
            ("turnover_jump", "Hatay Künefe"), ("blacklist_hit", "Marmara Store")} <= today
    assert 5 <= len(open_) <= 12
    # Past days' alerts were closed shortly after they opened, each with a disposition and a
    # reason, by the analyst, through close_alert (audited when it happened).
    closed = [a for a in alerts if a.status == "closed"]
    assert {("night_turnover", "Van Balık"), ("round_amounts", "Sahil Butik")} <= {
        (a.scenario, name[a.merchant_id]) for a in closed}
    audited = {e.target_id: e for e in events if e.action == "alert.closed"}
    for a in closed:
        assert a.disposition in DISPOSITIONS and len(a.resolution or "") >= 40, a.id
        assert a.closed_by == "staff:analyst@demo.kybgate.test"
        assert a.opened_at < a.closed_at <= a.opened_at + dt.timedelta(hours=3)
        assert audited[a.id].at == a.closed_at
        assert audited[a.id].details["disposition"] == a.disposition
    assert {a.disposition for a in closed} >= {"true_positive", "not_suspicious"}
    # The night seller and the jewellery front keep an open case with their past alerts.
    cases = db_session.exec(select(Case).where(Case.status != "closed")).all()
    assert sorted(name[c.merchant_id] for c in cases) == ["Altın Kuyum", "Van Balık"]
    assert all(c.due_at > now for c in cases)
    for case in cases:
        assert any(a.case_id == case.id and a.status == "closed" for a in alerts)
