"""``high_risk_country``: registration, owners' nationalities and IBAN country vs FATF lists."""

from __future__ import annotations

from datetime import datetime

from checks.facts import MerchantFacts
from checks.kyb.outcome import outcome, unknown
from checks.policy import Policy
from checks.registry import check
from checks.result import CheckResult


@check("high_risk_country")
def high_risk_country(facts: MerchantFacts, policy: Policy, now: datetime) -> CheckResult:
    """Fail on an FATF black-list country, flag on a grey-list one, among the merchant's links.

    Unknown when the country of registration is missing; an owner without a nationality or an
    IBAN without a country is listed in the evidence as not checked.
    """
    code, fatf = "high_risk_country", policy.fatf
    if not facts.country:
        return unknown(policy, code, "The merchant's country of registration is not known.")
    links = _country_links(facts)
    found = [
        {"role": role, "country": country, "list": fatf.level(country)}
        for role, country in links
        if country and fatf.level(country)
    ]
    evidence = {
        "countries": [{"role": role, "country": country} for role, country in links],
        "not_checked": [role for role, country in links if not country],
        "hits": found,
        "fatf_as_of": fatf.as_of,
        "fatf_source": fatf.source,
    }
    if not found:
        checked = sorted({c for _, c in links if c})
        said = (f"None of {', '.join(checked)} is on the FATF black or grey list "
                f"as of {fatf.as_of}.")
        return outcome(policy, code, "pass", said, evidence)
    status = "fail" if any(hit["list"] == "black" for hit in found) else "flag"
    listed = "; ".join(f"{hit['role']} {hit['country']} ({hit['list']} list)" for hit in found)
    said = f"FATF lists as of {fatf.as_of}: {listed}."
    return outcome(policy, code, status, said, evidence)


def _country_links(facts: MerchantFacts) -> list[tuple[str, str | None]]:
    """(role, ISO country) pairs: registration, each owner's nationality, the IBAN's country."""
    links: list[tuple[str, str | None]] = [("registration", (facts.country or "").upper())]
    for owner in facts.owners:
        nationality = owner.nationality.upper() if owner.nationality else None
        links.append((f"owner {owner.full_name} nationality", nationality))
    if facts.iban is not None:
        links.append(("IBAN", facts.iban.country.upper() if facts.iban.country else None))
    return links
