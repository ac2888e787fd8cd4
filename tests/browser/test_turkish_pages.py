"""Issue #11 in a real browser: with Turkish chosen, the staff console (queue, merchants, a
merchant's page, alerts, cases) and the merchant portal (home, keys, a key's page,
notifications) show none of the English status, tier or check words, and no stored code."""

from __future__ import annotations

import datetime as dt
import re

import pyotp
import pytest
from sqlmodel import select

from app.audit.trail import Actor
from app.models import Assessment, Merchant
from app.services import keys
from app.services.decisions import decide
from app.services.personal_data import data_keys
from app.services.portal_users import new_merchant_user
from app.web.labels import CHECK, CHECK_STATUS, KEY_STATE, MERCHANT_STATUS, TIER
from app.web.passwords import hash_password
from tests.browser.conftest import screenshot
from tests.browser.test_staff_console import _fresh_code, _login
from tests.functional.staff.conftest import seed_assessment

pytestmark = pytest.mark.browser
EMAIL = "finans@turkce-test.com.tr"
PASSWORD = "a long merchant password 2026"  # noqa: S105 - a test account
# The English words of statuses, tiers, check statuses and check names, and the stored codes.
ENGLISH = sorted({*MERCHANT_STATUS, *TIER, *CHECK_STATUS, *KEY_STATE, *CHECK,
                  *(str(v) for v in MERCHANT_STATUS.values()),
                  *(str(v) for v in CHECK.values()), *(str(v) for v in KEY_STATE.values())},
                 key=len, reverse=True)
WORDS = re.compile(r"(?<![\w-])(" + "|".join(re.escape(w) for w in ENGLISH) + r")(?![\w-])",
                   re.IGNORECASE)


def _english_words(page) -> list[str]:
    """The English words in what the page shows (the evidence's raw JSON is another helper's
    renderer, and what people typed is theirs: neither is ours to translate)."""
    text = page.evaluate("""() => {
        const main = document.querySelector('main').cloneNode(true);
        main.querySelectorAll('pre.evidence, [data-free-text]').forEach(e => e.remove());
        return main.innerText; }""")
    return sorted({f"{m.group(0)} in …{text[max(0, m.start() - 40):m.end() + 40]}…"
                   for m in WORDS.finditer(text)})


def _merchant_with_portal_user(server) -> tuple[str, str]:
    """An approved merchant with a portal user, a new live key whose wide range waits for
    approval, and notices of several kinds. Returns (TOTP secret, key id)."""
    secret = pyotp.random_base32()
    with server.session() as session:
        merchant = session.exec(select(Merchant).where(Merchant.status == "applied")
                                .order_by(Merchant.legal_name)).first()
        if session.exec(select(Assessment).where(
                Assessment.merchant_id == merchant.id)).first() is None:
            seed_assessment(session, merchant, tier="low", score=12)
        merchant.tier = "low"
        now = dt.datetime.now(dt.UTC)
        decide(session, merchant=merchant, decision="approve", reason="Belgeler doğrulandı",
               actor=Actor("staff:ayse@bank.example"), now=now)
        session.add(new_merchant_user(email=EMAIL, keys=data_keys(session),
                                      merchant_id=merchant.id,
                                      password_hash=hash_password(PASSWORD), totp_secret=secret))
        runtime = server.app.extensions["kyb.settings"]
        with server.app.app_context():
            from app.dataplane.runtime import runtime as key_runtime
            peppers = key_runtime(server.app).verifier.peppers
        actor = Actor(f"merchant:{EMAIL}")
        key = keys.issue_key(session, merchant=merchant, name="Web mağaza", environment="live",
                             ip_whitelist=["85.105.0.0/16", "85.106.1.7"],
                             back_urls=[merchant.website], actor=actor, now=now,
                             peppers=peppers, activation_delay=runtime.key_activation_delay).key
        keys.freeze_merchant_keys(session, merchant=merchant, actor=actor, now=now)
        keys.unfreeze_merchant_keys(session, merchant=merchant, actor=actor, now=now)
        session.commit()
        return secret, key.id


def _portal_login(page, server, secret: str) -> None:
    page.goto(f"{server.url}/portal/login?lang=tr")
    page.locator('[name="email"]').fill(EMAIL)
    page.locator('[name="password"]').fill(PASSWORD)
    page.locator('form button[type="submit"]').first.click()
    page.wait_for_selector('[name="code"]')
    page.locator('[name="code"]').fill(_fresh_code(secret, set()))
    page.locator('form button[type="submit"]').first.click()
    page.wait_for_selector("main h1")


def test_the_turkish_portal_shows_no_english_status_tier_or_check_word(live_server, browser):
    secret, key_id = _merchant_with_portal_user(live_server)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="tr-TR")
    page = context.new_page()
    try:
        _portal_login(page, live_server, secret)
        for path in ("/portal/", "/portal/keys", f"/portal/keys/{key_id}",
                     "/portal/notifications"):
            page.goto(f"{live_server.url}{path}?lang=tr")
            assert page.locator("html").get_attribute("lang") == "tr"
            assert _english_words(page) == [], path
        page.goto(f"{live_server.url}/portal/keys/{key_id}")
        assert "henüz etkin değil" in page.inner_text("main")
        assert "onayımızı bekliyor" in page.inner_text("main")
        screenshot(page, "portal-key-tr")
    finally:
        context.close()


def test_the_turkish_console_shows_no_english_status_tier_or_check_word(live_server, browser):
    # Logged in in English; ``?lang=tr`` then switches the session, as the language menu does.
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    page = context.new_page()
    try:
        _login(page, live_server, live_server.staff["deniz"], set())
        with live_server.session() as session:
            assessed = session.exec(select(Assessment.merchant_id)
                                    .order_by(Assessment.created_at.desc())).first()
        for path in ("/staff/", "/staff/merchants", f"/staff/merchants/{assessed}",
                     "/staff/alerts", "/staff/cases"):
            page.goto(f"{live_server.url}{path}?lang=tr")
            assert page.locator("html").get_attribute("lang") == "tr"
            assert _english_words(page) == [], path
        page.goto(f"{live_server.url}/staff/merchants/{assessed}?lang=tr")
        screenshot(page, "staff-merchant-tr")
    finally:
        context.close()
