"""Running the policy's checks over a merchant's facts and turning the results into a verdict.

Both steps are pure and deterministic: the same facts, policy file and ``now`` give the same
results, and the same results and policy give the same verdict, so a stored assessment can be
replayed exactly (R-D4).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import checks.kyb  # noqa: F401 - registers every KYB check
from checks.codec import from_jsonable, to_jsonable
from checks.facts import MerchantFacts
from checks.policy import ACTIONS, Policy
from checks.registry import REGISTRY, CheckRegistry
from checks.result import CheckResult


@dataclass(frozen=True)
class Verdict:
    """The scored outcome of an assessment: score 0-100, tier, action, limits and reasons."""

    policy_version: str
    score: int
    tier: str  # "low" | "medium" | "high"
    recommended_action: str  # one of checks.policy.ACTIONS
    reasons: tuple[str, ...]
    limits: dict[str, Decimal]

    def to_dict(self) -> dict[str, Any]:
        """Return the verdict as JSON-compatible data."""
        return to_jsonable(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Verdict:
        """Rebuild a verdict from :meth:`to_dict` output."""
        return from_jsonable(cls, data)


def run_checks(
    facts: MerchantFacts,
    policy: Policy,
    now: datetime,
    *,
    registry: CheckRegistry = REGISTRY,
) -> tuple[CheckResult, ...]:
    """Run every check the policy enables, in the policy's order, at instant ``now`` (aware UTC).

    Raises ``UnknownCheckError`` when the policy enables a check no module registers.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime (UTC)")
    results = []
    for table in policy.enabled_checks():
        result = registry.get(table.code)(facts, policy, now)
        if result.code != table.code:
            raise RuntimeError(f"check {table.code!r} returned a result coded {result.code!r}")
        results.append(result)
    return tuple(results)


def score(results: Iterable[CheckResult], policy: Policy) -> Verdict:
    """Score results into a verdict.

    score = min(max_score, sum of the results' points); the tier follows the policy's cut-offs and
    gives a recommended action; a result the policy names under ``decision.on_fail``, ``on_flag``
    or ``on_unknown`` raises the action to at least the one named there (the strictest wins).
    """
    results = tuple(results)
    total = min(policy.max_score, sum(result.points for result in results))
    tier = policy.tier_for(total)
    action = policy.actions[tier]
    reasons = [
        f"Score {total} of {policy.max_score} is tier {tier} (medium from {policy.medium_from}, "
        f"high from {policy.high_from}); the tier's action is {action}."
    ]
    reasons += [
        f"{r.code} ({r.status}, {r.points} points): {r.explanation}"
        for r in results
        if r.status != "pass"
    ]
    for result in results:
        forced = _forced_action(result, policy)
        if forced is not None and ACTIONS.index(forced) > ACTIONS.index(action):
            action = forced
            reasons.append(f"{result.code} is {result.status}: the policy requires {forced}.")
    return Verdict(
        policy_version=policy.version,
        score=total,
        tier=tier,
        recommended_action=action,
        reasons=tuple(reasons),
        limits=dict(policy.limits[tier]),
    )


def _forced_action(result: CheckResult, policy: Policy) -> str | None:
    by_status: Mapping[str, Mapping[str, str]] = {
        "fail": policy.on_fail, "flag": policy.on_flag, "unknown": policy.on_unknown,
    }
    return by_status.get(result.status, {}).get(result.code)
