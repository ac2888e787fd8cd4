"""The PAN hunt of issue #13 item 4, as a regression test: card numbers written every way a
caller can (plain, split by any separator, beside other numbers, full-width and Arabic-Indic
digits) are pushed through every channel that stores or audits free text — transactions over
the API, ``/verify``, the ``/auth`` gateway (path, ``Referer``, ``X-Customer-Ref``,
``X-Operation``), case titles, notes, information requests and answers, alert close reasons
and snoozes, blacklist and decision reasons, merchant notes — and then every text column of
every table, ``kybgate audit export`` (JSON lines and CSV) and the application's log records
are searched for a full card number: none may be found. SQLite, and PostgreSQL when
``KYB_TEST_POSTGRES_URL`` is set."""

from __future__ import annotations

import datetime as dt
import io
import logging

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from app.audit.trail import Actor, export_events
from app.models import Alert, Merchant, MerchantNote
from app.security import Keyring
from app.services import case_actions, cases
from app.services.alerts import close_alert, snooze_scenario
from app.services.blacklist import add_entry
from app.services.decisions import DecisionRefused, decide
from checks.policy import load_policy
from tests.factories import application
from tests.functional.api.test_transactions import sale
from tests.keys_support import CLIENT_IP, SITE, approved_merchant, issue, verify
from tests.pan_hunt import leaks

POLICY = load_policy()
NOW = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.UTC)
STAFF = Actor(name="staff:analist@bank.example", request_id="req-1", source_ip="10.0.0.5")
PANS = ("4111111111111111", "5555555555554444", "378282246310005", "6011000990139424",
        "4222222222222220004", "3530111333300000")
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
WRITTEN = [  # (how it is written, ≤ 120 characters)
    "4111111111111111", "qty 3 4111111111111111", "5555 5555 5555 4444", "5555.5555.5555.4444",
    "5555/5555/5555/4444", "5555_5555_5555_4444", "3782-822463-10005", "6011\n0009\n9013\n9424",
    "6011\t0009\t9013\t9424", "6011\u00a00009\u00a09013\u00a09424", "6011  0009  9013  9424",
    "4222222222222220004".translate(FULL_WIDTH), "3530111333300000".translate(ARABIC_INDIC),
]


@pytest.fixture
def settings(settings):
    return settings.replace(key_activation_delay=0)


def _all_text(engine: sa.Engine) -> list[tuple[str, str, str]]:
    """(table, column, value) of every text value of every table."""
    found = []
    with engine.connect() as conn:
        for table in sa.inspect(engine).get_table_names():
            result = conn.execute(sa.text(f'SELECT * FROM "{table}"'))  # noqa: S608
            for row in result.mappings():
                found += [(table, column, value if isinstance(value, str) else repr(value))
                          for column, value in row.items() if value is not None]
    return found


def _through_the_api(api, client, key: dict, merchant_id: str) -> None:
    for i, text in enumerate(WRITTEN):
        ref = text.replace("\n", " ").replace("\t", "  ")  # references refuse control chars
        body = sale(merchant_id, external_id=f"ord {ref}", description=f"gift {text}",
                    customer_ref=ref, account_ref=ref, counterparty_ref=ref,
                    device_id=f"dev {ref}", card_number=None)
        for _ in range(2):  # a retry finds the stored (masked) transaction
            resp = api.post("/api/v1/transactions", json=body)
            assert resp.status_code in (200, 201), (i, resp.get_json())
            assert resp.headers["X-Request-Id"] != "4111-1111-1111-1111"  # not taken as an id
        verify(api, key["token"], customer_ref=ref, operation=ref[:40])
    for text in WRITTEN[:6]:  # headers must be latin-1
        resp = client.get(f"/api/v1/auth/pay/{text.replace(' ', '%20')}",
                          headers={"X-Api-Key": key["token"], "Origin": SITE,
                                   "X-Forwarded-For": CLIENT_IP, "X-Customer-Ref": text,
                                   "X-Operation": text[:40], "Referer": f"{SITE}/c?card={text}"},
                          environ_base={"REMOTE_ADDR": "127.0.0.1"})
        assert resp.status_code in (204, 401, 403), resp.status_code


def _through_the_console(session: Session, merchant_id: str, pending_id: str) -> None:
    merchant = session.get(Merchant, merchant_id)
    for text in WRITTEN:
        case = cases.open_case(session, merchant=merchant, title=f"card {text}", actor=STAFF,
                               now=NOW, policy=POLICY, priority="low")
        cases.add_note(session, case=case, text=f"customer said {text}", actor=STAFF, now=NOW)
        request = case_actions.request_information(session, case=case, question=f"why {text}?",
                                                   actor=STAFF, now=NOW, policy=POLICY)
        case_actions.answer_request(session, request=request, answer=f"it was {text}",
                                    actor=Actor(name="merchant:user"), now=NOW)
        session.add(MerchantNote(merchant_id=merchant_id, author=STAFF.name, body=f"pan {text}"))
        alert = Alert(merchant_id=merchant_id, scenario="card_velocity", summary=f"card {text}",
                      details={"card": text}, dedupe_key=f"hunt:{WRITTEN.index(text)}",
                      opened_at=NOW, due_at=NOW)
        session.add(alert)
        session.flush()
        close_alert(session, alert=alert, disposition="false_positive",
                    reason=f"was {text}", actor=STAFF, now=NOW)
        add_entry(session, kind="ip", value=f"192.0.2.{len(text)}", reason=f"used {text}",
                  actor=STAFF, keyring=_keyring(session), now=NOW)
        for kind in ("customer", "device"):
            add_entry(session, kind=kind, value=f"{kind} {text}", reason="seen", actor=STAFF,
                      keyring=_keyring(session), now=NOW)
    snooze_scenario(session, merchant_id=merchant_id, scenario="card_velocity",
                    until=NOW + dt.timedelta(hours=2), reason=f"card {WRITTEN[2]}", actor=STAFF,
                    now=NOW, policy=POLICY)
    try:
        decide(session, merchant=session.get(Merchant, pending_id), decision="reject",
               reason=f"card {WRITTEN[1]}", actor=STAFF, now=NOW)
    except DecisionRefused as refused:
        pytest.fail(f"the reject decision was refused: {refused}")
    session.commit()


def _keyring(session: Session) -> Keyring:
    from app.extensions import settings
    s = settings()
    return Keyring(s.token_peppers, s.token_pepper_version)


def test_no_full_card_number_is_found_anywhere(app, api, client, db_session, caplog):
    app.extensions["kyb.settings"].trusted_proxies = ("127.0.0.1/32",)
    caplog.set_level(logging.DEBUG)
    merchant_id = approved_merchant(api, db_session)
    key = issue(api, merchant_id)
    _through_the_api(api, client, key, merchant_id)
    with app.app_context():
        pending = api.post("/api/v1/merchants", json=application()).get_json()["id"]
        _through_the_console(db_session, merchant_id, pending)

    engine = app.extensions["kyb.engine"]
    stored = _all_text(engine)
    assert [v for _, _, v in stored if "411111******1111" in v]  # the masks are there
    assert not [(t, c, v) for t, c, v in stored if leaks(v, PANS)]
    with Session(engine) as session:
        for fmt in ("jsonl", "csv"):
            out = io.StringIO()
            assert export_events(session, fmt, out) > 0
            assert not leaks(out.getvalue(), PANS)
        assert session.exec(select(sa.func.count()).select_from(Alert)).one() >= len(WRITTEN)
    assert not [r.getMessage() for r in caplog.records if leaks(r.getMessage(), PANS)]
