"""A case's timeline (R-D5) shows the merchant-level events its actions caused (key freeze,
suspension, limit changes) and the STR filing and exports, in words (English and Turkish);
its reads and the STR package's anchor lookups use the (merchant_id, target_id) index."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import force_locale
from sqlalchemy import event

from app.models import AuditEvent
from app.services import case_actions as actions
from app.services import cases as svc
from app.services.keys import freeze_merchant_keys, unfreeze_merchant_keys
from app.services.str_report.anchors import events_by_target
from app.services.str_report.filing import export_str, file_str
from app.staff.casework_page import timeline_entries
from tests.functional.test_alert_workflow import make_alert
from tests.functional.test_cases import ANALYST, FIRST, NOW, POLICY, SECOND, merchant

LATER = NOW + dt.timedelta(hours=1)


def _case_with_actions(session):
    m = merchant(session)
    m.limits = {"max_amount_per_tx": "5000", "daily_amount": "50000",
                "monthly_amount": "500000", "currency": "TRY"}
    alert = make_alert(session, m, severity="high")
    case = svc.open_case(session, merchant=m, title="Card testing", actor=ANALYST, now=NOW,
                         policy=POLICY, alert_ids=[alert.id])
    actions.freeze_keys(session, case=case, reason="card testing", actor=ANALYST, now=NOW)
    actions.tighten_limits(session, case=case, limits={"per_transaction": Decimal("1000")},
                           reason="contain", actor=FIRST, now=NOW, policy=POLICY)
    actions.suspend_merchant(session, case=case, reason="stolen cards", actor=FIRST,
                             now=NOW + dt.timedelta(minutes=1))
    return m, case


def test_timeline_has_the_merchant_events_the_case_caused(db_session):
    m, case = _case_with_actions(db_session)
    # The same kind of change made outside the case stays out of its timeline.
    unfreeze_merchant_keys(db_session, merchant=m, actor=SECOND, now=LATER)
    freeze_merchant_keys(db_session, merchant=m, actor=SECOND, now=LATER, reason="kill switch")
    got = [e.action for e in svc.timeline(db_session, case)]
    assert got.count("keys.frozen") == 1 and "keys.unfrozen" not in got
    assert "decision.suspend" in got
    assert got.index("keys.frozen") < got.index("decision.suspend")
    seqs = [e.seq for e in svc.timeline(db_session, case)]
    assert seqs == sorted(seqs)


def test_timeline_shows_str_filing_and_export_in_words_in_english_and_turkish(app,
                                                                              db_session):
    m, case = _case_with_actions(db_session)
    case.narrative = "Many declined cards from one IP in minutes."
    file_str(db_session, case=case, actor=FIRST, now=LATER, reference="STR-TEST-1")
    export_str(db_session, case_id=case.id, actor=FIRST, now=LATER, fmt="json")
    events = svc.timeline(db_session, case)
    with app.test_request_context():
        english = {e.label: e.text for e in timeline_entries(events)}
        with force_locale("tr"):
            turkish = {e.label: e.text for e in timeline_entries(events)}
    assert english["Merchant's API keys frozen"].startswith("Every key answers key_frozen.")
    assert "card testing" in english["Merchant's API keys frozen"]
    assert "Status approved → suspended" in english["Merchant suspended"]
    assert english["STR filed"].startswith("Reference STR-TEST-1 · package SHA-256 ")
    assert english["STR package exported"].startswith("Format JSON · ")
    assert turkish["Üye işyeri askıya alındı"].startswith("Durum approved → suspended")
    assert turkish["ŞİB gönderildi"].startswith("Referans STR-TEST-1 · paket SHA-256 ")
    assert turkish["ŞİB paketi dışa aktarıldı"].startswith("Biçim JSON · ")
    assert not any(text.startswith("{") for text in [*english.values(), *turkish.values()])


def _plan(session, statement) -> str:
    sql = statement.compile(dialect=session.get_bind().dialect,
                            compile_kwargs={"literal_binds": True})
    if session.get_bind().dialect.name == "sqlite":
        rows = session.execute(sa.text(f"EXPLAIN QUERY PLAN {sql}")).all()
        return "\n".join(str(r[-1]) for r in rows)
    session.execute(sa.text("SET LOCAL enable_seqscan = off"))
    return "\n".join(r[0] for r in session.execute(sa.text(f"EXPLAIN {sql}")).all())


def test_anchor_and_timeline_lookups_use_the_merchant_target_index(db_session):
    """EXPLAIN on both backends (PostgreSQL with sequential scans discouraged, since a test
    table is tiny): the lookups the STR package and the timeline make are index lookups."""
    m, case = _case_with_actions(db_session)
    events_by_target(db_session, merchant_id=m.id, ids=[case.id])  # the query runs
    lookup = sa.select(AuditEvent).where(AuditEvent.merchant_id == m.id,
                                         AuditEvent.target_id.in_([case.id, "alr_x"]))
    plan = _plan(db_session, lookup)
    assert "ix_audit_merchant_target" in plan, plan


def test_every_audit_read_of_the_timeline_is_an_index_lookup(db_session):
    """The statements ``timeline`` runs against audit_event, EXPLAINed with their own
    parameters: each uses ix_audit_merchant_target (not the action index, not a scan)."""
    m, case = _case_with_actions(db_session)
    seen: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if "FROM audit_event" in statement:
            seen.append((statement, parameters))
    engine = db_session.get_bind()
    event.listen(engine, "before_cursor_execute", capture)
    try:
        assert "decision.suspend" in [e.action for e in svc.timeline(db_session, case)]
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert len(seen) == 2  # the case's and alerts' events, then the merchant events caused
    conn = db_session.connection()
    for statement, parameters in seen:
        if engine.dialect.name == "sqlite":
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
            plan = "\n".join(str(r[-1]) for r in rows)
        else:
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            rows = conn.exec_driver_sql(f"EXPLAIN {statement}", parameters).all()
            plan = "\n".join(r[0] for r in rows)
        assert "ix_audit_merchant_target" in plan, plan


def test_limits_lowered_from_a_case_show_before_and_after_in_words(app, db_session):
    from api_keys.tokens import Peppers
    from app.services.keys import issue_key
    m = merchant(db_session)
    m.limits = {"max_amount_per_tx": "5000", "daily_amount": "50000",
                "monthly_amount": "500000", "currency": "TRY"}
    issue_key(db_session, merchant=m, name="shop", environment="test",
              ip_whitelist=["127.0.0.1"], back_urls=["https://shop.example"], actor=FIRST,
              now=NOW, peppers=Peppers({1: b"p" * 32}, 1), activation_delay=0)
    case = svc.open_case(db_session, merchant=m, title="Limits", actor=ANALYST, now=NOW,
                         policy=POLICY)
    actions.tighten_limits(db_session, case=case, limits={"per_transaction": Decimal("1000")},
                           reason="contain", actor=FIRST, now=LATER, policy=POLICY)
    events = svc.timeline(db_session, case)
    assert [e.action for e in events][-2:] == ["keys.caps_changed", "case.updated"]
    with app.test_request_context():
        english = {e.label: e.text for e in timeline_entries(events)}
        with force_locale("tr"):
            turkish = {e.label: e.text for e in timeline_entries(events)}
    assert english["Merchant's payment limits changed"] == "per transaction: 5000 → 1000 TRY"
    assert turkish["Üye işyerinin ödeme limitleri değişti"] == "işlem başına: 5000 → 1000 TRY"
