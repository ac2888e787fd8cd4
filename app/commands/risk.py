"""``kybgate assess`` and ``kybgate policy diff``: KYB risk assessments from the command line."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterator

import click
from flask.cli import with_appcontext
from sqlmodel import Session, select

from app.cli import cli_actor, emit
from app.db import session_scope, utcnow
from app.extensions import engine, settings
from app.models import Assessment, Merchant
from app.services.assessments import (
    SnapshotErased,
    active_policy,
    assess_merchant,
    evaluate,
    policy_from_file,
    replay,
    snapshot_facts,
)
from app.services.facts import LookupSources
from app.services.personal_data import Disclosure, data_keys
from app.services.screening import screening_index
from app.services.sealed_assessments import open_assessment
from checks.policy import PolicyError

BATCH = 500


def merchant_ids(session: Session, *, assessed_only: bool = False) -> Iterator[str]:
    """Every merchant id in id order, read in batches (constant memory)."""
    last = ""
    while True:
        stmt = select(Merchant.id).where(Merchant.id > last)
        if assessed_only:
            stmt = stmt.where(Merchant.latest_assessment_id.is_not(None))
        ids = session.exec(stmt.order_by(Merchant.id).limit(BATCH)).all()
        if not ids:
            return
        yield from ids
        last = ids[-1]


def assess_one(merchant_id: str, *, trigger: str, sources: LookupSources,
               refresh_checks: tuple[str, ...] | None = None) -> dict:
    """Assess one merchant in its own transaction; returns the summary printed."""
    with session_scope(engine()) as session:
        merchant = session.get(Merchant, merchant_id)
        if merchant is None:
            raise click.ClickException(f"no merchant with id {merchant_id}")
        row = assess_merchant(session, merchant=merchant, actor=cli_actor(), now=utcnow(),
                              trigger=trigger, sources=sources,
                              index=screening_index(session),
                              policy=active_policy(settings().policy_path),
                              refresh_checks=refresh_checks)
        disclosure = Disclosure(actor=cli_actor(), purpose="CLI assessment",
                                keys=data_keys(session))
        checks = open_assessment(row, disclosure).checks  # printed: audited (R-D7)
        disclosure.record(session, merchant_id=row.merchant_id)
        return {"id": row.id, "merchant_id": row.merchant_id,
                "policy_version": row.policy_version, "score": row.score, "tier": row.tier,
                "recommended_action": row.recommended_action, "checks": checks,
                "created_at": row.created_at.isoformat()}


def _text(summary: dict) -> str:
    lines = [f"assessment {summary['id']} of {summary['merchant_id']} "
             f"(policy {summary['policy_version']})",
             f"score {summary['score']}/100, tier {summary['tier']}, recommended action "
             f"{summary['recommended_action']}"]
    lines += [f"  {c['status']:<7} {c['points']:>3}  {c['code']}: {c['explanation']}"
              for c in summary["checks"]]
    return "\n".join(lines)


@click.command("assess")
@click.argument("merchant_id", required=False)
@click.option("--replay", "replay_id", metavar="ASSESSMENT_ID",
              help="Recompute a stored assessment from its input snapshot with its own policy "
                   "version and say whether the result is identical (exit 1 if not).")
@click.option("--all", "assess_all", is_flag=True,
              help="Assess every merchant, one transaction each, with a progress bar.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@with_appcontext
def assess_command(merchant_id: str | None, replay_id: str | None, assess_all: bool,
                   as_json: bool) -> None:
    """Run the KYB risk checks on a merchant and store the assessment.

    \b
    Examples:
      kybgate assess mer_5f2k9x...            assess one merchant now
      kybgate assess mer_5f2k9x... --json     the same, as JSON
      kybgate assess --replay asm_8d1q...     re-check a stored assessment (R-D4)
      kybgate assess --all                    re-assess every merchant

    Network lookups (RDAP/WHOIS, DNS, website) follow KYB_RDAP_BOOTSTRAP, KYB_WHOIS_SERVER,
    KYB_DNS_NAMESERVERS; the policy is KYB_POLICY or the bundled active one.
    """
    if sum(bool(x) for x in (merchant_id, replay_id, assess_all)) != 1:
        raise click.UsageError("give exactly one of MERCHANT_ID, --replay ASSESSMENT_ID, --all")
    if replay_id:
        _replay(replay_id, as_json)
        return
    sources = LookupSources.from_settings(settings())
    if merchant_id:
        summary = assess_one(merchant_id, trigger="cli", sources=sources)
        emit(summary, as_json, _text(summary))
        return
    _assess_all(sources, as_json)


def _replay(assessment_id: str, as_json: bool) -> None:
    with session_scope(engine()) as session:
        row = session.get(Assessment, assessment_id)
        if row is None:
            raise click.ClickException(f"no assessment with id {assessment_id}")
        try:
            disclosure = Disclosure(actor=cli_actor(), purpose="assessment replay",
                                    keys=data_keys(session))
            report = replay(row, disclosure)
            disclosure.record(session, merchant_id=row.merchant_id)
        except PolicyError as exc:
            raise click.ClickException(f"cannot replay: {exc}") from exc
    text = (f"assessment {assessment_id}: replay with policy {report.policy_version} is "
            + ("IDENTICAL" if report.identical else "DIFFERENT:\n  "
               + "\n  ".join(report.differences)))
    emit(report.to_dict(), as_json, text)
    if not report.identical:
        sys.exit(1)


def _assess_all(sources: LookupSources, as_json: bool) -> None:
    with session_scope(engine()) as session:
        ids = list(merchant_ids(session))
    tiers: Counter[str] = Counter()
    errors: list[str] = []
    with click.progressbar(ids, label="assessing", file=sys.stderr) as bar:
        for merchant_id in bar:
            try:
                tiers[assess_one(merchant_id, trigger="cli:all", sources=sources)["tier"]] += 1
            except Exception as exc:  # noqa: BLE001 - one merchant must not stop the rest
                errors.append(f"{merchant_id}: {type(exc).__name__}: {exc}")
    summary = {"assessed": sum(tiers.values()), "by_tier": dict(tiers), "errors": errors}
    emit(summary, as_json, f"assessed {summary['assessed']} merchants: "
         + ", ".join(f"{t} {n}" for t, n in sorted(tiers.items()))
         + (f"; {len(errors)} failed:\n  " + "\n  ".join(errors) if errors else ""))


@click.group("policy")
def policy_group() -> None:
    """The versioned KYB risk policy."""


@policy_group.command("diff")
@click.argument("draft_policy", type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@with_appcontext
def policy_diff(draft_policy: str, as_json: bool) -> None:
    """Shadow-run a DRAFT_POLICY file against every merchant's latest stored assessment.

    Each merchant's stored input snapshot is evaluated with the draft at the instant it was
    assessed (no lookups are made, nothing is stored); merchants whose tier or recommended
    action would change are listed, with a summary of the moves. Run it before publishing a new
    policy version.
    """
    try:
        draft = policy_from_file(draft_policy)
    except PolicyError as exc:
        raise click.ClickException(str(exc)) from exc
    changes, moves, compared, erased = [], Counter(), 0, 0
    with session_scope(engine()) as session:
        disclosure = Disclosure(actor=cli_actor(), purpose="policy diff",
                                keys=data_keys(session))
        rows = session.exec(select(Assessment).join(
            Merchant, Merchant.latest_assessment_id == Assessment.id)
            .order_by(Assessment.merchant_id)).all()
        for row in rows:
            try:
                facts, now = snapshot_facts(row, disclosure)
            except SnapshotErased:
                erased += 1
                continue
            _, verdict = evaluate(facts, draft, now)
            compared += 1
            if (verdict.tier, verdict.recommended_action) != (row.tier, row.recommended_action):
                moves[f"{row.tier}->{verdict.tier}"] += 1
                changes.append({"merchant_id": row.merchant_id, "assessment_id": row.id,
                                "from": {"policy": row.policy_version, "score": row.score,
                                         "tier": row.tier, "action": row.recommended_action},
                                "to": {"policy": draft.version, "score": verdict.score,
                                       "tier": verdict.tier,
                                       "action": verdict.recommended_action}})
        disclosure.record(session, details={"merchants": compared})  # one event (R-D7)
    summary = {"draft_version": draft.version, "compared": compared, "changed": len(changes),
               "moves": dict(moves), "changes": changes, "erased": erased}
    lines = [f"  {c['merchant_id']}: {c['from']['tier']}/{c['from']['action']} "
             f"(score {c['from']['score']}) -> {c['to']['tier']}/{c['to']['action']} "
             f"(score {c['to']['score']})" for c in changes]
    emit(summary, as_json, "\n".join(lines + [
        f"draft {draft.version}: {len(changes)} of {compared} merchants would change"
        + (" (" + ", ".join(f"{k} {v}" for k, v in sorted(moves.items())) + ")"
           if moves else "")]))


def commands() -> list[click.Command]:
    """The commands this module adds to ``kybgate``."""
    from app.commands.operations import commands as more
    return [assess_command, policy_group, *more()]
