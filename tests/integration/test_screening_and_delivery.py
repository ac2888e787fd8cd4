# ruff: noqa: F811 - pytest fixtures imported from tests.world are test arguments
"""Sanctions lists imported through the CLI, a listed owner caught by ``sanctions_pep``; the
notification outbox delivered to a real aiosmtpd server, with retries."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from sqlmodel import select

from app.audit.trail import Actor
from app.demo.sandbox import SmtpServer
from app.models import Notification, ScreeningList
from app.services.delivery import backoff, deliver_pending, mailer_from_url
from tests.factories import TCKN, VKN, application
from tests.world import lookup_world, settings, world_app  # noqa: F401

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sanctions"
LISTED = {"full_name": "Cumhur Yakut", "national_id": TCKN[2], "birth_date": "1955-03-18",
          "nationality": "TR", "share_pct": "30", "role": "owner"}


def _import(app, *args: str) -> dict:
    result = app.test_cli_runner().invoke(args=["lists", "import", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output.strip().splitlines()[-1])


def test_a_listed_owner_fails_sanctions_after_the_lists_are_imported(
        world_app, api, lookup_world, db_session):
    owners = [application()["owners"][0], LISTED]
    merchant_id = api.post("/api/v1/merchants", json=application(
        website=lookup_world.site(), owners=owners)).get_json()["id"]
    before = api.post(f"/api/v1/merchants/{merchant_id}/assessments").get_json()
    sanctions = next(c for c in before["checks"] if c["code"] == "sanctions_pep")
    assert sanctions["status"] == "unknown"

    ofac = _import(world_app, "--kind", "sanctions", *(str(FIXTURES / f)
                                                      for f in ("sdn.csv", "add.csv",
                                                                "alt.csv")))
    assert ofac["name"] == "OFAC SDN" and ofac["entries"] > 100
    assert ofac["rescreened"] == {"merchants": 1, "by_status": {"fail": 1}}
    un = _import(world_app, "--kind", "sanctions", str(FIXTURES / "un_consolidated.xml"))
    assert un["entries"] > 20
    again = _import(world_app, "--kind", "sanctions", str(FIXTURES / "un_consolidated.xml"))
    assert again["unchanged"] is True

    after = api.get(f"/api/v1/merchants/{merchant_id}/assessments/latest").get_json()
    check = next(c for c in after["checks"] if c["code"] == "sanctions_pep")
    assert check["status"] == "fail", check
    hit = check["evidence"]["strong"][0]
    assert hit["entry_name"].upper().endswith("YAKUT") and hit["birth_date_match"] is True
    assert after["recommended_action"] in ("manual_review", "reject")
    shown = world_app.test_cli_runner().invoke(args=["lists", "show"]).output
    assert "OFAC SDN" in shown and "UN Consolidated" in shown
    assert len(db_session.exec(select(ScreeningList)).all()) == 2


def test_a_listed_tax_id_fails_a_merchant_whatever_its_name(
        world_app, api, lookup_world, tmp_path):
    """Issue #12: an identifier shared with a sanctioned entity is strong on its own; the hit
    explains itself and the evidence names the matcher that judged."""
    listed = {"id": "tax-listed", "caption": "Karadeniz Front Company", "schema": "Company",
              "properties": {"name": ["Karadeniz Front Company"], "taxNumber": [VKN],
                             "topics": ["sanction"]}}
    path = tmp_path / "tax.jsonl"
    path.write_text(json.dumps(listed) + "\n", encoding="utf-8")
    merchant_id = api.post("/api/v1/merchants", json=application(
        website=lookup_world.site())).get_json()["id"]
    _import(world_app, "--kind", "sanctions", "--name", "Tax sample", str(path))
    after = api.post(f"/api/v1/merchants/{merchant_id}/assessments").get_json()
    check = next(c for c in after["checks"] if c["code"] == "sanctions_pep")
    assert check["status"] == "fail", check
    hit = check["evidence"]["strong"][0]
    assert (hit["entry_id"], hit["identifier_match"]) == ("tax-listed", True)
    assert hit["score"] < 78 and hit["explanation"]["method"] == "identifier"
    assert check["evidence"]["matcher"] == {"screened_with": 2, "scores_calibrated_for": 2}


def test_a_pep_list_is_imported_as_pep_without_rescreening(world_app, api, lookup_world):
    ftm = FIXTURES / "opensanctions_sample.jsonl"
    summary = _import(world_app, "--kind", "pep", "--name", "PEP sample", "--no-rescreen",
                      str(ftm))
    assert summary["kind"] == "pep" and summary["rescreened"] is None


def _queue(db_session, merchant_id: str | None = None) -> Notification:
    note = Notification(merchant_id=merchant_id, event="merchant.changed",
                        recipient="finans@anadolucicek.com.tr", subject="IBAN changed",
                        body="- iban: TR33... → TR96...", payload={},
                        created_at=dt.datetime.now(dt.UTC),
                        next_attempt_at=dt.datetime.now(dt.UTC))
    db_session.add(note)
    db_session.commit()
    return note


def test_outbox_is_delivered_to_a_real_smtp_server(app, db_session):
    with SmtpServer() as smtp:
        note = _queue(db_session)
        mailer = mailer_from_url(f"smtp://127.0.0.1:{smtp.port}", "kybgate@bank.test")
        report = deliver_pending(db_session, mailer=mailer, actor=Actor("worker"),
                                 now=dt.datetime.now(dt.UTC))
        db_session.commit()
        assert report.sent == 1
        message = smtp.messages[0].message
        assert message["Subject"] == "IBAN changed"
        assert "TR96" in message.get_content()
    db_session.refresh(note)
    assert note.sent_at is not None and note.attempts == 1


def test_a_down_server_is_retried_with_backoff(app, db_session):
    note = _queue(db_session)
    now = dt.datetime.now(dt.UTC)
    mailer = mailer_from_url("smtp://127.0.0.1:1", "kybgate@bank.test", timeout=2)
    report = deliver_pending(db_session, mailer=mailer, actor=Actor("worker"), now=now)
    db_session.commit()
    db_session.refresh(note)
    assert report.failed == 1 and note.sent_at is None
    assert note.next_attempt_at == now + dt.timedelta(minutes=1) and note.last_error
    assert deliver_pending(db_session, mailer=mailer, actor=Actor("worker"),
                           now=now + dt.timedelta(seconds=30)).attempted == 0
    with SmtpServer() as smtp:
        good = mailer_from_url(f"smtp://127.0.0.1:{smtp.port}", "kybgate@bank.test")
        later = deliver_pending(db_session, mailer=good, actor=Actor("worker"),
                                now=now + dt.timedelta(minutes=1))
        db_session.commit()
        assert later.sent == 1 and len(smtp.messages) == 1
    assert [backoff(n) for n in (1, 2, 3)] == [dt.timedelta(minutes=m) for m in (1, 2, 4)]
    assert backoff(30) == dt.timedelta(hours=6)


def test_cli_deliver_sends_the_iban_change_notice(app, api, db_session, settings):
    with SmtpServer() as smtp:
        app.extensions["kyb.settings"] = settings.replace(smtp_url=f"smtp://127.0.0.1:"
                                                                   f"{smtp.port}")
        merchant_id = api.post("/api/v1/merchants", json=application()).get_json()["id"]
        api.patch(f"/api/v1/merchants/{merchant_id}",
                  json={"iban": "TR960006100000000000000001", "reason": "new bank"})
        result = app.test_cli_runner().invoke(args=["notifications", "deliver"])
        assert result.exit_code == 0, result.output
        assert "sent 1" in result.output
        text = smtp.messages[0].message.get_content()
        assert "TR330006100519786457841326" in text and "TR960006100000000000000001" in text


def test_a_listed_owner_entered_with_a_clean_persons_national_id_is_screened_as_submitted(
        world_app, api, lookup_world):
    """Issue #13 item 2: the id of a clean owner on file does not turn a sanctioned name into
    that owner; the sanctioned name is screened and the conflict is flagged."""
    clean_owner = {**LISTED, "full_name": "Zeynep Aksoy", "birth_date": "1979-08-09"}
    api.post("/api/v1/merchants", json=application(
        website=lookup_world.site(), owners=[application()["owners"][0], clean_owner]))
    _import(world_app, "--kind", "sanctions", *(str(FIXTURES / f)
                                               for f in ("sdn.csv", "add.csv", "alt.csv")))
    merchant_id = api.post("/api/v1/merchants", json=application(
        legal_name="Yeni Ticaret A.Ş.", website=lookup_world.site(),
        email="info@yeni-ticaret.com.tr", iban="TR960006100000000000000001",
        owners=[{**LISTED, "share_pct": "100"}])).get_json()["id"]
    body = api.post(f"/api/v1/merchants/{merchant_id}/assessments").get_json()
    checks = {c["code"]: c for c in body["checks"]}
    assert checks["sanctions_pep"]["status"] == "fail", checks["sanctions_pep"]
    assert checks["sanctions_pep"]["evidence"]["strong"][0]["subject"] == "Cumhur Yakut"
    ownership = checks["shared_ownership"]
    assert ownership["status"] == "flag"
    assert 'is on file for "Zeynep Aksoy"' in ownership["explanation"]
