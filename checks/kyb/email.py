"""``disposable_email``: a throwaway e-mail domain on the contact address (R-C10)."""

from __future__ import annotations

from datetime import datetime

from checks.facts import MerchantFacts
from checks.kyb.outcome import outcome, unknown
from checks.policy import Policy
from checks.registry import check
from checks.result import CheckResult
from checks.wording import says


@check("disposable_email")
def disposable_email(facts: MerchantFacts, policy: Policy, now: datetime) -> CheckResult:
    """Flag a contact e-mail whose domain is on the disposable-domain list."""
    code = "disposable_email"
    domain = facts.email_domain or (facts.email.rsplit("@", 1)[-1] if facts.email else None)
    if facts.email_disposable is None:
        return unknown(policy, code, says("The contact e-mail was not checked against the "
                                          "disposable-domain list."), email_domain=domain)
    evidence = {"email_domain": domain, "disposable": facts.email_disposable}
    if facts.email_disposable:
        said = says("The contact e-mail uses %(d)s, a disposable (throwaway) e-mail domain.",
                    d=domain)
        return outcome(policy, code, "flag", said, evidence)
    return outcome(policy, code, "pass",
                   says("The contact e-mail domain %(d)s is not a disposable e-mail domain.",
                        d=domain),
                   evidence)
