"""Everything the merchant page shows, read in a fixed number of queries (no N+1): the
application and its history, the latest assessment, decisions, linked merchants, turnover
against the new-merchant caps (R-A4), API payments against the merchant's caps (R-E5),
transactions, keys, notes, alerts and audit events."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from app.db import Money
from app.models import (
    Alert,
    ApiKey,
    Assessment,
    AuditEvent,
    BankAccount,
    ContactPoint,
    Decision,
    Merchant,
    MerchantChange,
    MerchantNote,
    Ownership,
    Person,
    Transaction,
)
from app.services.ownership import find_shared_ownership
from app.services.personal_data import Disclosure, Identity
from app.services.sealed_assessments import open_assessment, outline
from app.web.merchant_caps import ShownCaps, shown_caps
from checks.policy import Policy

PAGE_ROWS = 50


@dataclass(frozen=True)
class TurnoverWindow:
    """Sales in the first ``days`` days after activation against the cap for that window."""

    days: int
    cap: Decimal
    turnover: Decimal
    ends_at: dt.datetime
    complete: bool

    @property
    def share(self) -> float:
        """How much of the cap is used (for the meter; display only)."""
        return float(self.turnover / self.cap) if self.cap else 0.0


@dataclass
class MerchantPage:
    """The data of one merchant page."""

    merchant: Merchant
    owners: list[tuple[Person, Ownership]] = field(default_factory=list)
    identities: dict[str, Identity] = field(default_factory=dict)  # person id → opened fields
    bank_accounts: list[BankAccount] = field(default_factory=list)
    contacts: list[ContactPoint] = field(default_factory=list)
    # The current e-mail and phone as shown: in clear for a role that sees personal data
    # (opened through the disclosure), else the contact points' masks.
    shown_contacts: dict[str, str | None] = field(default_factory=dict)
    changes: list[MerchantChange] = field(default_factory=list)
    assessment: Assessment | None = None
    # The latest assessment's checks as shown: with explanation and evidence (opened through
    # the disclosure) for a role that sees personal data, else code, status and points only.
    checks: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    links: Any = None
    turnover: list[TurnoverWindow] = field(default_factory=list)
    caps: ShownCaps | None = None
    transactions: list[Transaction] = field(default_factory=list)
    keys: list[ApiKey] = field(default_factory=list)
    notes: list[MerchantNote] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    events: list[AuditEvent] = field(default_factory=list)

    @property
    def pending_approval(self) -> Decision | None:
        """A high-tier approval waiting for its second approver."""
        return next((d for d in self.decisions if d.status == "pending_second"), None)


def _rows(session: Session, stmt: Any) -> list:
    return list(session.exec(stmt).all())


def load_page(session: Session, merchant: Merchant, *, policy: Policy, now: dt.datetime,
              disclosure: Disclosure | None) -> MerchantPage:
    """Read the merchant page of ``merchant``; owners' identities are opened through
    ``disclosure`` (None: a role that sees masks only). The caller records the disclosure."""
    mid = merchant.id
    page = MerchantPage(merchant=merchant)
    page.owners = [tuple(r) for r in _rows(session, select(Person, Ownership).join(
        Ownership, Ownership.person_id == Person.id).where(Ownership.merchant_id == mid)
        .order_by(Ownership.removed_at.is_not(None), Ownership.added_at, Person.id))]
    if disclosure is not None:
        page.identities = {p.id: disclosure.identity(p, ("full_name", "birth_date"))
                           for p, _own in page.owners}  # the page shows the id masked
    page.bank_accounts = _rows(session, select(BankAccount).where(BankAccount.merchant_id == mid)
                               .order_by(BankAccount.added_at.desc()))
    page.contacts = _rows(session, select(ContactPoint).where(ContactPoint.merchant_id == mid)
                          .order_by(ContactPoint.kind, ContactPoint.added_at.desc()))
    if disclosure is not None:
        opened = disclosure.contacts(merchant)
        page.shown_contacts = {"email": opened.email, "phone": opened.phone}
    else:
        page.shown_contacts = {p.kind: p.value for p in page.contacts
                               if p.kind in ("email", "phone") and p.removed_at is None}
    page.changes = _rows(session, select(MerchantChange).where(MerchantChange.merchant_id == mid)
                         .order_by(MerchantChange.at.desc()).limit(PAGE_ROWS))
    if merchant.latest_assessment_id:
        page.assessment = session.get(Assessment, merchant.latest_assessment_id)
    if page.assessment is not None:
        page.checks = (open_assessment(page.assessment, disclosure).checks
                       if disclosure is not None else outline(page.assessment))
    page.decisions = _rows(session, select(Decision).where(Decision.merchant_id == mid)
                           .order_by(Decision.created_at.desc()).limit(PAGE_ROWS))
    page.links = find_shared_ownership(session, merchant=merchant, disclosure=disclosure)
    page.turnover = turnover_windows(session, merchant, policy, now)
    page.caps = shown_caps(session, merchant, now)
    page.transactions = _rows(session, select(Transaction).where(Transaction.merchant_id == mid)
                              .order_by(Transaction.occurred_at.desc()).limit(PAGE_ROWS))
    page.keys = _rows(session, select(ApiKey).where(ApiKey.merchant_id == mid)
                      .order_by(ApiKey.created_at.desc()))
    page.notes = _rows(session, select(MerchantNote).where(MerchantNote.merchant_id == mid)
                       .order_by(MerchantNote.created_at.desc()))
    page.alerts = _rows(session, select(Alert).where(Alert.merchant_id == mid)
                        .order_by(Alert.status.desc(), Alert.due_at).limit(PAGE_ROWS))
    page.events = _rows(session, select(AuditEvent).where(AuditEvent.merchant_id == mid)
                        .order_by(AuditEvent.seq.desc()).limit(PAGE_ROWS))
    return page


def turnover_windows(session: Session, merchant: Merchant, policy: Policy,
                     now: dt.datetime) -> list[TurnoverWindow]:
    """Sales (TRY) in each new-merchant window from activation, against its cap — one query
    summing every window at once. Empty when the merchant was never activated."""
    start = merchant.activated_at
    if start is None:
        return []
    windows = policy.check("new_merchant_turnover").params["windows"]
    sums = [sa.type_coerce(sa.func.coalesce(sa.func.sum(sa.case(
        (Transaction.occurred_at < start + dt.timedelta(days=w.days), Transaction.amount_try),
        else_=None)), 0), Money).label(f"w{w.days}") for w in windows]
    row = session.exec(select(*sums).where(
        Transaction.merchant_id == merchant.id, Transaction.type == "sale",
        Transaction.occurred_at >= start)).one()
    return [TurnoverWindow(w.days, w.cap_try, Decimal(row[i] or 0),
                           start + dt.timedelta(days=w.days),
                           now >= start + dt.timedelta(days=w.days))
            for i, w in enumerate(windows)]
