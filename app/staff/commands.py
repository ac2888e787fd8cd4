"""``kybgate users``: create and list staff accounts from the command line."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlmodel import select

from app.db import session_scope
from app.extensions import engine
from app.models import STAFF_ROLES, StaffUser
from app.web.passwords import generate_password, hash_password, new_totp_secret, provisioning_uri


@click.group("users")
def users_group() -> None:
    """Staff accounts of the review console (analyst, approver, admin)."""


@users_group.command("create")
@click.option("--email", required=True, help="Login e-mail address.")
@click.option("--role", required=True, type=click.Choice(STAFF_ROLES), help="Staff role.")
@click.option("--name", "display_name", default=None, help="Display name.")
@click.option("--password", default=None,
              help="Initial password (default: a generated one, printed once).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@with_appcontext
def users_create(email: str, role: str, display_name: str | None, password: str | None,
                 as_json: bool) -> None:
    """Create a staff user; prints the password and the TOTP provisioning URI once. The user
    enrols the authenticator (QR code) at first login."""
    from app.audit.trail import record
    from app.cli import cli_actor, emit
    email = email.strip().lower()
    if password is not None and len(password) < 12:
        raise click.BadParameter("use at least 12 characters", param_hint="--password")
    password = password or generate_password()
    secret = new_totp_secret()
    with session_scope(engine()) as session:
        if session.exec(select(StaffUser.id).where(StaffUser.email == email)).first():
            raise click.ClickException(f"a staff user with e-mail {email} already exists")
        user = StaffUser(email=email, role=role, display_name=display_name,
                         password_hash=hash_password(password), totp_secret=secret)
        session.add(user)
        session.flush()
        record(session, cli_actor().event("staff.user.created", target_type="staff_user",
                                          target_id=user.id,
                                          details={"email": email, "role": role}))
    uri = provisioning_uri(secret, email)
    emit({"id": user.id, "email": email, "role": role, "password": password,
          "totp_secret": secret, "totp_uri": uri}, as_json,
         f"staff user {email} ({role}) created\npassword:  {password}\n"
         f"totp uri:  {uri}\n(shown once; the QR code is shown at first login)")


@users_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@with_appcontext
def users_list(as_json: bool) -> None:
    """List staff users with role, MFA enrolment and lock state."""
    from app.cli import emit
    with session_scope(engine()) as session:
        rows = session.exec(select(StaffUser).order_by(StaffUser.email)).all()
    data = [{"id": u.id, "email": u.email, "role": u.role, "active": u.active,
             "mfa_enrolled": u.mfa_confirmed_at is not None,
             "locked_until": u.locked_until.isoformat() if u.locked_until else None,
             "last_login_at": u.last_login_at.isoformat() if u.last_login_at else None}
            for u in rows]
    text = "\n".join(f"{d['email']:<40} {d['role']:<9} "
                     f"{'mfa' if d['mfa_enrolled'] else 'no-mfa':<7} "
                     f"{'locked' if d['locked_until'] else ''}" for d in data)
    emit(data, as_json, text or "no staff users")


def commands() -> list[click.Command]:
    """Commands this module adds to ``kybgate``."""
    return [users_group]
