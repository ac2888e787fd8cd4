"""Alerts for blacklist hits on traffic (R-E2, R-C1): scenario ``blacklist_hit``, of the
policy's ``[blacklist] alert_severity`` (high).

One alert per merchant, entry and UTC day (its ``dedupe_key`` is unique, so two workers racing
open it once), due ``[alerts] sla_hours`` after the request or payment that hit. The evidence
names the entry's kind, its masked value, its id, the channel (``verify``, ``gateway``,
``transactions``) and the request field that matched. A reviewer's snooze of ``blacklist_hit``
for the merchant holds the alert back (audited as ``alert.suppressed``); the traffic is refused
all the same.

Transactions open the alert in the request's own transaction (:func:`open_blacklist_alert`).
Verifications must not wait for it: the verifier hands each committed ``blacklisted`` event to
:class:`BlacklistAlerts`, which opens the alerts on a background thread, like the API anomaly
monitor.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.audit.trail import Actor, EventDraft, record
from app.models import Alert
from app.services.alerts import active_snoozes, due_time, record_suppressed
from app.services.background import BackgroundQueue
from checks.policy import Policy
from checks.wording import says

log = logging.getLogger("kybgate.blacklist")
SCENARIO = "blacklist_hit"
ACTOR = "system:blacklist"


def alert_key(merchant_id: str, entry_id: str, at: dt.datetime) -> str:
    """One alert per merchant, entry and UTC day."""
    return f"{SCENARIO}:{merchant_id}:{entry_id}:{at.astimezone(dt.UTC):%Y-%m-%d}"


def open_blacklist_alert(session: Session, *, merchant_id: str, match: dict[str, Any],
                         channel: str, occurred_at: dt.datetime, now: dt.datetime,
                         policy: Policy, actor: str = ACTOR) -> Alert | None:
    """Open the alert of a hit (``match``: ``BlacklistMatch.to_dict()``) unless the merchant
    already has one for this entry today; audited as ``alert.opened``. Flushes only."""
    key = alert_key(merchant_id, match["entry_id"], occurred_at)
    if session.exec(select(Alert.id).where(Alert.dedupe_key == key)).first():
        return None
    said = says("Blacklisted %(kind)s %(value)s used on %(channel)s (entry %(entry)s)",
                kind=match["kind"], value=match["value"], channel=channel,
                entry=match["entry_id"])
    summary = said.text()
    snooze = active_snoozes(session, merchant_id=merchant_id, now=now).get(SCENARIO)
    if snooze is not None:  # the payment is refused all the same; only the alert waits
        record_suppressed(session, snooze=snooze, dedupe_key=key, summary=summary,
                          occurred_at=occurred_at, actor=Actor(name=actor), now=now)
        return None
    severity = policy.blacklist.alert_severity
    alert = Alert(merchant_id=merchant_id, scenario=SCENARIO, severity=severity,
                  summary=summary[:500], summary_wording=said.to_dict(), dedupe_key=key,
                  status="open",
                  details={**match, "channel": channel, "subject": match["value"],
                           "occurred_at": occurred_at.isoformat(),
                           "policy_version": policy.version},
                  occurred_at=occurred_at, opened_at=now,
                  due_at=due_time(occurred_at, policy))
    try:
        with session.begin_nested():
            session.add(alert)
    except IntegrityError:
        log.info("blacklist alert %s already opened by another worker", key)
        return None
    record(session, EventDraft(action="alert.opened", actor=actor, target_type="alert",
                               target_id=alert.id, merchant_id=merchant_id, reason=SCENARIO,
                               at=now, details={"scenario": SCENARIO, "severity": severity,
                                                "dedupe_key": key, "channel": channel,
                                                "entry_id": match["entry_id"],
                                                "kind": match["kind"],
                                                "due_at": alert.due_at.isoformat()}))
    return alert


class BlacklistAlerts:
    """Opens the alerts of ``blacklisted`` verifications on a background thread."""

    def __init__(self, engine: Engine, policy: Policy) -> None:
        self.engine = engine  # the writer
        self.policy = policy
        self._known: set[str] = set()
        self._queue = BackgroundQueue("kyb-blacklist-alerts", self._open)

    def observe(self, drafts: Sequence[EventDraft], _stored: object = None) -> None:
        """Queue the committed ``blacklisted`` verification events among ``drafts``."""
        found = {}
        for d in drafts:
            hit = (d.details or {}).get("blacklist") if d.reason == "blacklisted" else None
            if hit and d.merchant_id:
                key = alert_key(d.merchant_id, hit["entry_id"], d.at or dt.datetime.now(dt.UTC))
                if key not in self._known:
                    found.setdefault(key, d)
        self._queue.submit(found)

    def drain(self, timeout: float = 5.0) -> bool:
        """Wait until every observed hit has its alert (tests, the demo)."""
        return self._queue.drain(timeout)

    def _open(self, batch: dict[str, EventDraft]) -> None:
        now = dt.datetime.now(dt.UTC)
        try:
            with Session(self.engine) as session:
                for d in batch.values():
                    open_blacklist_alert(session, merchant_id=d.merchant_id or "",
                                         match=d.details["blacklist"],
                                         channel=str(d.details.get("channel", "verify")),
                                         occurred_at=d.at or now, now=now, policy=self.policy)
                session.commit()
            self._known |= set(batch)
            if len(self._known) > 100_000:
                self._known = set()
        except Exception:
            log.exception("could not open blacklist alerts")
