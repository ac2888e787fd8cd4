"""Building a check's result from its policy table: points by status, evidence with policy."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from checks.codec import to_jsonable
from checks.policy import CheckPolicy, Policy
from checks.result import CheckResult, Status
from checks.wording import Says


def outcome(
    policy: Policy,
    code: str,
    status: Status,
    explanation: str | Says,
    evidence: Mapping[str, Any],
    *,
    points: int | None = None,
) -> CheckResult:
    """A ``CheckResult`` scored from the policy (or ``points`` for additive checks).

    The evidence always carries the policy version and the check's policy values, so a reviewer
    sees which thresholds were applied. A :class:`Says` explanation keeps its template and
    values beside the English text, for the console to write it in the reader's language.
    """
    table = policy.check(code)
    full = {**to_jsonable(dict(evidence)), "policy": policy_values(policy, table)}
    return CheckResult(
        code=code,
        status=status,
        points=table.points_for(status) if points is None else points,
        evidence=full,
        explanation=explanation.text() if isinstance(explanation, Says) else explanation,
        wording=explanation.to_dict() if isinstance(explanation, Says) else None,
    )


def unknown(policy: Policy, code: str, explanation: str | Says,
            **evidence: Any) -> CheckResult:
    """The result of a check whose fact was not gathered: ``unknown``, never ``pass``."""
    return outcome(policy, code, "unknown", explanation, evidence)


def missing_data_mark(policy: Policy) -> dict[str, bool]:
    """``{"insufficient_data": True}`` when the policy says a check that cannot judge is
    ``unknown`` (kyb-2026.11.2 on); nothing for older policies, so their replays stay identical."""
    return {"insufficient_data": True} if policy.figures.judge_missing_data_as != "pass" else {}


def policy_values(policy: Policy, table: CheckPolicy) -> dict[str, Any]:
    """The check's thresholds and points as JSON data, with the policy version."""
    return to_jsonable({
        "version": policy.version,
        "points": table.points,
        "fail_points": table.fail_points,
        "unknown_points": table.unknown_points,
        **dict(table.params),
    })


def money_text(amount: Decimal, currency: str = "TRY") -> str:
    """``Decimal("249999.99")`` → ``"249,999.99 TRY"`` (two decimals, thousands separators)."""
    return f"{amount.quantize(Decimal('0.01')):,} {currency}"


def day_text(value: date | datetime) -> str:
    """An ISO date for explanations (the UTC date of a datetime)."""
    return (value.date() if isinstance(value, datetime) else value).isoformat()
