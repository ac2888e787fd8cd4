"""``kybgate screening …``: a merchant's "not this person" decisions on screening hits, and an
approver's revocation of one (issue #12, R-D2). The change goes through
``app.services.screening_decisions`` exactly as the console and the API do: a reason is required,
it is audited in the approver's name, and the merchant is re-screened after the commit."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlmodel import select

from app.audit.trail import Actor
from app.cli import cli_actor, emit
from app.db import session_scope, utcnow
from app.extensions import engine
from app.models import ScreeningDismissal
from app.services.keys import KeyInputInvalid, check_approver
from app.services.screening_decisions import DismissalRefused, revoke_dismissal

_FIELDS = ("id", "merchant_id", "subject_role", "subject", "list_name", "entry_id", "entry_name",
           "strong", "status", "reason", "dismissed_by", "dismissed_at", "confirmed_by",
           "confirmed_at", "revoked_by", "revoked_at", "revoke_reason")


@click.group("screening")
def screening_group() -> None:
    """Screening hits' "not this person" decisions (sanctions and PEP)."""


def _row(row: ScreeningDismissal) -> dict:
    return {name: getattr(row, name) for name in _FIELDS}


def _line(row: ScreeningDismissal) -> str:
    text = (f"{row.id}  {row.status:<8} {row.subject_role}: {row.subject} ~ {row.entry_name} "
            f"({row.list_name} #{row.entry_id}) by {row.dismissed_by}: {row.reason}")
    if row.status == "revoked":
        text += f"; revoked by {row.revoked_by}: {row.revoke_reason}"
    return text


@screening_group.command("dismissals")
@click.argument("merchant_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@with_appcontext
def dismissals_command(merchant_id: str, as_json: bool) -> None:
    """List a merchant's decisions on screening hits, newest first (revoked ones too)."""
    with session_scope(engine()) as session:
        rows = session.exec(select(ScreeningDismissal)
                            .where(ScreeningDismissal.merchant_id == merchant_id)
                            .order_by(ScreeningDismissal.dismissed_at.desc(),
                                      ScreeningDismissal.id.desc())).all()
        data = [_row(r) for r in rows]
        text = "\n".join(_line(r) for r in rows) or f"{merchant_id}: no decisions"
    emit(data, as_json, text)


@screening_group.command("revoke")
@click.argument("dismissal_id")
@click.option("--reason", required=True, help="Why the decision no longer holds (3-1000 chars).")
@click.option("--approver", required=True, help="E-mail of the staff approver revoking it.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@with_appcontext
def revoke_command(dismissal_id: str, reason: str, approver: str, as_json: bool) -> None:
    """Revoke a decision: the hit counts again and the merchant is re-screened; audited."""
    with session_scope(engine()) as session:
        row = session.get(ScreeningDismissal, dismissal_id)
        if row is None:
            raise click.ClickException(f"no screening dismissal {dismissal_id}")
        try:
            user = check_approver(session, approver)
        except KeyInputInvalid as exc:
            raise click.ClickException(f"--approver: {approver}: no active staff approver "
                                       "with this e-mail") from exc
        # Audited in the approver's name, as the API records a proven approver.
        actor = Actor(name=f"staff:{user.email}", request_id=cli_actor().request_id)
        try:
            revoke_dismissal(session, dismissal=row, reason=reason, actor=actor,
                             role=user.role, now=utcnow())
        except DismissalRefused as exc:
            raise click.ClickException(str(exc)) from exc
        data = _row(row)
    emit(data, as_json, f"{dismissal_id}: revoked; the merchant is being re-screened")


def commands() -> list[click.Command]:
    """Commands this module adds to ``kybgate``."""
    return [screening_group]
