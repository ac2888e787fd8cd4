"""The staff journey in a real browser: log in with password and TOTP, work the queue, open a
merchant, and approve a high-risk merchant with two different approvers (four eyes)."""

from __future__ import annotations

import time

import pyotp
import pytest
from sqlmodel import select

from app.models import Decision, Merchant
from tests.browser.conftest import VIEWPORT, screenshot

pytestmark = pytest.mark.browser


def _fresh_code(secret: str, used: set[str]) -> str:
    """The current TOTP code, waiting for the next step if this one was already used (a code
    works once)."""
    totp = pyotp.TOTP(secret)
    while (code := totp.now()) in used:
        time.sleep(1)
    used.add(code)
    return code


def _login(page, server, staff, used: set[str], shot: str | None = None) -> None:
    page.goto(f"{server.url}/staff/login")
    if shot:
        screenshot(page, shot)
    page.get_by_label("E-mail").fill(staff.email)
    page.get_by_label("Password").fill(staff.password)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_selector("text=Authentication code")
    if shot:
        screenshot(page, "staff-mfa-enrol")
    page.get_by_label("Authentication code").fill(_fresh_code(staff.totp_secret, used))
    page.get_by_role("button", name="Log in").click()
    page.wait_for_selector("h1:has-text('Queue')")


def _high_tier_applicant(server) -> Merchant:
    with server.session() as session:
        return session.exec(select(Merchant).where(Merchant.tier == "high",
                                                   Merchant.status == "applied")
                            .order_by(Merchant.legal_name)).first()


def _approve(page, server, merchant_id: str, reason: str) -> None:
    page.goto(f"{server.url}/staff/merchants/{merchant_id}")
    page.get_by_label("Decision", exact=True).select_option("approve")
    page.get_by_label("Reason").fill(reason)
    page.get_by_role("button", name="Record decision").click()


def test_four_eyes_approval_by_two_approvers(live_server, context, browser):
    used: set[str] = set()
    page = context.new_page()
    _login(page, live_server, live_server.staff["ayse"], used, shot="staff-login")
    screenshot(page, "staff-queue")
    assert page.locator("tr.overdue, tr.due-soon, tbody tr").count() > 0

    merchant = _high_tier_applicant(live_server)
    page.get_by_role("link", name=merchant.legal_name).first.click()
    page.wait_for_selector("h2:has-text('Latest assessment')")
    assert page.locator("svg.chart").count() >= 1  # staff-merchant.png: test_merchant_page

    _approve(page, live_server, merchant.id, "Owners identified, documents consistent")
    page.wait_for_selector("text=second, different approver")
    _approve(page, live_server, merchant.id, "Trying to confirm my own approval")
    page.wait_for_selector("text=four eyes")
    screenshot(page, "staff-four-eyes-pending", full_page=False)

    second = browser.new_context(viewport=VIEWPORT)
    try:
        other = second.new_page()
        _login(other, live_server, live_server.staff["mehmet"], used)
        _approve(other, live_server, merchant.id, "Second approver: agree, approve")
        other.wait_for_selector("text=Decision recorded")
        screenshot(other, "staff-approved", full_page=False)
    finally:
        second.close()

    with live_server.session() as session:
        row = session.get(Merchant, merchant.id)
        assert row.status == "approved"
        final = session.exec(select(Decision).where(Decision.merchant_id == merchant.id,
                                                    Decision.status == "final")).one()
        assert final.actor == "staff:mehmet@bank.example"
        assert final.confirmed_by == "staff:ayse@bank.example"


def test_console_pages_render_and_work_without_javascript(live_server, browser):
    ctx = browser.new_context(viewport=VIEWPORT, java_script_enabled=False)
    try:
        page = ctx.new_page()
        _login(page, live_server, live_server.staff["deniz"], set())
        for path, name in (("/staff/blacklists", "staff-blacklists"),
                           ("/staff/lists", "staff-lists"), ("/staff/audit", "staff-audit"),
                           ("/staff/merchants", "staff-merchants")):
            page.goto(f"{live_server.url}{path}")
            assert page.locator("main h1").count() == 1
            screenshot(page, name)
        page.goto(f"{live_server.url}/staff/?lang=tr")
        assert page.locator("h1").inner_text() == "İş kuyruğu"
    finally:
        ctx.close()
