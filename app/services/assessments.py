"""KYB risk assessments (R-A1, R-D1, R-D3, R-D4): gather a merchant's facts, run the policy's
checks, score them, and keep everything needed to replay the decision.

An ``Assessment`` row stores the policy version and the SHA-256 of its file, the exact input
snapshot (``MerchantFacts`` as JSON plus the instant ``now``), every check result with its
evidence and explanation, the score, tier, action and reasons. ``replay`` recomputes it from
the snapshot with the policy file of that version (``checks/policies/<version>.toml``) and
says whether the result is identical. A published policy file is never edited: a change is a
new file with a new version, and the digest check catches an edit.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from app import metrics
from app.audit.trail import Actor, record
from app.models import Assessment, Merchant, MerchantChange
from app.services import hooks
from app.services.facts import LookupSources, gather_facts
from app.services.personal_data import Disclosure, data_keys
from app.services.sealed_assessments import open_assessment, public_facts, seal_assessment
from checks.assessment import Verdict, run_checks, score
from checks.facts import MerchantFacts
from checks.policy import ACTIVE_POLICY_FILE, POLICY_DIR, Policy, PolicyError, load_policy
from checks.result import CheckResult
from checks.screening import ScreeningIndex


@lru_cache(maxsize=32)
def _load(path: str, mtime_ns: int) -> Policy:
    return load_policy(path)


def policy_from_file(path: str | Path) -> Policy:
    """The policy in ``path``, parsed once per file version."""
    file = Path(path)
    try:
        return _load(str(file.resolve()), file.stat().st_mtime_ns)
    except OSError:
        return load_policy(file)  # raises a PolicyError naming the file


def active_policy(policy_path: str | None = None) -> Policy:
    """The policy new assessments use (``KYB_POLICY``, default the bundled active file)."""
    return policy_from_file(policy_path or ACTIVE_POLICY_FILE)


def current_policy() -> Policy:
    """The app's active policy (``KYB_POLICY``) inside an app context, else the bundled one:
    what assessments, verification caps and monitoring all apply."""
    from flask import has_app_context

    if has_app_context():
        from app.extensions import settings
        return active_policy(settings().policy_path)
    return load_policy()


def policy_by_version(version: str) -> Policy:
    """The published policy file of ``version``; ``PolicyError`` when it is not kept."""
    if not version or "/" in version or version.startswith("."):
        raise PolicyError(f"invalid policy version {version!r}")
    policy = policy_from_file(POLICY_DIR / f"{version}.toml")
    if policy.version != version:
        raise PolicyError(f"{version}.toml declares version {policy.version!r}")
    return policy


def latest_assessment(session: Session, merchant: Merchant) -> Assessment | None:
    """The merchant's current assessment (the one its tier comes from)."""
    if merchant.latest_assessment_id:
        return session.get(Assessment, merchant.latest_assessment_id)
    return session.exec(select(Assessment).where(Assessment.merchant_id == merchant.id)
                        .order_by(Assessment.created_at.desc(), Assessment.id.desc())
                        .limit(1)).first()


class SnapshotErased(ValueError):
    """Retention erased the personal facts of this assessment's snapshot (R-D7)."""


def snapshot_facts(assessment: Assessment, disclosure: Disclosure | None = None, *,
                   purpose: str = "assessment re-use") -> tuple[MerchantFacts, dt.datetime]:
    """The facts and instant an assessment was made on, its personal facts opened through
    ``disclosure`` (else by the system for ``purpose``, audited); ``SnapshotErased`` once
    retention erased them."""
    opened = open_assessment(assessment, disclosure, purpose=purpose)
    if opened.erased:
        raise SnapshotErased(f"the personal data of assessment {assessment.id} was erased "
                             f"on {opened.input_snapshot['erased_at']} (retention)")
    snap = opened.input_snapshot
    return MerchantFacts.from_dict(snap["facts"]), dt.datetime.fromisoformat(snap["now"])


def evaluate(facts: MerchantFacts, policy: Policy,
             now: dt.datetime) -> tuple[tuple[CheckResult, ...], Verdict]:
    """Run and score the policy's checks (pure)."""
    results = run_checks(facts, policy, now)
    return results, score(results, policy)


def assess_merchant(session: Session, *, merchant: Merchant, actor: Actor, now: dt.datetime,
                    trigger: str, sources: LookupSources, index: ScreeningIndex | None,
                    policy: Policy, refresh_checks: tuple[str, ...] | None = None
                    ) -> Assessment:
    """Assess ``merchant`` now and store the assessment; update the merchant's tier.

    ``refresh_checks`` None gathers every fact afresh; a tuple of check codes (after a data
    change) re-uses the previous snapshot's network lookups except for those checks. Fires
    ``hooks.tier_changed`` when the tier moves.
    """
    started = time.perf_counter()
    previous = latest_assessment(session, merchant) if refresh_checks is not None else None
    # only network facts are re-used: the snapshot's clear part holds them (nothing opened)
    reuse = public_facts(previous) if previous is not None else None
    facts = gather_facts(session, merchant=merchant, sources=sources, index=index, now=now,
                         reuse=reuse, refresh_checks=refresh_checks or ())
    return store_assessment(session, merchant=merchant, facts=facts, actor=actor, now=now,
                            trigger=trigger, policy=policy, refresh_checks=refresh_checks,
                            started=started)


