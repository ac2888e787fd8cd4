"""The API anomaly monitor counts a whole round's subjects with grouped queries
(``reached_many``): the same hits, counts, first-call times and ``known`` keys as counting each
observation on its own (``_reached``), over subjects under, at and over both thresholds, two
merchants and two days; and it keeps its counts between rounds (``SubjectTally``), reading only
what was committed since. SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlmodel import Session

from app.audit.trail import EventDraft, append_events
from app.models import Merchant
from app.services.api_anomalies import Observation, SubjectTally, _reached, reached_many
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


def _round(session: Session, tally, observations, known):  # noqa: ANN001, ANN202
    return {(o.merchant_id, scenario, subject, count)
            for o, scenario, subject, count, *_ in reached_many(
                session, observations, policy=POLICY, known=known, tally=tally)}


def _statements(session: Session) -> list[str]:
    """The SQL ``session``'s connection runs from now on (appended as it runs)."""
    seen: list[str] = []
    sa.event.listen(session.connection(), "before_cursor_execute",
                    lambda _c, _cur, statement, *_a: seen.append(statement))
    return seen


def test_a_kept_tally_counts_across_rounds_what_a_fresh_count_finds(db_session):
    """Round by round the tally reads only what was committed since (R-B6, R-C10): a subject
    one under the threshold stays quiet, the request that brings it to the threshold opens it,
    and a request appended by another host (straight into the trail) counts as well."""
    refs_limit = POLICY.monitoring.customer_refs_per_ip_per_day
    m = _merchant(db_session)
    tally, known = SubjectTally(), set()
    ip = "203.0.113.7"
    append_events(db_session, [_verify(m.id, ip, f"c{i}", DAY + dt.timedelta(minutes=i))
                               for i in range(refs_limit - 2)])
    db_session.flush()
    first_round = [Observation(m.id, ip, "c0", DAY + dt.timedelta(hours=1))]
    assert _round(db_session, tally, first_round, known) == set()
    read_through = tally.upto

    # Another host's request for a new customer: one under the threshold, still quiet.
    append_events(db_session, [_verify(m.id, ip, "other-host", DAY + dt.timedelta(hours=2))])
    db_session.flush()
    statements = _statements(db_session)
    assert _round(db_session, tally, first_round, known) == set()
    assert tally.upto > read_through
    assert not any("GROUP BY" in s for s in statements)  # no whole-day count again

    # The request that reaches the threshold opens the subject's alert, with the full count.
    append_events(db_session, [_verify(m.id, ip, "last", DAY + dt.timedelta(hours=3))])
    db_session.flush()
    hits = _round(db_session, tally, [Observation(m.id, ip, "last", DAY + dt.timedelta(hours=3))],
                  known)
    assert hits == {(m.id, "api_ip_many_customers", ip, refs_limit)}
    fresh_known: set[str] = set()
    assert _round(db_session, SubjectTally(), first_round, fresh_known) == hits
    assert known == fresh_known
    # Counted once: the subject with an open alert is neither reported nor counted again.
    assert _round(db_session, tally, first_round, known) == set()
    assert tally.kept() == {("api_customer_many_ips", DAY.date(), "c0"),
                            ("api_customer_many_ips", DAY.date(), "last")}  # not the IP


def test_the_tally_keeps_days_apart_and_forgets_days_gone(db_session):
    """A subject's requests on two days are two counts; a day before yesterday is dropped
    once a later day is counted, and read again whole if it is ever asked for."""
    ips_limit = POLICY.monitoring.ips_per_customer_ref_per_day
    m = _merchant(db_session)
    tally, known = SubjectTally(), set()
    day2, day4 = DAY + dt.timedelta(days=1), DAY + dt.timedelta(days=3)
    drafts = [_verify(m.id, f"198.51.100.{i}", "roam", DAY + dt.timedelta(minutes=i))
              for i in range(ips_limit - 1)]
    drafts += [_verify(m.id, "198.51.100.99", "roam", day2)]
    append_events(db_session, drafts)
    db_session.flush()
    assert _round(db_session, tally, [Observation(m.id, "198.51.100.0", "roam", DAY),
                                      Observation(m.id, "198.51.100.99", "roam", day2)],
                  known) == set()
    append_events(db_session, [_verify(m.id, "198.51.100.98", "roam", day2)])
    db_session.flush()
    # Day 2 has two IPs: under the threshold, though day 1 and 2 together are over it.
    assert _round(db_session, tally, [Observation(m.id, "198.51.100.98", "roam", day2)],
                  known) == set()
    assert tally.kept() == {("api_ip_many_customers", DAY.date(), "198.51.100.0"),
                            ("api_customer_many_ips", DAY.date(), "roam"),
                            ("api_ip_many_customers", day2.date(), "198.51.100.99"),
                            ("api_ip_many_customers", day2.date(), "198.51.100.98"),
                            ("api_customer_many_ips", day2.date(), "roam")}
    assert _round(db_session, tally, [Observation(m.id, "192.0.2.1", "someone", day4)],
                  known) == set()
    assert {day for _, day, _ in tally.kept()} == {day4.date()}  # days 1 and 2 are gone

    append_events(db_session, [_verify(m.id, "198.51.100.97", "roam", DAY + dt.timedelta(hours=5))])
    db_session.flush()
    hits = _round(db_session, tally, [Observation(m.id, "198.51.100.97", "roam",
                                                  DAY + dt.timedelta(hours=5))], known)
    assert hits == {(m.id, "api_customer_many_ips", "roam", ips_limit)}
