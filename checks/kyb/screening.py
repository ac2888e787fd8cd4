"""``sanctions_pep``: decide on the screening hits of the merchant and its owners (R-D2)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from checks.facts import MerchantFacts, ScreeningHit
from checks.kyb.outcome import missing_data_mark, outcome, unknown
from checks.policy import Policy
from checks.registry import check
from checks.result import CheckResult
from checks.wording import says


@check("sanctions_pep")
def sanctions_pep(facts: MerchantFacts, policy: Policy, now: datetime) -> CheckResult:
    """Fail a strong sanctions match; flag a possible sanctions match or a PEP match.

    Strong: a sanctions hit scoring at least ``strong_score`` that is not contradicted (birth date
    differs, or, with no birth date on either side, nationality differs). Possible: any other
    sanctions hit, or a PEP hit, scoring at least ``possible_score``. A sanctions hit sharing an
    identifier (passport, national id, tax id) is strong whatever its score. No lists loaded →
    unknown.
    When the policy names the ``matcher`` its scores were calibrated for, the evidence records it
    with the matcher version that produced the hits (absent from older snapshots: version 1).
    """
    code = "sanctions_pep"
    if not facts.screened_lists:
        return unknown(policy, code, says("No sanctions or PEP list was loaded, so the "
                                          "merchant and its owners were not screened."))
    params = policy.check(code).params
    strong_at, possible_at = params["strong_score"], params["possible_score"]
    # An analyst's confirmed "not this person" takes a hit out of the count (issue #12 item 3).
    counted = [hit for hit in facts.screening_hits if not hit.dismissed]
    graded = [(hit, _grade(hit, strong_at, possible_at)) for hit in counted]
    strong = [hit for hit, grade in graded if grade == "strong"]
    possible = [hit for hit, grade in graded if grade == "possible"]
    # Policies before 2026.11.2 keep their evidence exactly as it was recorded (replays).
    shown = _hit_dict if "matcher" in params else _hit_dict_v1
    evidence = {
        "screened_lists": facts.screened_lists,
        "strong": [shown(hit) for hit in strong],
        "possible": [shown(hit) for hit in possible],
        "below_threshold": sum(1 for _, grade in graded if grade is None),
    }
    dismissed = [_trimmed(hit.to_dict()) for hit in facts.screening_hits if hit.dismissed]
    if dismissed:
        evidence["dismissed"] = dismissed
    if "matcher" in params:  # policies from 2026.11.2 on: which matcher judged (issue #12)
        evidence["matcher"] = {"screened_with": facts.screening_matcher or 1,
                               "scores_calibrated_for": params["matcher"]}
    if strong:
        said = says("Strong sanctions match: %(hit)s.", hit=_describe(strong[0]))
        return outcome(policy, code, "fail", said, evidence)
    if possible:
        said = (says("Possible match to review: %(hit)s and %(more)s more.",
                     hit=_describe(possible[0]), more=len(possible) - 1) if len(possible) > 1
                else says("Possible match to review: %(hit)s.", hit=_describe(possible[0])))
        return outcome(policy, code, "flag", said, evidence, points=_flag_points(
            policy, params, possible, evidence))
    not_screened = _kinds_not_screened(facts)
    if not_screened and policy.figures.judge_missing_data_as != "pass":
        return _partly_screened(facts, policy, possible_at, not_screened, evidence)
    said = says("No sanctions or PEP match at or above score %(score)s against %(lists)s.",
                score=possible_at, lists=", ".join(facts.screened_lists))
    return outcome(policy, code, "pass", said, evidence)


KIND_WORDS = {"sanctions": says("sanctions"), "pep": says("PEP (politically exposed persons)")}


def _kinds_not_screened(facts: MerchantFacts) -> list[str]:
    """The kinds of list (``sanctions``, ``pep``) none of the screened lists holds; empty when
    the facts do not record list kinds (gathered before they did)."""
    by_kind = {"sanctions": facts.sanctions_lists, "pep": facts.pep_lists}
    return [kind for kind, lists in by_kind.items() if lists is not None and not lists]


def _partly_screened(facts: MerchantFacts, policy: Policy, possible_at: Decimal,
                     not_screened: list[str], evidence: dict) -> CheckResult:
    """No match, but one kind of list was not consulted: the policy's verdict for missing
    data (``unknown``), naming what was and was not consulted."""
    consulted = [says("%(kind)s: %(lists)s", kind=KIND_WORDS[kind], lists=", ".join(lists))
                 for kind, lists in (("sanctions", facts.sanctions_lists),
                                     ("pep", facts.pep_lists)) if lists]
    words = [KIND_WORDS[kind] for kind in not_screened]
    missing = words[0] if len(words) == 1 else says("%(a)s and %(b)s", a=words[0], b=words[1])
    said = says("No match at or above score %(score)s in the lists consulted (%(consulted)s); "
                "no %(missing)s list is loaded, so the merchant and its owners were not "
                "screened against one and their %(missing)s status is unknown.",
                score=possible_at, consulted=consulted, missing=missing)
    evidence = evidence | {"sanctions_lists": list(facts.sanctions_lists or ()),
                           "pep_lists": list(facts.pep_lists or ()),
                           "not_screened": [f"{kind}_lists" for kind in not_screened]}
    return outcome(policy, "sanctions_pep", policy.figures.judge_missing_data_as, said,
                   evidence | missing_data_mark(policy))


_KEYS_SINCE_2026_11_2 = ("identifier_match", "position", "dismissal")
_OPTIONAL_KEYS = ("position", "dismissal")  # shown only when set


def _flag_points(policy: Policy, params: dict, possible: list[ScreeningHit],
                 evidence: dict) -> int:
    """The flag's points: the policy's ``pep_owner_points`` when an owner matches a PEP entry
    (R-D2: at least tier high, enhanced due diligence), else the check's ``points``."""
    points = policy.check("sanctions_pep").points
    pep_owners = [hit for hit in possible if hit.kind == "pep" and hit.subject_role == "owner"]
    if "pep_owner_points" not in params or not pep_owners:
        return points
    evidence["pep_owner"] = {"owners": sorted({hit.subject for hit in pep_owners}),
                             "positions": sorted({hit.position for hit in pep_owners
                                                  if hit.position}),
                             "points": params["pep_owner_points"]}
    return max(points, params["pep_owner_points"])


