"""The API anomaly monitor counts a whole round's subjects with grouped queries
(``reached_many``): the same hits, counts, first-call times and ``known`` keys as counting each
observation on its own (``_reached``), over subjects under, at and over both thresholds, two
merchants and two days. SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session

from app.audit.trail import EventDraft, append_events
from app.models import Merchant
from app.services.api_anomalies import Observation, _reached, reached_many
from checks.policy import load_policy

POLICY = load_policy()
DAY = dt.datetime(2026, 11, 21, 9, 0, tzinfo=dt.UTC)


def _merchant(session: Session) -> Merchant:
    row = Merchant(legal_name="Örnek Ticaret A.Ş.", country="TR", sector="5999")
    session.add(row)
    session.flush()
    return row


def _verify(merchant_id: str, ip: str, ref: str, at: dt.datetime) -> EventDraft:
    return EventDraft(action="api.verify", actor="client:x", merchant_id=merchant_id,
                      source_ip=ip, customer_ref=ref, decision="allow", at=at)


def test_grouped_counting_finds_what_counting_each_observation_finds(db_session):
    refs_limit = POLICY.monitoring.customer_refs_per_ip_per_day
    ips_limit = POLICY.monitoring.ips_per_customer_ref_per_day
    a, b = _merchant(db_session), _merchant(db_session)
    drafts = []
    for m, day in ((a, DAY), (b, DAY), (a, DAY + dt.timedelta(days=1))):
        for i in range(refs_limit):  # 203.0.113.1 at the threshold, .2 one under
            drafts.append(_verify(m.id, "203.0.113.1", f"c{i}", day + dt.timedelta(minutes=i)))
            if i < refs_limit - 1:
                drafts.append(_verify(m.id, "203.0.113.2", f"c{i}", day))
        for i in range(ips_limit + 1):  # customer "roam" over the threshold
            drafts.append(_verify(m.id, f"198.51.100.{i}", "roam",
                                  day + dt.timedelta(minutes=30 + i)))
    drafts.sort(key=lambda d: d.at)
    append_events(db_session, drafts)
    db_session.flush()
    batch = [Observation(m.id, ip, ref, day + dt.timedelta(hours=2))
             for m, day in ((a, DAY), (b, DAY), (a, DAY + dt.timedelta(days=1)))
             for ip, ref in (("203.0.113.1", "c0"), ("203.0.113.2", "c1"),
                             ("198.51.100.0", "roam"), ("203.0.113.1", "c1"),
                             ("192.0.2.9", "nobody"))]
    already = {f"api_ip_many_customers:{b.id}:203.0.113.1:{DAY:%Y-%m-%d}"}

    one_by_one_known, one_by_one = set(already), []
    for obs in batch:
        one_by_one += _reached(db_session, observation=obs, policy=POLICY,
                               known=one_by_one_known)
    grouped_known = set(already)
    grouped = reached_many(db_session, batch, policy=POLICY, known=grouped_known)

    assert grouped == one_by_one
    assert grouped_known == one_by_one_known
    assert {(o.merchant_id, o.at.date(), scenario, subject) for o, scenario, subject, *_ in
            grouped} == {
        (a.id, DAY.date(), "api_ip_many_customers", "203.0.113.1"),
        (a.id, DAY.date(), "api_customer_many_ips", "roam"),
        (b.id, DAY.date(), "api_customer_many_ips", "roam"),
        (a.id, (DAY + dt.timedelta(days=1)).date(), "api_ip_many_customers", "203.0.113.1"),
        (a.id, (DAY + dt.timedelta(days=1)).date(), "api_customer_many_ips", "roam")}
    first = {(o.merchant_id, o.at.date(), subject): when for o, _, subject, _, _, when in grouped}
    assert first[(a.id, DAY.date(), "203.0.113.1")] == DAY
    assert first[(a.id, DAY.date(), "roam")] == DAY + dt.timedelta(minutes=30)
