"""``shared_ownership``: persons and contact data shared across merchants (R-A6).

Each factor adds its points (capped at the check's ``points``): a link to another merchant through
an owner, IBAN, e-mail, phone, domain or sign-up IP (more when that merchant is rejected or
suspended); an owner's national id on file for a person of another name or birth date; a
person behind more than ``max_merchants_per_person`` merchants; low capital, which
only aggravates a link (on its own it is ordinary for a small business); an owner younger than
``young_owner_age`` whole years on the assessment date.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from checks.facts import MerchantFacts
from checks.kyb.outcome import money_text, outcome, unknown
from checks.policy import Policy
from checks.registry import check
from checks.result import CheckResult
from checks.wording import Says, says

# A linked merchant's status, as a sentence part in the reader's language.
STATUS_WORDS = {"applied": says("applied"), "in_review": says("in review"),
                "info_requested": says("information requested"), "approved": says("approved"),
                "rejected": says("rejected"), "suspended": says("suspended")}


@check("shared_ownership")
def shared_ownership(facts: MerchantFacts, policy: Policy, now: datetime) -> CheckResult:
    """Flag links to other merchants, serial owners, and young owners; low capital aggravates."""
    code, lookup = "shared_ownership", facts.shared_ownership
    if lookup is None:
        return unknown(policy, code, says("The shared-ownership lookup was not made."))
    table = policy.check(code)
    params = table.params
    factors = (_identity_factors(facts, params) + _link_factors(facts, params)
               + _serial_owner_factors(facts, params))
    if factors:
        factors += _low_capital_factors(facts, policy, params)
    factors += _young_owner_factors(facts, params, now.astimezone(UTC).date())
    evidence = {
        "linked": [link.to_dict() for link in lookup.linked],
        "merchants_per_owner": [count.to_dict() for count in lookup.merchants_per_owner],
        "identity_conflicts": [c.to_dict() for c in lookup.identity_conflicts],
        "capital": facts.capital.to_dict() if facts.capital else None,
        "factors": [{"finding": text.text(), "points": points} for text, points in factors],
    }
    if not factors:
        return outcome(policy, code, "pass", says(
            "No owner, IBAN, e-mail, phone, domain or sign-up IP is shared with another "
            "merchant, and no owner is unusually young."), evidence)
    points = min(table.points, sum(points for _, points in factors))
    said = says("Shared ownership: %(factors)s.", factors=[text for text, _ in factors])
    return outcome(policy, code, "flag", said, evidence, points=points)


def _identity_factors(facts: MerchantFacts, params: Any) -> list[tuple[Says, int]]:
    """One national id under two names or birth dates: someone is not who they claim."""
    assert facts.shared_ownership is not None  # noqa: S101 - checked by the caller
    points = params.get("identity_conflict_points", params["bad_link_points"])
    factors = []
    for c in facts.shared_ownership.identity_conflicts:
        facts_ = {"id": c.national_id_masked or "(masked)", "name": c.submitted_name,
                  "born": c.submitted_birth_date or "unknown", "file_name": c.on_file_name,
                  "file_born": c.on_file_birth_date or "unknown"}
        factors.append((says(
            "national id %(id)s was submitted for \"%(name)s\" (born %(born)s) but is on file "
            "for \"%(file_name)s\" (born %(file_born)s) at merchant(s) %(where)s",
            where=", ".join(c.merchant_ids), **facts_) if c.merchant_ids else says(
            "national id %(id)s was submitted for \"%(name)s\" (born %(born)s) but is on file "
            "for \"%(file_name)s\" (born %(file_born)s)", **facts_), points))
    return factors


def _link_factors(facts: MerchantFacts, params: Any) -> list[tuple[Says, int]]:
    assert facts.shared_ownership is not None  # noqa: S101 - checked by the caller
    factors = []
    for link in facts.shared_ownership.linked:
        bad = link.status in params["bad_statuses"]
        text = says("shares %(shares)s with merchant %(id)s \"%(name)s\" (%(status)s)",
                    shares=", ".join(link.shares), id=link.merchant_id, name=link.name,
                    status=STATUS_WORDS.get(link.status, link.status))
        factors.append((text, params["bad_link_points" if bad else "link_points"]))
    return factors


def _serial_owner_factors(facts: MerchantFacts, params: Any) -> list[tuple[Says, int]]:
    assert facts.shared_ownership is not None  # noqa: S101 - checked by the caller
    most = params["max_merchants_per_person"]
    return [
        (says("%(owner)s is behind %(n)s merchants (policy maximum %(most)s)",
              owner=count.owner_name, n=count.merchants, most=most),
         params["many_merchants_points"])
        for count in facts.shared_ownership.merchants_per_owner
        if count.merchants > most
    ]


def _low_capital_factors(
    facts: MerchantFacts, policy: Policy, params: Any
) -> list[tuple[Says, int]]:
    if facts.capital is None:
        return []
    capital_try = policy.to_try(facts.capital)
    if capital_try is None or capital_try >= params["low_capital_try"]:
        return []
    text = says("capital %(capital)s is below %(low)s", capital=money_text(capital_try),
                low=money_text(params["low_capital_try"]))
    return [(text, params["low_capital_points"])]


def _young_owner_factors(facts: MerchantFacts, params: Any, today: date) -> list[tuple[Says, int]]:
    ages = [(o.full_name, age_on(o.birth_date, today)) for o in facts.owners if o.birth_date]
    young = [(name, age) for name, age in ages if age < params["young_owner_age"]]
    if not young:
        return []
    names = ", ".join(f"{name} ({age})" for name, age in young)
    return [(says("owner(s) younger than %(age)s: %(names)s", age=params["young_owner_age"],
                  names=names), params["young_owner_points"])]


def age_on(birth_date: date, today: date) -> int:
    """Age in whole years on ``today`` (a 29 February birthday falls on 1 March in other years)."""
    before_birthday = (today.month, today.day) < (birth_date.month, birth_date.day)
    return today.year - birth_date.year - before_birthday
