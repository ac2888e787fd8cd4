"""The latest verdict of each monitoring scenario per merchant and stream (issue #9): stored on
every evaluation, read by the staff merchant page and ``GET /api/v1/merchants/{id}/monitoring``.

A verdict is ``hit``, ``clear`` or ``insufficient_data`` with the reason the scenario gave, so
"nothing found" and "could not judge" never look the same. Services flush, never commit; a row
that changes status is audited (``monitoring.judged``) — an unchanged verdict only moves its
``evaluated_at``, so a busy merchant does not flood the trail.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.audit.trail import EventDraft, record
from app.models import ScenarioResult
from checks.monitoring import Judgement
from checks.policy import Policy

STREAMS = ("transactions", "verifications")


def verdicts(judged: Sequence[Sequence[Judgement]]) -> list[Judgement]:
    """One verdict per scenario from evaluations at several instants (oldest first): a hit at
    any instant wins (with all its hits); otherwise the latest instant's verdict stands."""
    merged: dict[str, Judgement] = {}
    for round_ in judged:
        for verdict in round_:
            before = merged.get(verdict.code)
            if before is not None and before.status == "hit":
                if verdict.status == "hit":
                    merged[verdict.code] = Judgement(verdict.code, "hit",
                                                     hits=_union(before.hits, verdict.hits))
                continue
            merged[verdict.code] = verdict
    return list(merged.values())


def _union(first: tuple, second: tuple) -> tuple:
    seen = {h.dedupe_key for h in first}
    return first + tuple(h for h in second if h.dedupe_key not in seen)


def store_judgements(session: Session, *, merchant_id: str, stream: str,
                     judgements: Sequence[Judgement], now: dt.datetime,
                     evaluated_at: dt.datetime, policy: Policy) -> list[ScenarioResult]:
    """Upsert the merchant's verdicts of ``stream``; a change of status is audited."""
    if stream not in STREAMS:
        raise ValueError(f"stream must be one of {STREAMS}")
    rows = {r.scenario: r for r in session.exec(select(ScenarioResult).where(
        ScenarioResult.merchant_id == merchant_id, ScenarioResult.stream == stream)).all()}
    changed, out = [], []
    for verdict in judgements:
        row = rows.get(verdict.code)
        if row is None:
            row = _insert(session, merchant_id=merchant_id, stream=stream, scenario=verdict.code)
        out.append(row)
        old = row.status
        row.status, row.reason = verdict.status, (verdict.reason or None)
        row.reason = row.reason[:300] if row.reason else None
        row.hits, row.policy_version = len(verdict.hits), policy.version
        row.evaluated_at, row.updated_at = evaluated_at, now
        session.add(row)
        if old != row.status:
            changed.append((row, old))
    session.flush()
    for row, old in changed:
        record(session, EventDraft(
            action="monitoring.judged", actor="system:monitoring", target_type="merchant",
            target_id=merchant_id, merchant_id=merchant_id, reason=row.scenario, at=now,
            details={"stream": stream, "scenario": row.scenario, "old": old or None,
                     "new": row.status, "why": row.reason, "policy_version": policy.version}))
    return out


def _insert(session: Session, *, merchant_id: str, stream: str,
            scenario: str) -> ScenarioResult:
    """A new row (status empty until filled); a racing worker's row is taken instead."""
    row = ScenarioResult(merchant_id=merchant_id, stream=stream, scenario=scenario, status="",
                         policy_version="")
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        row = session.exec(select(ScenarioResult).where(
            ScenarioResult.merchant_id == merchant_id, ScenarioResult.stream == stream,
            ScenarioResult.scenario == scenario)).one()
    return row


def latest(session: Session, *, merchant_id: str) -> list[ScenarioResult]:
    """The merchant's stored verdicts, by stream then scenario."""
    return list(session.exec(select(ScenarioResult)
                             .where(ScenarioResult.merchant_id == merchant_id)
                             .order_by(ScenarioResult.stream, ScenarioResult.scenario)).all())


def overview(session: Session, *, merchant_id: str,
             policy: Policy | None = None) -> list[dict[str, Any]]:
    """Every scenario of each stream with its stored verdict, ``not_evaluated`` for one that
    has none yet (the transaction stream lists every registered scenario; the verification
    stream those of ``[monitoring] verification_scenarios``)."""
    from checks.monitoring.registry import codes

    if policy is None:
        from app.services.assessments import current_policy
        policy = current_policy()
    stored = {(r.stream, r.scenario): r for r in latest(session, merchant_id=merchant_id)}
    wanted = {"transactions": list(codes()),
              "verifications": list(policy.monitoring.params.get("verification_scenarios", ()))}
    out = []
    for stream, names in wanted.items():
        extra = sorted(s for st, s in stored if st == stream and s not in names)
        for scenario in [*names, *extra]:
            row = stored.get((stream, scenario))
            out.append({"stream": stream, "scenario": scenario,
                        "status": row.status if row else "not_evaluated",
                        "reason": row.reason if row else None,
                        "hits": row.hits if row else 0,
                        "policy_version": row.policy_version if row else None,
                        "evaluated_at": row.evaluated_at if row else None})
    return out
