"""The casework journey in a real browser (R-C1, R-D5, issue #10), keyboard first: the alert
queue, the keyboard's "next item" to an escalated alert, its evidence, a case opened from it, a
note, the merchant's keys frozen from the case, the STR filed from the case's STR panel (which
makes the close need four eyes), its timeline in words, and a close requested by one approver
and completed by another."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from app.models import Alert, Case, Merchant, Transaction
from tests.browser.conftest import VIEWPORT, screenshot
from tests.browser.test_staff_console import _fresh_code

pytestmark = pytest.mark.browser



def _press(page, key: str) -> None:  # noqa: ANN001
    """Press ``key`` once the page's keyboard shortcuts are in place: their script is at the
    end of the page, so a message near the top can show before it ran (under load, a key
    pressed then went unheard and the typing after it went to other shortcuts)."""
    page.wait_for_load_state("load")
    page.keyboard.press(key)

def _login(page, server, staff, used: set[str]) -> None:
    page.goto(f"{server.url}/staff/login")
    page.get_by_label("E-mail").fill(staff.email)
    page.get_by_label("Password").fill(staff.password)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_selector("text=Authentication code")
    page.get_by_label("Authentication code").fill(_fresh_code(staff.totp_secret, used))
    page.get_by_role("button", name="Log in").click()
    page.wait_for_selector("h1:has-text('Queue')")


def _escalated_alert(server) -> tuple[str, str]:
    """An approved merchant's card-testing alert (medium: only the STR makes the close need
    four eyes), overdue and escalated, over five sales."""
    now = dt.datetime.now(dt.UTC)
    with server.session() as session:
        merchant = Merchant(legal_name="Yıldız Elektronik Ticaret A.Ş.", country="TR",
                            status="approved", tier="low", sector="5732",
                            email="finans@yildiz.example")
        session.add(merchant)
        session.flush()
        sales = [Transaction(merchant_id=merchant.id, external_id=f"journey-{i}", type="sale",
                             amount=Decimal("990.00"), currency="TRY",
                             amount_try=Decimal("990.00"),
                             occurred_at=now - dt.timedelta(hours=4, minutes=-10 * i),
                             card_masked="552879******0042", card_fingerprint="j" * 64,
                             customer_ref="cust-journey") for i in range(5)]
        session.add_all(sales)
        session.flush()
        alert = Alert(merchant_id=merchant.id, scenario="card_velocity", severity="medium",
                      summary="Card 552879******0042 used 5 times in 40 minutes",
                      details={"uses": 5, "threshold": 5,
                               "transaction_ids": [t.id for t in sales]},
                      dedupe_key=f"{merchant.id}:journey", occurred_at=sales[0].occurred_at,
                      opened_at=now - dt.timedelta(hours=3, minutes=50),
                      due_at=sales[0].occurred_at + dt.timedelta(hours=3),
                      escalated_at=now - dt.timedelta(minutes=5))
        session.add(alert)
        session.commit()
        return merchant.id, alert.id


def test_queue_to_case_to_four_eyes_close(live_server, context, browser):
    merchant_id, alert_id = _escalated_alert(live_server)
    used: set[str] = set()
    page = context.new_page()
    _login(page, live_server, live_server.staff["ayse"], used)

    page.goto(f"{live_server.url}/staff/alerts")
    page.wait_for_selector(f"tr[data-href$='{alert_id}']")
    _press(page, "j")
    expect(page.locator("tr.selected")).to_have_count(1)
    screenshot(page, "staff-alerts-queue")
    _press(page, "n")  # next unworked item: the escalated alert comes first
    page.wait_for_url(f"**/staff/alerts/{alert_id}")
    expect(page.locator("#evidence td:has-text('552879******0042')")).to_have_count(5)
    screenshot(page, "staff-alert-evidence")

    _press(page, "a")  # assign to me
    page.wait_for_selector("text=Assigned to you.")
    _press(page, "o")  # the case title field
    expect(page.locator("input[data-key='o']")).to_be_focused()
    _press(page, "Control+A")
    page.keyboard.type("Kart testi şüphesi")
    page.get_by_role("button", name="Open case").click()
    page.wait_for_selector("h1:has-text('Kart testi şüphesi')")
    case_url = page.url

    _press(page, "w")  # write a note
    page.keyboard.type("Kartı veren banka kartın çalıntı olduğunu doğruladı.")
    page.get_by_role("button", name="Add note").click()
    page.wait_for_selector("text=Note added.")
    _press(page, "f")  # the freeze reason; Enter submits its form
    page.keyboard.type("Stolen cards in use")
    _press(page, "Enter")
    page.wait_for_selector("text=The merchant's API keys are frozen.")
    assert "not needed" in page.locator("dt:has-text('Four eyes') + dd").inner_text()

    _press(page, "s")  # the STR narrative
    _press(page, "Control+A")
    page.keyboard.type("Beş çalıntı kart 40 dakikada denendi; kartı veren banka doğruladı.")
    page.get_by_role("button", name="File STR").click()
    page.wait_for_selector("text=STR filed under reference STR-")
    assert "STR filed" in page.locator("dt:has-text('Four eyes') + dd").inner_text()
    timeline = page.locator("#timeline")
    assert timeline.locator("li:has-text(\"Merchant's API keys frozen\")").count() == 1
    assert "Every key answers key_frozen" in timeline.inner_text()
    assert timeline.locator("li:has-text('STR filed')").filter(
        has_text="Reference STR-").count() == 1
    assert "{" not in timeline.inner_text()  # words, not raw JSON
    screenshot(page, "staff-case-str-filed")

    _press(page, "c")  # the close's outcome
    _press(page, "Escape")
    page.get_by_label("Outcome").select_option("str_filed")
    page.locator("#close textarea[name=reason]").fill("STR filed; card testing confirmed.")
    page.get_by_role("button", name="Request close").click()
    page.wait_for_selector("text=A second, different approver must confirm it")
    screenshot(page, "staff-case-close-requested")

    second = browser.new_context(viewport=VIEWPORT, locale="en-GB")
    try:
        other = second.new_page()
        _login(other, live_server, live_server.staff["mehmet"], used)
        other.goto(case_url)
        other.get_by_label("Outcome").select_option("str_filed")
        other.locator("#close textarea[name=reason]").fill("Agreed: the STR stands.")
        other.get_by_role("button", name="Confirm and close").click()
        other.wait_for_selector("text=Case closed.")
        screenshot(other, "staff-case-closed")
    finally:
        second.close()

    with live_server.session() as session:
        case = session.exec(select(Case).where(Case.merchant_id == merchant_id)).one()
        alert = session.get(Alert, alert_id)
        assert (case.status, case.close_requested_by, case.closed_by) == (
            "closed", "staff:ayse@bank.example", "staff:mehmet@bank.example")
        assert (alert.status, alert.disposition) == ("closed", "true_positive")
        assert case.outcome == "str_filed" and case.str_reference.startswith("STR-")
        assert case.str_filed_by == "staff:ayse@bank.example"
        assert session.get(Merchant, merchant_id).frozen
