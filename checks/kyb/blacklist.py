"""``blacklist``: a merchant attribute on the institution's blacklist (R-E2)."""

from __future__ import annotations

from datetime import datetime

from checks.facts import MerchantFacts
from checks.kyb.outcome import outcome, unknown
from checks.policy import Policy
from checks.registry import check
from checks.result import CheckResult
from checks.wording import says


@check("blacklist")
def blacklist(facts: MerchantFacts, policy: Policy, now: datetime) -> CheckResult:
    """Fail when any IBAN, e-mail, phone, domain, signup IP (or a listed CIDR block holding
    it), owner's national id, or device the merchant's payments came from is blacklisted."""
    code, hits = "blacklist", facts.blacklist_hits
    if hits is None:
        return unknown(policy, code,
                       says("The merchant was not checked against the blacklist."))
    evidence = {"hits": [hit.to_dict() for hit in hits]}
    if not hits:
        return outcome(policy, code, "pass",
                       says("No IBAN, e-mail, phone, domain, signup IP, owner id or payment "
                            "device of the merchant is blacklisted."),
                       evidence)
    listed = [says("%(kind)s %(value)s (%(reason)s)", kind=hit.kind, value=hit.value,
                   reason=hit.reason) for hit in hits]
    joined = listed[0]
    for item in listed[1:]:  # ", " between hits, as the English sentence always had
        joined = says("%(a)s, %(b)s", a=joined, b=item)
    return outcome(policy, code, "fail", says("Blacklisted: %(listed)s.", listed=joined),
                   evidence)
