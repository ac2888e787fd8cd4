"""``high_risk_country``: registration, owners' nationalities and IBAN country vs FATF lists."""

from __future__ import annotations

from datetime import datetime

from checks.facts import MerchantFacts
from checks.kyb.outcome import missing_data_mark, outcome, unknown
from checks.policy import Policy
from checks.registry import check
from checks.result import CheckResult
from checks.wording import Says, says


@check("high_risk_country")
def high_risk_country(facts: MerchantFacts, policy: Policy, now: datetime) -> CheckResult:
    """Fail on an FATF black-list country, flag on a grey-list one, among the merchant's links.

    Unknown when the country of registration is missing. With no hit but an owner without a
    nationality or an IBAN without a country: what ``[figures] judge_missing_data_as`` says
    (kyb-2026.11.2: ``unknown`` naming what is missing; kyb-2026.11.1: ``pass``, listing them
    in the evidence as not checked).
    """
    code, fatf = "high_risk_country", policy.fatf
    if not facts.country:
        return unknown(policy, code,
                       says("The merchant's country of registration is not known."))
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
    if not found and evidence["not_checked"] and policy.figures.judge_missing_data_as != "pass":
        return _not_judged(facts, policy, links, evidence)
    if not found:
        checked = sorted({c for _, c in links if c})
        said = says("None of %(countries)s is on the FATF black or grey list as of %(as_of)s.",
                    countries=", ".join(checked), as_of=fatf.as_of)
        return outcome(policy, code, "pass", said, evidence)
    status = "fail" if any(hit["list"] == "black" for hit in found) else "flag"
    listed = [says("%(role)s %(country)s (black list)", role=_role(hit["role"]),
                   country=hit["country"]) if hit["list"] == "black" else
              says("%(role)s %(country)s (grey list)", role=_role(hit["role"]),
                   country=hit["country"]) for hit in found]
    said = says("FATF lists as of %(as_of)s: %(listed)s.", as_of=fatf.as_of, listed=listed)
    return outcome(policy, code, status, said, evidence)


def _not_judged(facts: MerchantFacts, policy: Policy, links: list[tuple[str, str | None]],
                evidence: dict) -> CheckResult:
    """No hit among the countries known, but some are missing: the policy's verdict for
    missing data, naming them."""
    fatf = policy.fatf
    checked = sorted({c for _, c in links if c})
    said = says("None of %(countries)s is on the FATF black or grey list as of %(as_of)s, but "
                "these are not known, so they were not checked: %(missing)s.",
                countries=", ".join(checked), as_of=fatf.as_of,
                missing=[_role(role) for role in evidence["not_checked"]])
    missing_items = [{"kind": "owner_nationality", "name": owner.full_name}
                     for owner in facts.owners if not owner.nationality]
    if facts.iban is not None and not facts.iban.country:
        missing_items.append({"kind": "iban_country"})
    return outcome(policy, "high_risk_country", policy.figures.judge_missing_data_as, said,
                   evidence | {"missing": missing_items} | missing_data_mark(policy))


def _role(role: str) -> Says:
    """A role of :func:`_country_links` as a sentence part."""
    if role.startswith("owner ") and role.endswith(" nationality"):
        return says("owner %(name)s nationality", name=role[len("owner "):-len(" nationality")])
    return says("registration") if role == "registration" else says("IBAN")


def _country_links(facts: MerchantFacts) -> list[tuple[str, str | None]]:
    """(role, ISO country) pairs: registration, each owner's nationality, the IBAN's country."""
    links: list[tuple[str, str | None]] = [("registration", (facts.country or "").upper())]
    for owner in facts.owners:
        nationality = owner.nationality.upper() if owner.nationality else None
        links.append((f"owner {owner.full_name} nationality", nationality))
    if facts.iban is not None:
        links.append(("IBAN", facts.iban.country.upper() if facts.iban.country else None))
    return links
