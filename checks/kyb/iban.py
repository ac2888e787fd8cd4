"""Payout IBAN checks: ``iban_valid`` and ``iban_change_frequency`` (R-A3)."""

from __future__ import annotations

from datetime import datetime, timedelta

from checks.facts import MerchantFacts
from checks.kyb.outcome import outcome, unknown
from checks.policy import Policy
from checks.registry import check
from checks.result import CheckResult
from checks.wording import says


@check("iban_valid")
def iban_valid(facts: MerchantFacts, policy: Policy, now: datetime) -> CheckResult:
    """Fail an IBAN whose checksum, length or bank code the validator rejected."""
    code, iban = "iban_valid", facts.iban
    if iban is None:
        return unknown(policy, code, says("The payout IBAN was not validated."))
    evidence = {"iban": _masked(iban.iban), "valid": iban.valid, "country": iban.country,
                "bank_code": iban.bank_code, "error": iban.error}
    if iban.valid:
        said = says("IBAN %(iban)s is valid (country %(country)s, bank code %(bank)s).",
                    iban=_masked(iban.iban), country=iban.country or "?",
                    bank=iban.bank_code or "?")
        return outcome(policy, code, "pass", said, evidence)
    said = (says("IBAN %(iban)s is not valid: %(error)s.", iban=_masked(iban.iban),
                 error=iban.error) if iban.error else
            says("IBAN %(iban)s is not valid: rejected by the validator.",
                 iban=_masked(iban.iban)))
    return outcome(policy, code, "fail", said, evidence)


@check("iban_change_frequency")
def iban_change_frequency(facts: MerchantFacts, policy: Policy, now: datetime) -> CheckResult:
    """Flag ``flag_at_changes`` or more IBAN changes within ``window_days`` before ``now``.

    A change at exactly ``now - window_days`` is inside the window; changes after ``now`` are
    ignored (they cannot have been known at the assessment time being replayed).
    """
    code, changes = "iban_change_frequency", facts.iban_changes
    if changes is None:
        return unknown(policy, code, says("The IBAN change history was not looked up."))
    params = policy.check(code).params
    window_days, flag_at = params["window_days"], params["flag_at_changes"]
    since = now - timedelta(days=window_days)
    inside = sorted(c for c in changes if since <= c <= now)
    evidence = {"changes_in_window": inside, "count": len(inside), "window_start": since,
                "window_days": window_days, "flag_at_changes": flag_at,
                "total_changes": len(changes)}
    said = says("The payout IBAN was changed %(n)s time(s) in the last %(days)s days; the "
                "policy flags %(at)s or more.", n=len(inside), days=window_days, at=flag_at)
    return outcome(policy, code, "flag" if len(inside) >= flag_at else "pass", said, evidence)


def _masked(iban: str) -> str:
    """Country, check digits and the last four characters: enough to recognise, not to reuse."""
    compact = iban.replace(" ", "")
    if len(compact) <= 8:
        return compact
    return f"{compact[:4]}…{compact[-4:]}"
