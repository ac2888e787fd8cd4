"""run_checks and score: policy order, determinism, tier boundaries, forced actions."""

from __future__ import annotations

import json
from datetime import timedelta, timezone
from pathlib import Path

import pytest
from freezegun import freeze_time

from checks.assessment import Verdict, run_checks, score
from checks.facts import BlacklistHit, DomainRegistration
from checks.policy import load_policy
from checks.result import CheckResult


def test_a_clean_merchant_passes_every_check_and_is_approved(make_facts, policy, now):
    results = run_checks(make_facts(), policy, now)
    assert [r.code for r in results] == [c.code for c in policy.enabled_checks()]
    assert {r.status for r in results} == {"pass"}
    verdict = score(results, policy)
    assert (verdict.score, verdict.tier, verdict.recommended_action) == (0, "low", "approve")


def test_run_checks_skips_checks_the_policy_disables(make_facts, now, tmp_path, policy):
    text = Path(policy.source_path).read_text(encoding="utf-8")
    old = "[checks.domain_dns]\nenabled = true"
    path = tmp_path / "p.toml"
    path.write_text(text.replace(old, "[checks.domain_dns]\nenabled = false"), encoding="utf-8")
    codes = [r.code for r in run_checks(make_facts(), load_policy(path), now)]
    assert "domain_dns" not in codes and len(codes) == 10


def test_run_checks_refuses_a_naive_now(make_facts, policy, now):
    with pytest.raises(ValueError, match="timezone-aware"):
        run_checks(make_facts(), policy, now.replace(tzinfo=None))


def test_same_facts_give_the_same_assessment(make_facts, policy, now):
    facts = make_facts(
        domain_registration=DomainRegistration("shop-example.com.tr", now.date(), "rdap"),
        blacklist_hits=None,
    )
    replayed = type(facts).from_dict(json.loads(json.dumps(facts.to_dict())))
    first = run_checks(facts, policy, now)
    assert run_checks(replayed, policy, now) == first
    assert score(first, policy) == score(run_checks(replayed, policy, now), policy)


def result(code: str, status: str, points: int) -> CheckResult:
    return CheckResult(code, status, points, {}, f"{code} said so.")


@pytest.mark.parametrize(
    ("points", "tier", "action"),
    [
        (24, "low", "approve"),
        (25, "medium", "approve_with_limits"),
        (59, "medium", "approve_with_limits"),
        (60, "high", "manual_review"),
        (250, "high", "manual_review"),
    ],
)
def test_score_tiers_at_the_policy_cut_offs(policy, points, tier, action):
    verdict = score([result("domain_age", "flag", points)], policy)
    assert (verdict.score, verdict.tier, verdict.recommended_action) == (
        min(points, 100),
        tier,
        action,
    )
    assert verdict.limits == dict(policy.limits[tier])


@pytest.mark.parametrize(
    ("code", "status", "action"),
    [
        ("blacklist", "fail", "reject"),
        ("high_risk_country", "fail", "reject"),
        ("sanctions_pep", "fail", "manual_review"),
        ("sanctions_pep", "flag", "manual_review"),
        ("new_merchant_turnover", "flag", "request_info"),
        ("domain_age", "unknown", "request_info"),
        ("blacklist", "unknown", "manual_review"),
        ("disposable_email", "unknown", "approve"),
    ],
)
def test_score_raises_the_action_the_policy_names_for_a_result(policy, code, status, action):
    verdict = score([result(code, status, 0)], policy)
    assert verdict.recommended_action == action
    if action != "approve":
        assert verdict.reasons[-1] == f"{code} is {status}: the policy requires {action}."


def test_a_blacklisted_merchant_is_rejected_with_reasons(make_facts, policy, now):
    facts = make_facts(blacklist_hits=(BlacklistHit("phone", "+905551112233", "mule"),))
    verdict = score(run_checks(facts, policy, now), policy)
    assert (verdict.score, verdict.tier, verdict.recommended_action) == (100, "high", "reject")
    assert verdict.reasons[0].startswith("Score 100 of 100 is tier high")
    assert (
        "blacklist (fail, 100 points): Blacklisted: phone +905551112233 (mule)." in verdict.reasons
    )


def test_score_keeps_the_stricter_tier_action(policy):
    verdict = score([result("domain_age", "flag", 60), result("iban_valid", "fail", 0)], policy)
    assert verdict.recommended_action == "manual_review"


def test_verdict_round_trips_through_json(make_facts, policy, now):
    facts = make_facts(iban_changes=tuple(now - timedelta(days=d) for d in (1, 2, 3)))
    verdict = score(run_checks(facts, policy, now), policy)
    assert Verdict.from_dict(json.loads(json.dumps(verdict.to_dict()))) == verdict
    assert verdict.to_dict()["limits"]["daily_try"] == "100000"


def test_assessment_replays_at_the_recorded_instant(make_facts, policy, now):
    facts = make_facts(domain_registration=DomainRegistration("s.tr", now.date() - timedelta(89)))
    later = now + timedelta(days=1)
    assert run_checks(facts, policy, now)[0].status == "flag"
    assert run_checks(facts, policy, later)[0].status == "pass"


def test_checks_read_the_given_now_not_the_clock(make_facts, policy, now):
    facts = make_facts(domain_registration=DomainRegistration("s.tr", now.date() - timedelta(89)))
    expected = run_checks(facts, policy, now)
    with freeze_time("2031-06-01T00:00:00Z"):
        assert run_checks(facts, policy, now) == expected


def test_domain_age_counts_days_in_utc_whatever_the_offset_of_now(make_facts, policy, now):
    facts = make_facts(domain_registration=DomainRegistration("s.tr", now.date() - timedelta(90)))
    istanbul_evening = now.replace(hour=23, minute=30).astimezone(timezone(timedelta(hours=3)))
    assert istanbul_evening.date() != now.date()
    assert run_checks(facts, policy, istanbul_evening)[0].evidence["age_days"] == 90
