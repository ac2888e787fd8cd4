"""``new_merchant_turnover``: turnover caps of a merchant without commercial history (R-A4).

Windows are counted in days from the activation instant, not calendar months, so each boundary is
exact and the same everywhere: the policy's first window (30 days) covers
``[activated_at, activated_at + 30 days)`` — "day 30" is inside, "day 31" is not. Only sales up to
``now`` count, so replaying an old assessment gives the old answer. Reaching a cap (``>=``) flags.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from checks.facts import MerchantFacts, TransactionsSummary
from checks.kyb.outcome import day_text, missing_data_mark, money_text, outcome, unknown
from checks.policy import Policy, TurnoverWindow
from checks.registry import check
from checks.result import CheckResult
from checks.wording import says


@check("new_merchant_turnover")
def new_merchant_turnover(facts: MerchantFacts, policy: Policy, now: datetime) -> CheckResult:
    """Flag turnover reaching a window's cap within that many days of activation."""
    code, summary = "new_merchant_turnover", facts.transactions
    if summary is None:
        return unknown(policy, code, says("The merchant's transactions were not looked up."))
    if summary.activated_at is None:
        return outcome(policy, code, policy.figures.judge_missing_data_as,
                       says("The merchant is not yet activated, so the new-merchant turnover "
                            "caps do not apply yet."),
                       {"activated_at": None, **missing_data_mark(policy)})
    windows = [_window(summary, w, now) for w in policy.check(code).params["windows"]]
    if any(w is None for w in windows):
        return unknown(policy, code, says("The running figures hold no turnover for a window "
                                          "of this policy; run `kybgate figures rebuild`."),
                       activated_at=summary.activated_at, insufficient_data=True)
    evidence = {"activated_at": summary.activated_at, "windows": windows,
                **({"source": "figures"} if summary.figures is not None else {})}
    reached = [w for w in windows if w["reached"]]
    activated = day_text(summary.activated_at)
    if reached:
        first = reached[0]
        said = says("Turnover reached %(turnover)s within %(days)s days of activation on "
                    "%(on)s (cap %(cap)s); the policy requires detailed review and a document "
                    "request.", turnover=money_text(Decimal(first["turnover_try"])),
                    days=first["days"], on=activated, cap=money_text(Decimal(first["cap_try"])))
        return outcome(policy, code, "flag", said, evidence)
    levels = [says("%(turnover)s of %(cap)s in %(days)s days",
                   turnover=money_text(Decimal(w["turnover_try"])),
                   cap=money_text(Decimal(w["cap_try"])), days=w["days"]) for w in windows]
    said = says("Turnover since activation on %(on)s stays under every cap: %(levels)s.",
                on=activated, levels=levels)
    return outcome(policy, code, "pass", said, evidence)


def _window(summary: TransactionsSummary, window: TurnoverWindow,
            now: datetime) -> dict[str, Any] | None:
    """The window's turnover: from the running figures when the summary carries them (exact,
    see ``checks.figures``), else summed from the raw sales; None when the figures lack it."""
    assert summary.activated_at is not None  # noqa: S101 - checked by the caller
    start = summary.activated_at
    end = start + timedelta(days=window.days)
    if summary.figures is not None:
        found = [w.turnover_try for w in summary.figures.windows if w.days == window.days]
        if not found:
            return None
        turnover = found[0]
    else:
        turnover = sum((s.amount_try for s in summary.sales
                        if start <= s.occurred_at < end and s.occurred_at <= now), Decimal(0))
    return {
        "days": window.days,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "complete": now >= end,
        "turnover_try": str(turnover),
        "cap_try": str(window.cap_try),
        "reached": turnover >= window.cap_try,
    }
