"""Fixtures for the staff console: staff users made through the real CLI, and a logged-in
test client per role."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.db import utcnow
from checks.wording import says


@dataclass
class Staff:
    """A staff account created for a test, with what is needed to log in."""

    id: str
    email: str
    role: str
    password: str
    totp_secret: str

    def code(self, at=None) -> str:
        return pyotp.TOTP(self.totp_secret).at(at or utcnow())


def create_staff(app: Flask, email: str, role: str) -> Staff:
    """Create a staff user through ``kybgate users create --json``."""
    result = app.test_cli_runner().invoke(
        args=["users", "create", "--email", email, "--role", role, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    return Staff(data["id"], data["email"], role, data["password"], data["totp_secret"])


def csrf_from(html: str) -> str:
    """The CSRF token of the first form in ``html``."""
    marker = 'name="csrf_token" type="hidden" value="'
    if marker not in html:
        marker = 'name="csrf_token" value="'
    start = html.index(marker) + len(marker)
    return html[start:html.index('"', start)]


def login(client: FlaskClient, staff: Staff, code: str | None = None, at=None):
    """Log ``staff`` in through the two login forms; returns the final response."""
    page = client.get("/staff/login")
    resp = client.post("/staff/login", data={"email": staff.email, "password": staff.password,
                                             "csrf_token": csrf_from(page.get_data(True))})
    assert resp.status_code == 302, resp.get_data(True)
    page = client.get("/staff/login/code")
    return client.post("/staff/login/code", data={
        "code": code or staff.code(at), "csrf_token": csrf_from(page.get_data(True))})


@pytest.fixture
def make_staff(app) -> Callable[[str, str], Staff]:
    return lambda email, role: create_staff(app, email, role)


@pytest.fixture
def staff_client(app, make_staff) -> Callable[[str], tuple[FlaskClient, Staff]]:
    """``staff_client("approver")`` → a fresh client logged in as a new user of that role."""
    counter = {"n": 0}

    def factory(role: str, email: str | None = None) -> tuple[FlaskClient, Staff]:
        counter["n"] += 1
        staff = make_staff(email or f"{role}{counter['n']}@bank.example", role)
        client = app.test_client()
        resp = login(client, staff)
        assert resp.status_code == 302, resp.get_data(True)
        return client, staff
    return factory


# Explanations as the checks write them (``checks.wording``): English text and wording.
CHECK_ROWS = [
    ("domain_age", "flag", 25, {"domain": "example.com", "age_days": 34, "source": "rdap"},
     says("Domain %(domain)s was registered %(age)s days ago (%(created)s); the policy flags "
          "domains younger than %(min)s days.", domain="example.com", age=34,
          created="2026-10-24", min=90)),
    ("iban_change_frequency", "flag", 20, {"changes_90d": 4},
     says("The payout IBAN was changed %(n)s time(s) in the last %(days)s days; the policy "
          "flags %(at)s or more.", n=4, days=90, at=3)),
    ("shared_ownership", "fail", 30, {"linked": 2},
     says("Shared ownership: %(factors)s.", factors=[
         says("%(owner)s is behind %(n)s merchants (policy maximum %(most)s)",
              owner="Ali Veli", n=3, most=2)])),
    ("iban_valid", "pass", 0, {"iban": "TR..."},
     says("IBAN %(iban)s is valid (country %(country)s, bank code %(bank)s).",
          iban="TR33…1326", country="TR", bank="00061")),
    ("sanctions_pep", "unknown", 10, {},
     says("No sanctions or PEP list was loaded, so the merchant and its owners were not "
          "screened.")),
]


def seed_assessment(session, merchant, *, tier: str = "high", score: int = 85):
    """Store an assessment for ``merchant`` as the assessments service would (test data: the
    console renders what is stored; the checks themselves are tested in tests/unit/checks)."""
    from app.models import Assessment
    row = Assessment(merchant_id=merchant.id, policy_version="kyb-2026.11.1",
                     policy_digest="0" * 64, score=score, tier=tier,
                     recommended_action="manual_review",
                     checks=[{"code": c, "status": s, "points": p, "evidence": e,
                              "explanation": x.text(), "wording": x.to_dict()}
                             for c, s, p, e, x in CHECK_ROWS],
                     reasons=["domain_age flagged"], input_snapshot={}, trigger="test")
    session.add(row)
    session.flush()
    merchant.tier, merchant.latest_assessment_id = tier, row.id
    session.add(merchant)
    session.flush()
    return row