def _hit_dict(hit: ScreeningHit) -> dict:
    return _trimmed({k: v for k, v in hit.to_dict().items()
                     if k not in _OPTIONAL_KEYS or v is not None})


def _hit_dict_v1(hit: ScreeningHit) -> dict:
    return _trimmed({k: v for k, v in hit.to_dict().items() if k not in _KEYS_SINCE_2026_11_2})


def _trimmed(data: dict) -> dict:
    """The hit's explanation without an empty ``identifier`` (added after assessments were
    stored without it: their replays must give the same evidence, R-D4)."""
    explanation = data.get("explanation")
    if isinstance(explanation, dict) and not explanation.get("identifier"):
        data["explanation"] = {k: v for k, v in explanation.items() if k != "identifier"}
    return data


def hit_grade(hit: ScreeningHit, policy: Policy) -> str | None:
    """``strong``, ``possible`` or None (below the policy's possible score), as
    ``sanctions_pep`` grades the hit under ``policy``."""
    params = policy.check("sanctions_pep").params
    return _grade(hit, params["strong_score"], params["possible_score"])


def _grade(hit: ScreeningHit, strong_at: Decimal, possible_at: Decimal) -> str | None:
    score = Decimal(str(hit.score))
    if hit.kind == "sanctions" and hit.identifier_match:
        return "strong"  # a shared passport, national id or tax id is strong on its own
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
    if hit.identifier_match:
        confirmed.append("identifier matches")
    if hit.birth_date_match:
        confirmed.append("birth date matches")
    if hit.nationality_match:
        confirmed.append("nationality matches")
    if hit.birth_date_match is False:
        confirmed.append("birth date differs")
    if hit.position:
        confirmed.append(f"PEP position: {hit.position}")
    extra = f", {', '.join(confirmed)}" if confirmed else ""
    return (f"{hit.subject_role.replace('_', ' ')} \"{hit.subject}\" ~ {hit.kind} entry "
            f"\"{hit.entry_name}\" ({hit.list_name} {hit.list_version}, id {hit.entry_id}, "
            f"score {hit.score:g}{extra})")
