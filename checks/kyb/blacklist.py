"""``blacklist``: a merchant attribute on the institution's blacklist (R-E2)."""

from __future__ import annotations

from datetime import datetime

from checks.facts import MerchantFacts
from checks.kyb.outcome import outcome, unknown
from checks.policy import Policy
from checks.registry import check
from checks.result import CheckResult


@check("blacklist")
def blacklist(facts: MerchantFacts, policy: Policy, now: datetime) -> CheckResult:
    """Fail when any IBAN, e-mail, phone, domain, IP, id or device is blacklisted."""
    code, hits = "blacklist", facts.blacklist_hits
    if hits is None:
        return unknown(policy, code, "The merchant was not checked against the blacklist.")
    evidence = {"hits": [hit.to_dict() for hit in hits]}
    if not hits:
        return outcome(policy, code, "pass",
                       "No IBAN, e-mail, phone, domain or IP of the merchant is blacklisted.",
                       evidence)
    listed = ", ".join(f"{hit.kind} {hit.value} ({hit.reason})" for hit in hits)
    return outcome(policy, code, "fail", f"Blacklisted: {listed}.", evidence)
