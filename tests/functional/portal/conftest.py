"""Fixtures for the merchant portal: merchant users that sign up through the real pages (with
TOTP enrolment), a ticking frozen clock so that each sensitive action can get a fresh TOTP
code without waiting, and approved merchants made through the real services."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from freezegun import freeze_time
from sqlmodel import Session, select

from app.audit.trail import Actor
from app.models import Assessment, Merchant, MerchantUser
from app.services.decisions import decide
from app.services.personal_data import data_keys
from app.services.portal_users import login_index
from app.web.passwords import TOTP_INTERVAL
from tests.factories import TCKN, VKN

PASSWORD = "correct horse battery staple"  # noqa: S105 - a test account
START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def csrf_from(html: str) -> str:
    """The CSRF token of the first form in ``html``."""
    match = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html)
    assert match, html[:2000]
    return match.group(1)


@dataclass
class PortalUser:
    """A merchant user signed up in a test: its client, secret and the TOTP steps it used."""

    client: FlaskClient
    email: str
    secret: str
    clock: object
    last_step: int = -1
    id: str = ""
    merchant_id: str | None = None
    history: list[str] = field(default_factory=list)

    def code(self) -> str:
        """A TOTP code never used before (moving the frozen clock on when needed)."""
        now = dt.datetime.now(dt.UTC)
        current = int(now.timestamp()) // TOTP_INTERVAL
        step = max(self.last_step + 1, current - 1)
        if step > current + 1:
            self.clock.tick(dt.timedelta(seconds=TOTP_INTERVAL))
            current += 1
        self.last_step = step
        return pyotp.TOTP(self.secret).generate_otp(step)

    def get(self, path: str, **kw):
        return self.client.get(path, **kw)

    def post_form(self, path: str, data: dict, *, page: str | None = None, **kw):
        """POST ``data`` to ``path`` with the CSRF token of ``page`` (default: ``path``)."""
        html = self.client.get(page or path).get_data(True)
        return self.client.post(path, data={"csrf_token": csrf_from(html), **data}, **kw)


@pytest.fixture
def clock() -> Iterator[object]:
    """Time runs from ``START`` (ticking), and tests may move it on."""
    with freeze_time(START, tick=True) as frozen:
        yield frozen


def sign_up(app: Flask, clock, email: str) -> PortalUser:
    """Sign up through ``/portal/signup`` and enrol TOTP by scanning the shown secret."""
    client = app.test_client()
    page = client.get("/portal/signup").get_data(True)
    resp = client.post("/portal/signup", data={"email": email, "password": PASSWORD,
                                               "confirm": PASSWORD,
                                               "csrf_token": csrf_from(page)})
    assert resp.status_code == 302, resp.get_data(True)
    assert resp.headers["Location"].endswith("/portal/login/code")
    enrol = client.get("/portal/login/code").get_data(True)
    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', enrol).group(1)
    user = PortalUser(client, email, secret, clock)
    resp = client.post("/portal/login/code", data={"code": user.code(),
                                                   "csrf_token": csrf_from(enrol)})
    assert resp.status_code == 302, resp.get_data(True)
    return user


@pytest.fixture
def portal_user(app, clock) -> Callable[[str], PortalUser]:
    """``portal_user("a@shop.example")`` → a signed-up, logged-in merchant user."""
    return lambda email: sign_up(app, clock, email)


def application_form(**overrides: str) -> dict[str, str]:
    """A valid application as the portal's form posts it (two owners, third row blank)."""
    data = {
        "legal_name": "Anadolu Çiçekçilik Ticaret Limited Şirketi",
        "trade_name": "Anadolu Çiçek", "country": "TR", "tax_id": VKN,
        "registration_number": "İST-123456", "founded_on": "2019-03-14",
        "capital_amount": "250000.00", "capital_currency": "TRY", "sector": "5992",
        "website": "https://anadolucicek.com.tr", "email": "finans@anadolucicek.com.tr",
        "phone": "+90 212 555 01 23", "iban": "TR330006100519786457841326",
        "turnover_amount": "180000", "turnover_currency": "TRY",
        "prices_min": "150", "prices_max": "2500", "prices_currency": "TRY",
        "owners-0-full_name": "Ayşe Yılmaz", "owners-0-national_id": TCKN[0],
        "owners-0-birth_date": "1984-05-02", "owners-0-nationality": "TR",
        "owners-0-share_pct": "60", "owners-0-role": "owner",
        "owners-1-full_name": "İsmail Kılıç", "owners-1-national_id": TCKN[1],
        "owners-1-birth_date": "1979-11-20", "owners-1-nationality": "TR",
        "owners-1-share_pct": "40", "owners-1-role": "owner",
        "owners-2-role": "owner", "submit": "Submit application",
    }
    data.update(overrides)
    return data


def apply(user: PortalUser, db_session: Session, **overrides: str) -> Merchant:
    """Submit a valid application through the portal; returns the created merchant."""
    resp = user.post_form("/portal/apply", application_form(**overrides))
    assert resp.status_code == 303, resp.get_data(True)
    db_session.expire_all()
    row = db_session.exec(select(MerchantUser).where(
        MerchantUser.email == login_index(user.email, data_keys(db_session)))).one()
    user.id, user.merchant_id = row.id, row.merchant_id
    merchant = db_session.get(Merchant, row.merchant_id)
    db_session.commit()  # end the read: SQLite transactions hold the write lock
    return merchant


def approve(db_session: Session, merchant_id: str, tier: str = "low") -> Merchant:
    """Give the merchant an assessment and approve it through the decisions service."""
    merchant = db_session.get(Merchant, merchant_id)
    assessment = Assessment(merchant_id=merchant_id, policy_version="kyb-test",
                            policy_digest="0" * 64, score=10, tier=tier,
                            recommended_action="approve")
    db_session.add(assessment)
    db_session.flush()
    merchant.tier, merchant.latest_assessment_id = tier, assessment.id
    decide(db_session, merchant=merchant, decision="approve", reason="Documents checked",
           actor=Actor("staff:approver@bank.example"), now=dt.datetime.now(dt.UTC))
    db_session.commit()
    return merchant


@pytest.fixture
def approved_user(portal_user, db_session) -> Callable[[str], PortalUser]:
    """A merchant user whose application was approved."""
    def factory(login_email: str, **overrides: str) -> PortalUser:
        user = portal_user(login_email)
        merchant = apply(user, db_session, **overrides)
        approve(db_session, merchant.id)
        return user
    return factory
