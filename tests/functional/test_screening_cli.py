"""``kybgate screening dismissals`` and ``kybgate screening revoke`` (issue #12, R-D2) through the
real Click commands: a named approver revokes with a reason, audited in their name, and the
re-screen is queued; an analyst, an unknown decision and a second revocation are refused."""

from __future__ import annotations

import datetime as dt
import json

from sqlmodel import Session, select

from app.models import AuditEvent, Merchant, ScreeningDismissal, StaffUser

NOW = dt.datetime.now(dt.UTC)


def seed(app) -> tuple[str, str]:
    with Session(app.extensions["kyb.engine"], expire_on_commit=False) as session:
        merchant = Merchant(legal_name="Doğu Gıda Ltd. Şti.", country="TR", status="approved")
        session.add(merchant)
        session.flush()
        row = ScreeningDismissal(
            merchant_id=merchant.id, subject_role="owner", subject="Cumhur Yakutlu",
            subject_digest="0" * 64, list_name="Test sanctions", entry_id="san-1",
            entry_name="Cumhur Yakutlu", entry_digest="0" * 64, strong=False, status="active",
            reason="Different person", dismissed_by="staff:ali@bank.example", dismissed_at=NOW)
        session.add(row)
        session.add_all([StaffUser(email="onay@bank.example", password_hash="x",
                                   totp_secret="x", role="approver"),
                         StaffUser(email="ali@bank.example", password_hash="x",
                                   totp_secret="x", role="analyst")])
        session.commit()
        return merchant.id, row.id


def invoke(app, *args: str):
    return app.test_cli_runner().invoke(args=list(args))


def test_screening_revoke_by_a_named_approver_is_audited_and_queues_the_rescreen(app):
    from app.jobs import job_queue
    merchant_id, row_id = seed(app)
    listed = json.loads(invoke(app, "screening", "dismissals", merchant_id, "--json").output)
    assert [(d["id"], d["status"]) for d in listed] == [(row_id, "active")]

    analyst = invoke(app, "screening", "revoke", row_id, "--reason", "Passport matches",
                     "--approver", "ali@bank.example")
    assert analyst.exit_code == 1 and "no active staff approver" in analyst.output
    missing = invoke(app, "screening", "revoke", row_id, "--approver", "onay@bank.example")
    assert missing.exit_code == 2 and "--reason" in missing.output
    short = invoke(app, "screening", "revoke", row_id, "--reason", "x", "--approver",
                   "onay@bank.example")
    assert short.exit_code == 1 and "a reason of 3 to 1000 characters" in short.output
    unknown = invoke(app, "screening", "revoke", "sdm_nope", "--reason", "Passport matches",
                     "--approver", "onay@bank.example")
    assert unknown.exit_code == 1 and "no screening dismissal sdm_nope" in unknown.output

    done = invoke(app, "screening", "revoke", row_id, "--reason", "Passport matches",
                  "--approver", "onay@bank.example", "--json")
    assert done.exit_code == 0, done.output
    body = json.loads(done.output)
    assert (body["status"], body["revoked_by"], body["revoke_reason"]) == (
        "revoked", "staff:onay@bank.example", "Passport matches")
    assert [type(t).__name__ for t in job_queue(app).pending()] == ["rescreen_after_dismissal"]
    again = invoke(app, "screening", "revoke", row_id, "--reason", "Passport matches",
                   "--approver", "onay@bank.example")
    assert again.exit_code == 1 and "already revoked" in again.output
    assert "revoked by staff:onay@bank.example: Passport matches" in invoke(
        app, "screening", "dismissals", merchant_id).output
    with Session(app.extensions["kyb.engine"]) as session:
        events = session.exec(select(AuditEvent).where(
            AuditEvent.action == "screening.hit_dismissal_revoked")).all()
        assert [(e.actor, e.merchant_id, e.reason) for e in events] == [
            ("staff:onay@bank.example", merchant_id, "Passport matches")]
