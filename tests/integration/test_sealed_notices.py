"""The merchant notification outbox at rest (issue #13, R-D7, R-E4): after an e-mail and phone
change, raw SQL finds neither the old nor the new address or phone in ``notification`` (SQLite
and PostgreSQL), yet a real SMTP server receives the notice at the full address with the full
old and new values, the portal shows the merchant its own notice, the delivery's opening is
audited, and the retention purge erases the sealed content."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlmodel import select

from app.audit.trail import Actor
from app.demo.sandbox import SmtpServer
from app.models import AuditEvent, Notification
from app.services.delivery import deliver_pending, mailer_from_url
from app.services.personal_data import mask_contact
from app.web.notices import shown
from tests.factories import application
from tests.functional.staff.test_sealed_assessments import cells
from tests.sealed_support import purge_ended

OLD_EMAIL, NEW_EMAIL = "finans@anadolucicek.com.tr", "muhasebe@anadolucicek.com.tr"
OLD_PHONE, NEW_PHONE = "+902125550123", "+902165554433"


def _changed(api) -> str:
    merchant_id = api.post("/api/v1/merchants", json=application()).get_json()["id"]
    resp = api.patch(f"/api/v1/merchants/{merchant_id}",
                     json={"email": NEW_EMAIL, "phone": "+90 216 555 44 33",
                           "reason": "merchant asked by phone"})
    assert resp.status_code == 200, resp.get_json()
    return merchant_id


def test_the_outbox_holds_no_clear_address_or_changed_value(app, api, db_session):
    merchant_id = _changed(api)
    text = cells(app, "notification")
    for clear in (OLD_EMAIL, NEW_EMAIL, OLD_PHONE, NEW_PHONE, OLD_PHONE[3:], NEW_PHONE[3:]):
        assert clear not in text, clear
    notes = db_session.exec(select(Notification).where(
        Notification.merchant_id == merchant_id)).all()
    assert {n.recipient for n in notes} >= {mask_contact("email", OLD_EMAIL),
                                            mask_contact("email", NEW_EMAIL)}
    change = next(n for n in notes if n.event == "merchant.changed")
    written = shown(change)  # the merchant's own notice, its values opened for it
    assert any(OLD_EMAIL in part and NEW_EMAIL in part for part in written.lines)


def test_a_real_smtp_server_receives_the_full_address_and_values(app, api, db_session):
    merchant_id = _changed(api)
    before = db_session.exec(select(sa.func.max(AuditEvent.seq))).one()
    with SmtpServer() as smtp:
        mailer = mailer_from_url(f"smtp://127.0.0.1:{smtp.port}", "kybgate@bank.test")
        report = deliver_pending(db_session, mailer=mailer, actor=Actor("worker"),
                                 now=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1))
        db_session.commit()
        assert report.sent >= 2
        to = {m.message["To"] for m in smtp.messages}
        assert {OLD_EMAIL, NEW_EMAIL} <= to
        change = next(m.message.get_content() for m in smtp.messages
                      if OLD_EMAIL in m.message.get_content())
        assert NEW_EMAIL in change and NEW_PHONE in change
    events = db_session.exec(select(AuditEvent).where(
        AuditEvent.seq > before, AuditEvent.action == "personal_data.decrypted")).all()
    assert any("notification delivery" in (e.reason or "") for e in events)
    assert all(OLD_EMAIL not in repr(e.details) for e in events)
    assert merchant_id


def test_retention_erases_the_sealed_notices(app, api, db_session):
    merchant_id = _changed(api)
    result = purge_ended(db_session, merchant_id)
    assert result.notifications >= 2
    notes = db_session.exec(select(Notification).where(
        Notification.merchant_id == merchant_id)).all()
    assert {(n.recipient, n.content_sealed) for n in notes} == {("[erased]", None)}
