"""The demo's review step: sample sanctions lists, assessments through the sandbox Internet,
staff decisions through the decision service, and demo accounts to log in with. Each is planned
on the demo's timeline at the time it happened (``app.demo.timeline``).

Everything goes through the same services the staff console and the API use, so the demo's
audit trail, assessments and decisions look exactly like production ones.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from sqlmodel import Session, select

from app.audit.trail import Actor, record
from app.config import ROOT, Settings
from app.demo.loader import Loaded
from app.demo.timeline import Timeline
from app.models import Merchant, StaffUser
from app.services.assessments import active_policy, assess_merchant
from app.services.decisions import decide
from app.services.facts import LookupSources
from app.services.personal_data import data_keys
from app.services.portal_users import new_merchant_user
from app.services.screening import import_list, screening_index
from app.web.passwords import hash_password, new_totp_secret
from checks.policy import Policy

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
    """Load the real OFAC and UN list subsets and the OpenSanctions PEP sample that ship with
    the tests, when present: with no PEP list, ``sanctions_pep`` rightly says it could not
    judge the PEP part (kyb-2026.11.2)."""
    if not SAMPLE_LISTS.is_dir():
        return 0
    actor = Actor(name="demo-loader", request_id="demo")
    ofac = [SAMPLE_LISTS / n for n in ("sdn.csv", "alt.csv", "add.csv")]
    loaded = 0
    for paths, name, kind in (
            (ofac, "OFAC SDN", "sanctions"),
            ([SAMPLE_LISTS / "un_consolidated.xml"], "UN Consolidated", "sanctions"),
            ([SAMPLE_LISTS / "opensanctions_sample.jsonl"], "OpenSanctions PEP", "pep")):
        if all(Path(p).exists() for p in paths):
            summary = import_list(session, paths=paths, kind=kind, name=name,
                                  actor=actor, now=now)
            loaded += summary.entries
    return loaded


def _approvers() -> tuple[Actor, Actor]:
    return (Actor(name=f"staff:{STAFF[1][0]}", request_id="demo"),
            Actor(name=f"staff:{STAFF[2][0]}", request_id="demo"))


def _decide(session: Session, item: Loaded, at: dt.datetime) -> None:
    first, second = _approvers()
    merchant = session.get(Merchant, item.merchant_id)
    wanted = item.spec.status
    if wanted == "in_review":
        merchant.status = "in_review"
        session.add(merchant)
        record(session, first.event("merchant.review_started", target_type="merchant",
                                    target_id=merchant.id, merchant_id=merchant.id, at=at))
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


def _suspend(session: Session, item: Loaded, at: dt.datetime) -> None:
    decide(session, merchant=session.get(Merchant, item.merchant_id), decision="suspend",
           actor=_approvers()[0], now=at, reason=item.spec.story or "Chargebacks.")


class _Assessor:
    """Assesses demo merchants in the sandbox; the screening index is read at the first
    assessment, after the sample lists were imported."""

    def __init__(self, session: Session, sources: LookupSources, policy: Policy) -> None:
        self.session, self.sources, self.policy = session, sources, policy
        self.index = None
        self.actor = Actor(name="demo-loader", request_id="demo")

    def __call__(self, item: Loaded, at: dt.datetime, trigger: str) -> None:
        if self.index is None:
            self.index = screening_index(self.session)
        assess_merchant(self.session, merchant=self.session.get(Merchant, item.merchant_id),
                        actor=self.actor, now=at, trigger=trigger, sources=self.sources,
                        index=self.index, policy=self.policy)


def plan_review(session: Session, loaded: list[Loaded], timeline: Timeline, *,
                settings: Settings, sources: LookupSources, now: dt.datetime) -> None:
    """Plan on ``timeline`` the sample lists' import (before the first application), each
    merchant's assessment in the sandbox, the decisions its story needs, and today's
    periodic re-assessment of decided merchants with their sales history."""
    assess = _Assessor(session, sources, active_policy(settings.policy_path))
    lists_at = min(item.created_at for item in loaded) - dt.timedelta(days=1)
    timeline.at(lists_at, lambda: import_sample_lists(session, lists_at), "screening lists")
    for item in loaded:
        dates = item.dates
        timeline.at(dates.assessed, partial(assess, item, dates.assessed, "demo"),
                    item.spec.trade_name)
        if dates.decided is not None:
            timeline.at(dates.decided, partial(_decide, session, item, dates.decided),
                        item.spec.trade_name)
        if dates.suspended is not None:
            timeline.at(dates.suspended, partial(_suspend, session, item, dates.suspended),
                        item.spec.trade_name)
        if item.spec.status in {"approved", "suspended"}:
            timeline.at(now, partial(assess, item, now, "demo: periodic review"),
                        item.spec.trade_name)


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
        session.add(new_merchant_user(email=email, keys=data_keys(session),
                                      merchant_id=approved.merchant_id,
                                      password_hash=hash_password(DEMO_PASSWORD),
                                      totp_secret=secret))
        accounts.append(DemoAccount(email, "merchant", DEMO_PASSWORD, secret))
    session.flush()
    return accounts
