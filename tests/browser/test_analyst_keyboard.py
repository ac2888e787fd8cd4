"""An analyst's day with the keyboard only, in a real browser (issue #11): log in, "?" shows
the shortcuts, j/k move through the queue, Enter opens an application, d picks a decision,
Ctrl+Enter records it, n goes to the next application, u back to the queue."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from app.models import Decision, Merchant
from tests.browser.conftest import screenshot
from tests.browser.test_staff_console import _fresh_code

pytestmark = pytest.mark.browser
MERCHANT_URL = re.compile(r"/staff/merchants/(mer_[0-9a-z]+)")


def _merchant_id(page) -> str:
    match = MERCHANT_URL.search(page.url)
    assert match, page.url
    return match.group(1)


def test_analysts_day_queue_next_item_decide_with_the_keyboard_only(live_server, context):
    staff = live_server.staff["deniz"]  # an analyst: may request information, not approve
    page = context.new_page()
    keys = page.keyboard
    page.goto(f"{live_server.url}/staff/login")
    # autofocus lands after the page's load: typing earlier loses keys (a CI flake)
    expect(page.locator("#email")).to_be_focused()
    keys.type(staff.email)  # the e-mail field has the focus
    keys.press("Tab")
    keys.type(staff.password)
    keys.press("Enter")
    page.wait_for_selector("text=Authentication code")
    expect(page.locator("#code")).to_be_focused()
    keys.type(_fresh_code(staff.totp_secret, set()))
    keys.press("Enter")
    page.wait_for_selector("h1:has-text('Queue')")

    # "?" lists the page's shortcuts; Esc closes the list
    help_dialog = page.locator("dialog[data-keyhelp]")
    keys.press("?")
    expect(help_dialog).to_be_visible()
    expect(help_dialog).to_contain_text("next application")
    screenshot(page, "staff-queue-keyboard-help", full_page=False)
    keys.press("Escape")
    expect(help_dialog).to_be_hidden()

    # j / k move through the queue (alerts first, then applications); Enter opens the row
    alerts = page.locator("table[aria-labelledby=alerts] tr[data-href]").count()
    first_application = page.locator("table[aria-labelledby=apps] tr[data-href]").first
    expect(first_application).to_be_visible()
    for _ in range(alerts + 2):
        keys.press("j")
    keys.press("k")
    expect(first_application).to_have_attribute("aria-selected", "true")
    expect(page.locator("tr[aria-selected=true]")).to_have_count(1)
    target = first_application.get_attribute("data-href")
    keys.press("Enter")
    page.wait_for_url(f"**{target}")
    decided = _merchant_id(page)

    # d: the decision; an analyst is offered only "request information"
    keys.press("d")
    expect(page.locator("#decision")).to_be_focused()
    keys.press("ArrowDown")
    expect(page.locator("#decision")).to_have_value("request_info")
    keys.press("Tab")
    expect(page.locator("#reason")).to_be_focused()
    keys.type("Please send the trade registry gazette.")
    keys.press("Control+Enter")
    expect(page.locator(".flash")).to_contain_text("Decision recorded")
    with live_server.session() as session:
        assert session.get(Merchant, decided).status == "info_requested"
        assert session.exec(select(Decision.decision).where(
            Decision.merchant_id == decided)).all() == ["request_info"]

    # n: the next application waiting for a reviewer, never the one just decided
    keys.press("n")
    page.wait_for_url(lambda url: MERCHANT_URL.search(url) is not None
                      and decided not in url)
    following = _merchant_id(page)
    with live_server.session() as session:
        assert session.get(Merchant, following).status in {"applied", "in_review"}

    # u: back to the queue, where the decided application waits for the merchant now
    keys.press("u")
    page.wait_for_selector("h1:has-text('Queue')")
    row = page.locator(f"table[aria-labelledby=apps] tr[data-href$='{decided}']")
    expect(row).to_contain_text("information requested")
