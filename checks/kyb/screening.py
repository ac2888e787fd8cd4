"""``sanctions_pep``: decide on the screening hits of the merchant and its owners (R-D2)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from checks.facts import MerchantFacts, ScreeningHit
from checks.kyb.outcome import outcome, unknown
from checks.policy import Policy
from checks.registry import check
from checks.result import CheckResult


@check("sanctions_pep")
def sanctions_pep(facts: MerchantFacts, policy: Policy, now: datetime) -> CheckResult:
    """Fail a strong sanctions match; flag a possible sanctions match or a PEP match.

    Strong: a sanctions hit scoring at least ``strong_score`` that is not contradicted (birth date
    differs, or, with no birth date on either side, nationality differs). Possible: any other
    sanctions hit, or a PEP hit, scoring at least ``possible_score``. No lists loaded → unknown.
    """
    code = "sanctions_pep"
    if not facts.screened_lists:
        return unknown(policy, code, "No sanctions or PEP list was loaded, so the merchant and "
                       "its owners were not screened.")
    params = policy.check(code).params
    strong_at, possible_at = params["strong_score"], params["possible_score"]
    graded = [(hit, _grade(hit, strong_at, possible_at)) for hit in facts.screening_hits]
    strong = [hit for hit, grade in graded if grade == "strong"]
    possible = [hit for hit, grade in graded if grade == "possible"]
    evidence = {
        "screened_lists": facts.screened_lists,
        "strong": [hit.to_dict() for hit in strong],
        "possible": [hit.to_dict() for hit in possible],
        "below_threshold": sum(1 for _, grade in graded if grade is None),
    }
    if strong:
        said = f"Strong sanctions match: {_describe(strong[0])}."
        return outcome(policy, code, "fail", said, evidence)
    if possible:
        more = f" and {len(possible) - 1} more" if len(possible) > 1 else ""
        said = f"Possible match to review: {_describe(possible[0])}{more}."
        return outcome(policy, code, "flag", said, evidence)
    said = (f"No sanctions or PEP match at or above score {possible_at} against "
            f"{', '.join(facts.screened_lists)}.")
    return outcome(policy, code, "pass", said, evidence)


def _grade(hit: ScreeningHit, strong_at: Decimal, possible_at: Decimal) -> str | None:
    score = Decimal(str(hit.score))
    if hit.kind == "sanctions" and score >= strong_at and not _contradicted(hit):
        return "strong"
    if score >= possible_at:
        return "possible"
    return None


def _contradicted(hit: ScreeningHit) -> bool:
    if hit.birth_date_match is not None:
        return not hit.birth_date_match
    return hit.nationality_match is False


def _describe(hit: ScreeningHit) -> str:
    confirmed = []
    if hit.birth_date_match:
        confirmed.append("birth date matches")
    if hit.nationality_match:
        confirmed.append("nationality matches")
    if hit.birth_date_match is False:
        confirmed.append("birth date differs")
    extra = f", {', '.join(confirmed)}" if confirmed else ""
    return (f"{hit.subject_role.replace('_', ' ')} \"{hit.subject}\" ~ {hit.kind} entry "
            f"\"{hit.entry_name}\" ({hit.list_name} {hit.list_version}, id {hit.entry_id}, "
            f"score {hit.score:g}{extra})")
