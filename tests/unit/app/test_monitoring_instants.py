"""When a batch is judged (issue #9): at ``now`` and at the end of each earlier local day its
transactions fall on, and how verdicts of several instants merge into one per scenario."""

from __future__ import annotations

import datetime as dt

from freezegun import freeze_time

from app.services.monitoring import late_day_instants
from app.services.scenario_results import verdicts
from checks.monitoring import Judgement, ScenarioHit
from checks.policy import load_policy

POLICY = load_policy()
UTC = dt.UTC
AFTER_MIDNIGHT = dt.datetime(2026, 11, 20, 21, 30, tzinfo=UTC)  # 00:30 on the 21st, Istanbul


def test_a_day_posted_after_local_midnight_is_judged_at_its_last_instant():
    afternoon = dt.datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # 15:00 on the 20th local
    assert late_day_instants([afternoon], now=AFTER_MIDNIGHT, policy=POLICY) == [
        dt.datetime(2026, 11, 20, 20, 59, 59, 999999, tzinfo=UTC)]


def test_todays_transactions_need_no_extra_instant():
    just_now = dt.datetime(2026, 11, 20, 21, 5, tzinfo=UTC)  # 00:05 on the 21st local
    assert late_day_instants([just_now], now=AFTER_MIDNIGHT, policy=POLICY) == []


def test_one_instant_per_day_and_none_beyond_the_lookback():
    days = [AFTER_MIDNIGHT - dt.timedelta(days=n, hours=h) for n in (1, 2, 60) for h in (1, 2)]
    instants = late_day_instants(days, now=AFTER_MIDNIGHT, policy=POLICY)
    assert len(instants) == 2 and instants == sorted(instants)


@freeze_time("2026-11-21 00:15:00+03:00")
def test_with_frozen_time_just_before_and_after_local_midnight():
    now = dt.datetime.now(UTC)
    before = dt.datetime(2026, 11, 20, 20, 59, 59, tzinfo=UTC)  # 23:59:59 local, the 20th
    after = dt.datetime(2026, 11, 20, 21, 0, 0, tzinfo=UTC)  # 00:00:00 local, the 21st
    assert len(late_day_instants([before], now=now, policy=POLICY)) == 1
    assert late_day_instants([after], now=now, policy=POLICY) == []


def _hit(key: str) -> ScenarioHit:
    return ScenarioHit(code="turnover_jump", subject="merchant", summary="s", dedupe_key=key)


def test_a_hit_at_any_instant_wins_and_collects_every_hit():
    rounds = [[Judgement("turnover_jump", "hit", hits=(_hit("a"),))],
              [Judgement("turnover_jump", "insufficient_data", "no base day")],
              [Judgement("turnover_jump", "hit", hits=(_hit("a"), _hit("b")))]]
    [merged] = verdicts(rounds)
    assert merged.status == "hit" and [h.dedupe_key for h in merged.hits] == ["a", "b"]


def test_without_a_hit_the_latest_instant_stands():
    rounds = [[Judgement("x", "clear")], [Judgement("x", "insufficient_data", "why")]]
    assert verdicts(rounds)[0].status == "insufficient_data"
