"""The merchant journey in a real browser: sign up with TOTP enrolment, apply (fixing a
validation error, adding an owner row without JavaScript), get approved by staff through the
services, create a key (token shown once, copy button), restrict its IPs and back URL, and
freeze every key with the kill switch."""

from __future__ import annotations

import datetime as dt
import re
import time
import urllib.error
import urllib.request

import pyotp
import pytest
from playwright.sync_api import expect
from sqlmodel import select

from app.audit.trail import Actor
from app.models import ApiKey, Merchant, MerchantUser
from app.services.decisions import decide
from app.services.personal_data import data_keys
from app.services.portal_users import login_index
from app.web.passwords import TOTP_INTERVAL
from tests.browser.conftest import screenshot
from tests.factories import TCKN, VKN
from tests.functional.staff.conftest import seed_assessment

pytestmark = pytest.mark.browser
EMAIL = "finans@lalecicek.com.tr"
PASSWORD = "a long merchant password 2026"  # noqa: S105 - a test account


class Authenticator:
    """The merchant's authenticator app: a code for a step not used before (a code works
    once), waiting for the clock when the next unused step is not yet valid."""

    def __init__(self, secret: str) -> None:
        self.totp, self.last = pyotp.TOTP(secret), -1

    def code(self) -> str:
        while True:
            current = int(time.time()) // TOTP_INTERVAL
            step = max(self.last + 1, current - 1)
            if step <= current + 1:
                self.last = step
                return self.totp.generate_otp(step)
            time.sleep(1)


def _sign_up(page, server) -> Authenticator:
    page.goto(f"{server.url}/portal/login")
    page.get_by_role("link", name="Sign up").click()
    page.get_by_label("E-mail").fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    screenshot(page, "portal-signup")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_selector("text=Set up two-factor authentication")
    assert page.locator("svg.qr").is_visible()
    screenshot(page, "portal-totp-enrol")
    app_ = Authenticator(page.locator("code.secret").inner_text().strip())
    page.get_by_label("Authentication code").fill(app_.code())
    page.get_by_role("button", name="Log in").click()
    page.wait_for_selector("h1:has-text('Welcome to kybgate')")
    return app_


APPLICATION = {
    "legal_name": "Lale Çiçekçilik Ticaret Limited Şirketi", "trade_name": "Lale Çiçek",
    "country": "TR", "tax_id": VKN, "registration_number": "İST-654321",
    "founded_on": "2018-06-01", "capital_amount": "300000", "capital_currency": "TRY",
    "sector": "5992", "website": "https://lalecicek.com.tr", "email": EMAIL,
    "phone": "+90 212 555 77 88", "iban": "TR330006100519786457841327",
    "turnover_amount": "150000", "turnover_currency": "TRY", "prices_min": "120",
    "prices_max": "1800", "prices_currency": "TRY",
    "owners-0-full_name": "Zeynep Kaya", "owners-0-national_id": TCKN[4],
    "owners-0-birth_date": "1986-02-11", "owners-0-nationality": "TR",
    "owners-0-share_pct": "100",
}


def _apply(page) -> None:
    page.get_by_role("link", name="Start the application").click()
    for name, value in APPLICATION.items():
        page.locator(f'[name="{name}"]').fill(value)
    page.get_by_role("button", name="Add owner").click()  # a plain submit: no JavaScript
    # the click posts the form and loads a new page: wait for it rather than count at once
    expect(page.locator('[name="owners-3-full_name"]')).to_have_count(1)
    expect(page.locator('[name="owners-0-full_name"]')).to_have_value("Zeynep Kaya")
    page.get_by_role("button", name="Submit application").click()
    error = page.locator("#iban-err")
    assert "checksum" in error.inner_text().lower()  # the IBAN above has a wrong check digit
    screenshot(page, "portal-application-errors")
    page.locator('[name="iban"]').fill("TR330006100519786457841326")
    page.get_by_role("button", name="Submit application").click()
    page.wait_for_selector("text=Application received")
    screenshot(page, "portal-status-applied")


def _approve(server) -> str:
    with server.session() as session:
        user = session.exec(select(MerchantUser).where(
            MerchantUser.email == login_index(EMAIL, data_keys(session)))).one()
        merchant = session.get(Merchant, user.merchant_id)
        assert merchant.signup_ip == "127.0.0.1"
        seed_assessment(session, merchant, tier="low", score=12)
        decide(session, merchant=merchant, decision="approve", reason="Documents verified",
               actor=Actor("staff:ayse@bank.example"), now=dt.datetime.now(dt.UTC))
        session.commit()
        return merchant.id


