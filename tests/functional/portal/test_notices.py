"""Merchant notices are sentences (issue #11, R-E4, R-E5, R-E7): every kind of notice, made by the
real services, reads without Python values (``{…}``, ``None``, ``True``, ``False``) or raw
timestamps in the e-mail and on the portal, in English and in Turkish; a new live key's notice
says when it starts working; the freeze notice does not tell the merchant to freeze."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from sqlmodel import select

from app.api.context import keyring
from app.api.schemas import MerchantChangeRequest
from app.audit.trail import Actor
from app.models import Merchant, Notification
from app.portal.context import key_settings
from app.services import keys
from app.services.assessments import current_policy
from app.services.case_actions import request_information
from app.services.cases import open_case
from app.services.decisions import decide
from app.services.merchant_changes import change_merchant
from app.web.notices import WRITERS
from tests.keys_support import add_approver

PYTHON_OR_RAW = re.compile(r"[{}]|\bNone\b|\bTrue\b|\bFalse\b|\d:\d\d:\d\d\.\d|"
                           r"\d{4}-\d\d-\d\dT\d\d|\+00:00")
STAFF = Actor("staff:approver@bank.example")


def _every_kind_of_notice(app, db_session, merchant_id: str) -> None:
    """Key created (a wide range pending), limit increase, ranges approved, rotated, revoked,
    frozen, unfrozen, data changed, suspended (keys blocked), approved again with lower caps
    (keys unblocked, caps changed) and a question from a case."""
    approver = add_approver(db_session)
    with app.test_request_context():
        now = dt.datetime.now(dt.UTC)
        merchant = db_session.get(Merchant, merchant_id)
        actor = Actor("merchant:a@shop.example")
        key = keys.issue_key(db_session, merchant=merchant, name="Shop", environment="live",
                             ip_whitelist=["85.105.0.0/16", "85.106.1.7"],
                             back_urls=["https://anadolucicek.com.tr"], actor=actor, now=now,
                             **key_settings()).key
        keys.update_key_restrictions(db_session, key=key, actor=actor, now=now,
                                     limits=keys.KeyLimits("TRY", Decimal("5000"),
                                                           Decimal("20000")),
                                     limit_increase_delay=0)
        keys.update_key_restrictions(db_session, key=key, actor=actor, now=now,
                                     limits=keys.KeyLimits("TRY", Decimal("9000"),
                                                           Decimal("40000")),
                                     limit_increase_delay=3600)
        keys.approve_wide_ranges(db_session, key=key, approver=approver, actor=STAFF, now=now)
        settings = key_settings()
        new = keys.rotate_key(db_session, key=key, grace_seconds=3600, actor=actor, now=now,
                              peppers=settings["peppers"],
                              activation_delay=settings["activation_delay"]).key
        keys.revoke_key(db_session, key=new, actor=actor, now=now)
        keys.freeze_merchant_keys(db_session, merchant=merchant, actor=actor, now=now)
        keys.unfreeze_merchant_keys(db_session, merchant=merchant, actor=actor, now=now)
        change_merchant(db_session, merchant=merchant, actor=actor, keyring=keyring(), now=now,
                        change=MerchantChangeRequest(phone="+90 212 555 09 99",
                                                     reason="New office line"))
        decide(db_session, merchant=merchant, decision="suspend", reason="Chargebacks",
               actor=STAFF, now=now)
        decide(db_session, merchant=merchant, decision="approve_with_limits",
               reason="Reviewed", actor=STAFF, now=now,
               limits={"max_amount_per_tx": "20000"})
        case = open_case(db_session, merchant=merchant, title="Chargebacks", actor=STAFF,
                         now=now, policy=current_policy())
        request_information(db_session, case=case, question="Please send the invoices.",
                            actor=STAFF, now=now, policy=current_policy())
        db_session.commit()


def _notice_texts(html: str) -> list[str]:
    """The visible text of each notice on the notifications page."""
    articles = re.findall(r'<article class="card notice">(.*?)</article>', html, re.S)
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", a)) for a in articles]


@pytest.fixture
def noticed(app, approved_user, db_session):
    user = approved_user("a@shop.example")
    _every_kind_of_notice(app, db_session, user.merchant_id)
    return user


def test_every_kind_of_notice_is_made(noticed, db_session):
    events = set(db_session.exec(select(Notification.event)).all())
    db_session.commit()
    assert set(WRITERS) - {"merchant.status"} <= events
    assert {"merchant.approved", "merchant.suspended"} <= events


def test_no_stored_notice_shows_python_values_or_raw_timestamps(noticed, db_session):
    rows = db_session.exec(select(Notification)).all()
    db_session.commit()
    assert len(rows) >= 15
    for row in rows:
        assert not PYTHON_OR_RAW.search(row.subject + "\n" + row.body), (row.event, row.body)


@pytest.mark.parametrize("lang", ["en", "tr"])
def test_no_notice_on_the_portal_shows_python_values_or_raw_timestamps(noticed, lang):
    texts = _notice_texts(noticed.get(f"/portal/notifications?lang={lang}").get_data(True))
    assert len(texts) >= 15
    for text in texts:
        assert not PYTHON_OR_RAW.search(text), text


def test_the_portal_writes_notices_in_the_readers_language(noticed):
    html = noticed.get("/portal/notifications?lang=tr").get_data(True)
    assert "Tüm API anahtarlarınız donduruldu" in html
    assert "Anahtar henüz çalışmıyor" in html
    assert "All your API keys were frozen" not in html


def test_a_new_live_key_notice_says_when_it_starts_working(noticed, db_session):
    created = db_session.exec(select(Notification).where(
        Notification.event == "key.created")).all()
    db_session.commit()
    assert len(created) == 2  # issued, and made by the rotation
    for note in created:  # 09:00 UTC + 10 minutes, in Istanbul time
        assert "does not work yet: it starts working at 3/2/26, 12:10\u202fPM." in note.body
    assert any("These ranges work only after our approval: 85.105.0.0/16." in note.body
               for note in created)


def test_the_freeze_notice_does_not_tell_the_merchant_to_freeze(noticed, db_session):
    (frozen,) = db_session.exec(select(Notification).where(
        Notification.event == "keys.frozen")).all()
    db_session.commit()
    assert "freeze your keys" not in frozen.body.lower()
    assert "If you did not freeze them, contact us at once." in frozen.body
