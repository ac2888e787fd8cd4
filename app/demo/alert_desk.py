"""The demo's analysts at work: the alerts monitoring raised on past days, worked to a documented
end through the real services, shortly after they opened (R-C1, R-D5).

Each nightly batch of sales (``app.demo.sales.nightly_batches``) may open alerts. The
:class:`AlertDesk` plans, on the demo's timeline, what the analyst on duty did with each: take it
(``start_review``) within the hour and close it with a disposition and the reason a reviewer
writes for that scenario (``close_alert``). A work step that would fall after the demo's
``now`` is not planned: those alerts are today's, still open in the queue. The two merchants
whose story is a real risk — the night-selling fish shop and the jewellery front — get a case
(``open_case``) at their second alert, which the later ones join; the case stays open.

Month-window scenarios (night turnover, round amounts) date their 3-hour clock from the first
sale behind them, which is weeks old when the month's share first crosses the line: those
alerts are past due when they open, and their close says so (``within_sla`` false).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from sqlmodel import Session, select

from app.audit.trail import Actor
from app.demo.timeline import Timeline
from app.models import Alert, Case, Merchant
from app.services.alerts import close_alert, start_review
from app.services.cases import add_alerts, add_note, open_case
from checks.policy import Policy

ANALYST = Actor(name="staff:analyst@demo.kybgate.test", request_id="demo")
TAKEN_AFTER = (10, 50)  # minutes from an alert's opening to the analyst taking it
WORKED_FOR = (10, 45)  # minutes of review before the close
# The demo stories (app.demo.sales patterns) whose repeated alerts become a case.
CASE_PATTERNS = {"night": "Night-time turnover at {name}",
                 "front": "Sales that do not fit the goods on offer at {name}"}

# What the analyst concluded, by scenario and (for the demo's stories) the merchant's pattern:
# (disposition, reason). ``None`` as pattern is any other merchant.
CONCLUSIONS: dict[tuple[str, str | None], tuple[str, str]] = {
    ("night_turnover", "night"): (
        "true_positive",
        "Confirmed: most of the month's sales were made between 21:00 and 06:00, which does "
        "not fit a fish shop's opening hours. Customers and cards vary; the relationship "
        "manager will ask the owner who buys at night."),
    ("night_turnover", None): (
        "false_positive",
        "The night share comes from a few evening orders at the start of the window; daytime "
        "sales dominate since. Ordinary online shop, no further action."),
    ("price_ticket_mismatch", "front"): (
        "true_positive",
        "Tickets of 500 to 1,000 TRY at a site whose items cost 15 to 40 TRY: the sales do not "
        "match the goods on offer. Asked the merchant for invoices of ten recent orders."),
    ("new_merchant_turnover", "front"): (
        "true_positive",
        "Past the first month's turnover cap weeks after approval, at tickets far above the "
        "site's prices; the re-assessment moved the merchant to the high tier."),
    ("turnover_jump", "front"): (
        "true_positive",
        "The jump comes from the same high tickets as the merchant's earlier alerts; no "
        "campaign on the site explains it."),
    ("round_amounts", "round"): (
        "not_suspicious",
        "The round amounts are the shop's 100, 250 and 500 TRY gift vouchers, listed on its "
        "website; different cards and customers. No further action."),
    ("round_amounts", None): (
        "not_suspicious",
        "Round prices match the merchant's catalogue; no repeating card or customer behind "
        "them. No further action."),
    ("turnover_jump", None): (
        "not_suspicious",
        "Campaign day announced on the merchant's website; ordinary tickets from many "
        "different cards. No further action."),
    ("weekend_volume", None): (
        "not_suspicious",
        "Weekend deliveries are this merchant's business model; amounts and customers are "
        "in line with its profile. No further action."),
    ("sector_outlier", None): (
        "not_suspicious",
        "Turnover is above the sector average but matches the volume declared at onboarding "
        "and the limits approved; no other signal. No further action."),
}
DEFAULT_CONCLUSION = (
    "not_suspicious",
    "Reviewed the transactions behind the alert: customers, cards and amounts are in line "
    "with the merchant's profile and history. No further action.")
CASE_NOTES = {
    "night": "The night share crossed the policy line again in a new month. Asked the merchant "
             "for its delivery records and the buyers of its night orders; monitoring continues.",
    "front": "Second alert since approval on the same mismatch between tickets and site prices. "
             "Keys stay blocked until a four-eyes approval; waiting for the merchant's "
             "invoices before deciding on offboarding."}
IN_CASE = " Handled in case {case}."


def conclusion(scenario: str, pattern: str) -> tuple[str, str]:
    """The analyst's disposition and reason for an alert of ``scenario`` at a merchant whose
    demo story is ``pattern``."""
    return CONCLUSIONS.get((scenario, pattern)) or CONCLUSIONS.get((scenario, None)) \
        or DEFAULT_CONCLUSION


@dataclass
class AlertDesk:
    """Plans the analyst's work on the alerts that each replayed batch opened."""

    session: Session
    timeline: Timeline
    policy: Policy
    now: dt.datetime
    rng: random.Random
    planned: set[str] = field(default_factory=set)

    def work_new_alerts(self, merchant_id: str, pattern: str, at: dt.datetime) -> int:
        """Plan the review and close of the merchant's open alerts not planned yet, opened by
        the batch sent at ``at``; alerts whose work would end after ``now`` stay open.
        Returns the number planned."""
        alerts = self.session.exec(select(Alert).where(
            Alert.merchant_id == merchant_id, Alert.status == "open")
            .order_by(Alert.opened_at, Alert.id)).all()
        planned = 0
        for alert in alerts:
            if alert.id in self.planned:
                continue
            self.planned.add(alert.id)
            taken = at + dt.timedelta(minutes=self.rng.randint(*TAKEN_AFTER))
            closed = taken + dt.timedelta(minutes=self.rng.randint(*WORKED_FOR))
            if closed > self.now:
                continue
            self.timeline.at(taken, lambda a=alert.id, t=taken: self._take(a, t), "alert desk")
            self.timeline.at(closed, lambda a=alert.id, t=closed, p=pattern:
                             self._close(a, p, t), "alert desk")
            planned += 1
        return planned

    def _take(self, alert_id: str, at: dt.datetime) -> None:
        start_review(self.session, alert=self.session.get(Alert, alert_id), actor=ANALYST,
                     now=at)

    def _close(self, alert_id: str, pattern: str, at: dt.datetime) -> None:
        alert = self.session.get(Alert, alert_id)
        disposition, reason = conclusion(alert.scenario, pattern)
        case = self._case(alert, pattern, at)
        if case is not None:
            disposition, reason = "true_positive", reason + IN_CASE.format(case=case.id)
        close_alert(self.session, alert=alert, disposition=disposition, reason=reason,
                    actor=ANALYST, now=at)

    def _case(self, alert: Alert, pattern: str, at: dt.datetime) -> Case | None:
        """For a story merchant's alert after its first: the merchant's open case, which the
        alert joins, or a new one (``None`` for everyone else and for a first alert)."""
        if pattern not in CASE_PATTERNS:
            return None
        case = self.session.exec(select(Case).where(
            Case.merchant_id == alert.merchant_id, Case.status != "closed")).first()
        if case is not None:
            add_alerts(self.session, case=case, alert_ids=[alert.id], actor=ANALYST, now=at)
            return case
        earlier = self.session.exec(select(Alert.id).where(
            Alert.merchant_id == alert.merchant_id, Alert.status == "closed")).first()
        if earlier is None:
            return None
        merchant = self.session.get(Merchant, alert.merchant_id)
        case = open_case(self.session, merchant=merchant, actor=ANALYST, now=at,
                         title=CASE_PATTERNS[pattern].format(
                             name=merchant.trade_name or merchant.legal_name),
                         policy=self.policy, alert_ids=[alert.id], priority="low",
                         assignee=ANALYST.name)
        add_note(self.session, case=case, text=CASE_NOTES[pattern], actor=ANALYST, now=at)
        return case


__all__ = ["AlertDesk", "conclusion"]