def _create_key(page, app_: Authenticator) -> str:
    page.get_by_role("link", name="Manage API keys").click()
    page.get_by_role("link", name="Create a key").click()
    page.get_by_label("Name").fill("Web shop")
    page.get_by_label("Environment").select_option("live")
    page.get_by_label("Allowed IP addresses (one per line)").fill("85.105.10.20")
    page.get_by_label("Back URLs: your website (one per line)").fill("https://lalecicek.com.tr")
    page.get_by_label("Authentication code").fill(app_.code())
    page.get_by_role("button", name="Create key").click()
    page.wait_for_selector("text=Copy it now: this is the only time it is shown.")
    token_input = page.locator("#token")
    token = token_input.input_value()
    assert re.fullmatch(r"kyb_live_\S+", token)
    assert token_input.get_attribute("readonly") is not None
    copy = page.get_by_role("button", name="Copy")
    assert copy.is_visible()  # the script un-hides it; without JavaScript it stays hidden
    copy.click()
    page.wait_for_selector("text=Copied to the clipboard.")
    screenshot(page, "portal-token-once")
    page.get_by_role("link", name="I have stored the token").click()
    expect(token_input).to_have_count(0)  # the next page has loaded
    assert token not in page.content()
    return token


def _restrict(page, app_: Authenticator) -> None:
    page.get_by_role("link", name="Restrictions").first.click()
    page.get_by_label("Allowed IP addresses (one per line)").fill("85.105.10.20\n88.255.96.0/29")
    page.get_by_label("Back URLs: your website (one per line)").fill(
        "https://lalecicek.com.tr\nhttps://odeme.lalecicek.com.tr")
    page.get_by_label("Authentication code").fill(app_.code())
    page.get_by_role("button", name="Save restrictions").click()
    page.wait_for_selector("text=were saved")
    screenshot(page, "portal-key-restrictions")


def _freeze(page, app_: Authenticator) -> None:
    page.get_by_role("link", name="API keys").click()
    page.get_by_role("link", name="Freeze all keys").click()
    page.get_by_role("button", name="Freeze all keys").click()  # no box, no code: refused
    expect(page.locator("text=Tick the box to confirm.")).to_be_visible()
    page.get_by_label("I understand the consequences").check()
    page.get_by_label("Authentication code").fill(app_.code())
    screenshot(page, "portal-freeze-confirm")
    page.get_by_role("button", name="Freeze all keys").click()
    page.wait_for_selector("text=All your keys are frozen since")
    screenshot(page, "portal-keys-frozen")


def _gateway_check(server, token: str) -> str:
    # the live server's own http:// URL: no file: or custom scheme can reach these calls
    request = urllib.request.Request(f"{server.url}/api/v1/auth", headers={  # noqa: S310
        "Authorization": f"Bearer {token}", "Origin": "https://lalecicek.com.tr"})
    try:
        urllib.request.urlopen(request, timeout=10)  # noqa: S310
    except urllib.error.HTTPError as exc:
        return exc.headers.get("X-Deny-Reason") or str(exc.code)
    return "allowed"


def test_merchant_signs_up_applies_gets_a_key_restricts_it_and_freezes_all(live_server,
                                                                          context):
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = context.new_page()
    app_ = _sign_up(page, live_server)
    _apply(page)
    merchant_id = _approve(live_server)
    page.reload()
    page.wait_for_selector("text=Your application was approved.")
    screenshot(page, "portal-status-approved")
    token = _create_key(page, app_)
    _restrict(page, app_)
    _freeze(page, app_)
    with live_server.session() as session:
        assert session.get(Merchant, merchant_id).frozen is True
        key = session.exec(select(ApiKey).where(ApiKey.merchant_id == merchant_id)).one()
        assert sorted(key.ip_whitelist) == ["85.105.10.20/32", "88.255.96.0/29"]
        assert len(key.back_urls) == 2
    assert _gateway_check(live_server, token) == "key_frozen"
    page.get_by_role("link", name="API calls").click()
    page.wait_for_selector("td:has-text('key_frozen')")
    screenshot(page, "portal-api-calls")
