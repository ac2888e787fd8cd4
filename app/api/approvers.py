"""Staff approvers named in API requests, and the proof that they acted.

A back office may act on behalf of a staff approver (a four-eyes approval, a wide IP range's
sign-off). The OAuth client is a machine, not an eye: the request names the approver
(``approver``, their e-mail as the institution spells it — its own domains, ``.test`` in the
demo) and proves that person acted with ``approver_otp``, their current authenticator code.
A code works once, failures count towards the account's lock and the login rate limit
applies, exactly as at the console's login (issue #13 item 3).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints
from sqlmodel import select

from app.api.context import api_actor, now
from app.api.schemas import Strict
from app.audit.trail import Actor
from app.errors import ApiProblem
from app.extensions import db_session
from app.models import StaffUser
from app.web.auth import check_second_factor

APPROVER_ROLES = frozenset({"approver", "admin"})
# Only the shape is checked here; the staff table decides who exists.
StaffEmail = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True,
                                              min_length=3, max_length=254,
                                              pattern=r"^[^@\s]+@[^@\s]+$")]
ApproverCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]


class ApproverProof(Strict):
    """``approver`` and the code that proves they act now (both or neither)."""

    approver: StaffEmail | None = None
    approver_otp: ApproverCode | None = None


def _refused(field: str, code: str, message: str) -> ApiProblem:
    return ApiProblem(422, "Validation failed", message, kind="validation",
                      errors=[{"field": field, "code": code, "message": message}])


def proven_approver(body: ApproverProof) -> str | None:
    """The e-mail of the approver ``body`` names once their code is checked, else ``None``
    when it names nobody; a 422 problem naming the field otherwise.

    The code's use (or the failure) is committed at once, as for the portal's re-asked codes:
    an action refused afterwards rolls back only its own changes, so a code cannot be
    replayed."""
    if body.approver is None:
        if body.approver_otp is not None:
            raise _refused("approver", "missing", "approver_otp needs the approver it proves")
        return None
    session = db_session()
    user = session.exec(select(StaffUser).where(StaffUser.email == body.approver,
                                                StaffUser.active.is_(True))).first()
    if user is None or user.role not in APPROVER_ROLES:
        raise _refused("approver", "not_approver", "no active staff approver with this e-mail")
    if body.approver_otp is None:
        raise _refused("approver_otp", "missing",
                       "the approver's current authenticator code is required")
    result = check_second_factor(session, user=user, code=body.approver_otp,
                                 ip=api_actor().source_ip, now=now())
    session.commit()
    if not result.ok:
        raise _refused("approver_otp", result.reason, "the approver's code was refused "
                                                      f"({result.reason.replace('_', ' ')})")
    return user.email


def acting_as(body: ApproverProof) -> Actor:
    """The proven approver as the audit actor (``staff:<email>``), else the OAuth client."""
    base = api_actor()
    email = proven_approver(body)
    if email is None:
        return base
    return Actor(name=f"staff:{email}", request_id=base.request_id, source_ip=base.source_ip)
