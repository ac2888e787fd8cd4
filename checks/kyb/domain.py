"""Website domain checks: ``domain_age`` (R-A2) and ``domain_dns``."""

from __future__ import annotations

from datetime import UTC, datetime

from checks.facts import MerchantFacts
from checks.kyb.outcome import outcome, unknown
from checks.policy import Policy
from checks.registry import check
from checks.result import CheckResult
from checks.wording import Says, says


@check("domain_age")
def domain_age(facts: MerchantFacts, policy: Policy, now: datetime) -> CheckResult:
    """Flag a website domain registered fewer than ``min_age_days`` days before ``now`` (UTC)."""
    code, reg = "domain_age", facts.domain_registration
    if reg is None:
        return unknown(policy, code, says("The domain registration date was not looked up."),
                       website=facts.website)
    if reg.created_on is None:
        said = (says("The registration date of %(domain)s could not be found (%(error)s).",
                     domain=reg.domain, error=reg.error) if reg.error else
                says("The registration date of %(domain)s could not be found.", domain=reg.domain))
        return unknown(
            policy, code, said,
            domain=reg.domain, source=reg.source, error=reg.error,
        )
    min_days = policy.check(code).params["min_age_days"]
    age_days = (now.astimezone(UTC).date() - reg.created_on).days
    evidence = {"domain": reg.domain, "created_on": reg.created_on, "source": reg.source,
                "age_days": age_days, "min_age_days": min_days}
    said = says("Domain %(domain)s was registered %(age)s days ago (%(created)s); the policy "
                "flags domains younger than %(min)s days.", domain=reg.domain, age=age_days,
                created=reg.created_on, min=min_days)
    return outcome(policy, code, "flag" if age_days < min_days else "pass", said, evidence)


@check("domain_dns")
def domain_dns(facts: MerchantFacts, policy: Policy, now: datetime) -> CheckResult:
    """Flag a website that does not resolve, a domain without MX, or an unrelated e-mail domain."""
    code, dns = "domain_dns", facts.dns
    domain = facts.website_domain
    if dns is None or domain is None:
        return unknown(policy, code, says("The website's DNS records were not looked up."),
                       website=facts.website, domain=domain)
    if dns.error and not (dns.a or dns.aaaa or dns.mx):
        return unknown(policy, code, says("The DNS lookup of %(domain)s failed (%(error)s).",
                                          domain=domain, error=dns.error),
                       domain=domain, error=dns.error)
    table = policy.check(code)
    email_domain = _email_domain(facts)
    problems: list[tuple[Says, int]] = []
    if not (dns.a or dns.aaaa):
        problems.append((says("%(domain)s has no A or AAAA record", domain=domain),
                         table.params["no_address_points"]))
    if not dns.mx:
        problems.append((says("%(domain)s has no MX record", domain=domain),
                         table.params["no_mx_points"]))
    if email_domain is not None and not _related(email_domain, domain):
        free = email_domain in table.params["free_mail_domains"]
        problem = (says("the contact e-mail uses a free mailbox (%(d)s)", d=email_domain) if free
                   else says("the contact e-mail uses a different domain (%(d)s)",
                             d=email_domain))
        problems.append((problem, table.params["email_unrelated_points"]))
    evidence = {"domain": domain, "a": dns.a, "aaaa": dns.aaaa, "mx": dns.mx,
                "email_domain": email_domain, "problems": [s.text() for s, _ in problems]}
    if not problems:
        said = says("%(domain)s resolves, receives mail (MX) and matches the contact e-mail's "
                    "domain.", domain=domain)
        return outcome(policy, code, "pass", said, evidence)
    points = min(table.points, sum(p for _, p in problems))
    said = says("Website check: %(problems)s.", problems=[s for s, _ in problems])
    return outcome(policy, code, "flag", said, evidence, points=points)


def _email_domain(facts: MerchantFacts) -> str | None:
    if facts.email_domain:
        return facts.email_domain.lower()
    if facts.email and "@" in facts.email:
        return facts.email.rsplit("@", 1)[1].strip().lower() or None
    return None


def _related(email_domain: str, website_domain: str) -> bool:
    website_domain = website_domain.lower()
    return email_domain == website_domain or email_domain.endswith("." + website_domain)