def store_assessment(session: Session, *, merchant: Merchant, facts: MerchantFacts,
                     actor: Actor, now: dt.datetime, trigger: str, policy: Policy,
                     refresh_checks: tuple[str, ...] | None = None,
                     started: float | None = None) -> Assessment:
    """Judge ``facts`` (already gathered) and store the assessment, as ``assess_merchant``
    does: audited, the merchant's tier updated, ``hooks.tier_changed`` fired on a move.
    ``started`` (``time.perf_counter()``) is when gathering the facts began, for the
    assessment-duration metric (R-D8)."""
    started = time.perf_counter() if started is None else started
    results, verdict = evaluate(facts, policy, now)
    row = Assessment(
        merchant_id=merchant.id, policy_version=policy.version, policy_digest=policy.digest,
        score=verdict.score, tier=verdict.tier, recommended_action=verdict.recommended_action,
        trigger=trigger[:60], created_by=actor.name, created_at=now,
        expires_at=policy.assessments.expires_at(verdict.tier, now))
    # evidence, reasons and the snapshot's personal facts are stored sealed (R-D7)
    seal_assessment(row, checks=[r.to_dict() for r in results], reasons=list(verdict.reasons),
                    snapshot={"now": now.isoformat(), "facts": facts.to_dict()},
                    keys=data_keys(session))
    session.add(row)
    session.flush()
    old_tier = merchant.tier
    merchant.tier, merchant.latest_assessment_id = verdict.tier, row.id
    session.add(merchant)
    record(session, actor.event(
        "assessment.completed", target_type="assessment", target_id=row.id,
        merchant_id=merchant.id, decision=verdict.recommended_action,
        reason=f"score {verdict.score}, tier {verdict.tier}",
        details={"trigger": trigger, "policy_version": policy.version,
                 "expires_at": row.expires_at.isoformat() if row.expires_at else None,
                 "policy_digest": policy.digest, "old_tier": old_tier,
                 "refreshed": list(refresh_checks) if refresh_checks is not None else "all",
                 "not_passed": {r.code: r.status for r in results if r.status != "pass"}}))
    session.flush()
    metrics.assessment(verdict.tier, time.perf_counter() - started)  # R-D8
    hooks.tier_changed(session, merchant=merchant, old_tier=old_tier, new_tier=verdict.tier,
                       assessment=row, actor=actor, now=now)
    return row


@dataclass(frozen=True)
class ReplayReport:
    """Whether recomputing an assessment from its snapshot gave the stored result."""

    assessment_id: str
    policy_version: str
    identical: bool
    differences: tuple[str, ...] = ()
    recomputed: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {"assessment_id": self.assessment_id, "policy_version": self.policy_version,
                "identical": self.identical, "differences": list(self.differences),
                "recomputed": self.recomputed}


def _jsonish(value: Any) -> Any:
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def _without_wording(check: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in check.items() if k != "wording"}


def _differences(stored: dict[str, Any], new: dict[str, Any]) -> list[str]:
    out = [f"{key}: stored {stored[key]!r}, recomputed {new[key]!r}"
           for key in ("score", "tier", "recommended_action") if stored[key] != new[key]]
    # ``wording`` is how the English explanation is written in other languages: results stored
    # before it existed replay identically (the explanation itself is still compared).
    old_checks = {c["code"]: _without_wording(c) for c in stored["checks"]}
    new_checks = {c["code"]: _without_wording(c) for c in new["checks"]}
    changed = sorted(code for code in old_checks.keys() | new_checks.keys()
                     if old_checks.get(code) != new_checks.get(code))
    if changed:
        out.append(f"checks differ: {', '.join(changed)}")
    if stored["reasons"] != new["reasons"]:
        out.append("reasons differ")
    return out


def replay(assessment: Assessment, disclosure: Disclosure | None = None) -> ReplayReport:
    """Recompute ``assessment`` from its stored snapshot with its own policy version (R-D4);
    the sealed snapshot and checks are opened through ``disclosure`` (else by the system)."""
    policy = policy_by_version(assessment.policy_version)
    differences = []
    if policy.digest != assessment.policy_digest:
        differences.append(f"policy file {assessment.policy_version}.toml was edited after the "
                           f"assessment (digest {policy.digest[:12]} != "
                           f"{assessment.policy_digest[:12]})")
    try:
        facts, now = snapshot_facts(assessment, disclosure, purpose="assessment replay")
    except SnapshotErased as exc:
        return ReplayReport(assessment.id, assessment.policy_version, False, (str(exc),))
    opened = open_assessment(assessment, disclosure, purpose="assessment replay")
    results, verdict = evaluate(facts, policy, now)
    recomputed = {"score": verdict.score, "tier": verdict.tier,
                  "recommended_action": verdict.recommended_action,
                  "reasons": list(verdict.reasons), "checks": [r.to_dict() for r in results]}
    stored = {"score": assessment.score, "tier": assessment.tier,
              "recommended_action": assessment.recommended_action,
              "reasons": opened.reasons, "checks": opened.checks}
    differences += _differences(_jsonish(stored), _jsonish(recomputed))
    return ReplayReport(assessment.id, assessment.policy_version, not differences,
                        tuple(differences), _jsonish(recomputed))


def reassess_on_change(session: Session, *, merchant: Merchant, changes: list[MerchantChange],
                       actor: Actor, now: dt.datetime) -> Assessment | None:
    """``hooks.on_merchant_changed`` subscriber: re-run the checks a change affects (R-D1).

    A merchant never assessed is left alone: its first assessment reads the current data.
    """
    from flask import current_app

    from app.services.facts import lookup_sources
    from app.services.merchant_changes import affected_checks
    from app.services.screening import screening_index
    codes = affected_checks(changes)
    if not codes or merchant.latest_assessment_id is None:
        return None
    settings = current_app.extensions["kyb.settings"]
    trigger = "change:" + ",".join(sorted({c.field for c in changes}))
    return assess_merchant(session, merchant=merchant, actor=actor, now=now, trigger=trigger,
                           sources=lookup_sources(), index=screening_index(session),
                           policy=active_policy(settings.policy_path), refresh_checks=codes)


hooks.on_merchant_changed(reassess_on_change)
