"""The demo's review step: sample sanctions lists, assessments through the sandbox Internet,
staff decisions through the decision service, and demo accounts to log in with.

Everything goes through the same services the staff console and the API use, so the demo's
audit trail, assessments and decisions look exactly like production ones.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session, select

from app.audit.trail import Actor, record
from app.config import ROOT, Settings
from app.demo import Loaded
from app.demo_world import sandbox_sources
from app.models import Merchant, MerchantUser, StaffUser
from app.services.assessments import active_policy, assess_merchant
from app.services.decisions import decide
from app.services.screening import import_list, screening_index
from app.web.passwords import hash_password, new_totp_secret

SAMPLE_LISTS = ROOT / "tests" / "fixtures" / "sanctions"
DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 - printed for the demo, never for production
STAFF = (("analyst@demo.kybgate.test", "analyst"), ("ayse@demo.kybgate.test", "approver"),
         ("mehmet@demo.kybgate.test", "approver"), ("admin@demo.kybgate.test", "admin"))


@dataclass(frozen=True)
class DemoAccount:
    """A demo login: e-mail, role, password and TOTP secret (printed by ``kybgate demo``)."""

    email: str
    role: str
    password: str
    totp_secret: str


def import_sample_lists(session: Session, now: dt.datetime) -> int:
    """Load the real OFAC and UN list subsets that ship with the tests, when present."""
    if not SAMPLE_LISTS.is_dir():
        return 0
    actor = Actor(name="demo-loader", request_id="demo")
    ofac = [SAMPLE_LISTS / n for n in ("sdn.csv", "alt.csv", "add.csv")]
    loaded = 0
    for paths, name in ((ofac, "OFAC SDN"), ([SAMPLE_LISTS / "un_consolidated.xml"],
                                             "UN Consolidated")):
        if all(Path(p).exists() for p in paths):
            summary = import_list(session, paths=paths, kind="sanctions", name=name,
                                  actor=actor, now=now)
            loaded += summary.entries
    return loaded


def _approvers() -> tuple[Actor, Actor]:
    return (Actor(name=f"staff:{STAFF[1][0]}", request_id="demo"),
            Actor(name=f"staff:{STAFF[2][0]}", request_id="demo"))


def _decide_story(session: Session, merchant: Merchant, item: Loaded, at: dt.datetime) -> None:
    first, second = _approvers()
    wanted = item.spec.status
    if wanted == "in_review":
        merchant.status = "in_review"
        session.add(merchant)
        record(session, first.event("merchant.review_started", target_type="merchant",
                                    target_id=merchant.id, merchant_id=merchant.id))
    elif wanted == "info_requested":
        decide(session, merchant=merchant, decision="request_info", actor=first, now=at,
               reason="Please send the trade registry gazette and the last tax return.")
    elif wanted == "rejected":
        decide(session, merchant=merchant, decision="reject", actor=first, now=at,
               reason=item.spec.story or "Profile does not fit our risk appetite.")
    elif wanted in {"approved", "suspended"}:
        for actor in (first, second):  # a high tier waits for the second approver
            row = decide(session, merchant=merchant, decision="approve", actor=actor, now=at,
                         reason="Documents verified; checks reviewed.")
            if row.status == "final":
                break
        if wanted == "suspended":
            decide(session, merchant=merchant, decision="suspend", actor=first,
                   now=at + dt.timedelta(days=120), reason=item.spec.story or "Chargebacks.")


def review_demo(session: Session, loaded: list[Loaded], *, settings: Settings,
                now: dt.datetime, progress: Callable[[str], None] = lambda _n: None) -> dict:
    """Assess every demo merchant in the sandbox and take the decisions its story needs.
    Approved merchants are assessed and approved when they applied, then assessed again now
    with their sales history. Returns counts by tier."""
    policy = active_policy(settings.policy_path)
    index = screening_index(session)
    actor = Actor(name="demo-loader", request_id="demo")
    domains = {item.spec.domain: item.spec.domain_age_days for item in loaded}
    tiers: dict[str, int] = {}
    with sandbox_sources(settings, domains, now) as sources:
        for item in loaded:
            merchant = session.get(Merchant, item.merchant_id)
            decided_at = item.created_at + dt.timedelta(days=3)
            when = decided_at if item.spec.status in {"approved", "suspended"} else now
            assess_merchant(session, merchant=merchant, actor=actor, now=when - dt.timedelta(
                hours=1), trigger="demo", sources=sources, index=index, policy=policy)
            _decide_story(session, merchant, item, when)
            if when != now:
                assess_merchant(session, merchant=merchant, actor=actor, now=now,
                                trigger="demo: periodic review", sources=sources, index=index,
                                policy=policy)
            tiers[merchant.tier or "none"] = tiers.get(merchant.tier or "none", 0) + 1
            session.flush()
            progress(item.spec.trade_name)
    return tiers


def create_demo_accounts(session: Session, loaded: list[Loaded]) -> list[DemoAccount]:
    """Staff accounts of every role, and a portal account for the first approved merchant."""
    accounts = []
    for email, role in STAFF:
        if session.exec(select(StaffUser.id).where(StaffUser.email == email)).first():
            continue
        secret = new_totp_secret()
        session.add(StaffUser(email=email, role=role, password_hash=hash_password(DEMO_PASSWORD),
                              totp_secret=secret, display_name=email.split("@")[0].title()))
        accounts.append(DemoAccount(email, role, DEMO_PASSWORD, secret))
    approved = next((i for i in loaded if i.spec.status == "approved"), None)
    if approved is not None:
        email = f"finans@{approved.spec.domain}"
        secret = new_totp_secret()
        session.add(MerchantUser(email=email, merchant_id=approved.merchant_id,
                                 password_hash=hash_password(DEMO_PASSWORD), totp_secret=secret))
        accounts.append(DemoAccount(email, "merchant", DEMO_PASSWORD, secret))
    session.flush()
    return accounts
