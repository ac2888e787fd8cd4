"""From the portal's limits form to the limits the JSON API accepts, and the per-field errors
(of the API's model or of the keys service) back onto the inputs they belong to (R-E5).

As with the application (:mod:`app.portal.application`), the portal never validates limits
itself: it builds the ``limits`` object a client would send to ``PATCH /api/v1/keys/{id}``,
lets the API's :class:`app.api.keys.LimitsIn` judge it and turns it into the service's
``KeyLimits`` with the API's own conversion, so both channels accept and refuse exactly the
same limits (currency, amounts, operation names).
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from pydantic import ValidationError

from app.api.framework import pydantic_problem

# ``key_limits`` is the API route's own LimitsIn → KeyLimits step; reusing it keeps one copy.
from app.api.keys import LimitsIn
from app.api.keys import key_limits as key_limits_of
from app.models import ApiKey
from app.portal.forms import LimitsForm
from app.services.keys import KeyLimits, key_snapshot

AMOUNTS = ("max_amount_per_tx", "daily_amount")
INPUTS = ("currency", *AMOUNTS, "allowed_operations")


def form_data(key: ApiKey) -> dict[str, str]:
    """The form's initial values: the limits stored on ``key`` (a waiting increase is not in
    them; saving replaces it)."""
    limits = key_snapshot(key)["limits"]
    return {"currency": limits["currency"] or "",
            **{name: limits[name] or "" for name in AMOUNTS},
            "allowed_operations": ", ".join(limits["allowed_operations"] or ())}


def limits_body(form: LimitsForm) -> dict[str, Any]:
    """The ``limits`` object of ``PATCH /api/v1/keys/{id}`` that ``form`` stands for; blank
    inputs are left out (no limit, any operation)."""
    body: dict[str, Any] = {}
    for name in ("currency", *AMOUNTS):
        value = (getattr(form, name).data or "").strip()
        if value:
            body[name] = value
    # Commas only: "pay now" must reach the model as one (invalid) name, not two valid ones.
    operations = [op.strip() for op in (form.allowed_operations.data or "").split(",")]
    if any(operations):
        body["allowed_operations"] = [op for op in operations if op]
    return body


def requested_limits(form: LimitsForm) -> KeyLimits | None:
    """The limits ``form`` asks for, or None with the errors placed on its inputs."""
    body = limits_body(form)
    try:
        return key_limits_of(LimitsIn.model_validate(body))
    except ValidationError as exc:
        place_errors(form, pydantic_problem(exc).errors or [], body)
        return None


def place_errors(form: LimitsForm, errors: list[dict[str, str]],
                 body: dict[str, Any] | None = None) -> list[str]:
    """Put each ``{field, message, code}`` (``currency``, ``allowed_operations[2]``, the
    service's ``limits.currency``…) on its input in the user's language; returns the messages
    that belong to no input."""
    left = []
    for err in errors:
        where = err["field"].removeprefix("limits.")
        name, _sep, index = where.partition("[")
        if name not in INPUTS:
            left.append(f"{err['field']}: {err['message']}")
            continue
        target = getattr(form, name)
        message = _message(name, err, _operation(body, index))
        target.errors = [*list(target.errors or ()), message]
    return left


def _operation(body: dict[str, Any] | None, index: str) -> str | None:
    position = index.rstrip("]")
    operations = (body or {}).get("allowed_operations") or []
    return operations[int(position)] if position.isdigit() and int(position) < len(
        operations) else None


def _message(name: str, err: dict[str, str], operation: str | None) -> str:
    code = err["code"]
    if name == "currency":
        if code == "missing":
            return _("Amount limits need their currency, e.g. TRY.")
        return _("Enter a three-letter ISO 4217 currency code, e.g. TRY.")
    if name == "allowed_operations":
        if operation is not None:
            return _("“%(op)s” is not an operation name: use lower-case names such as sale or "
                     "refund, separated by commas.", op=operation)
        return _("List at most 50 operations.") if code == "too_long" else err["message"]
    known = {"decimal_parsing": _("Enter a number, e.g. 1250.50."),
             "greater_than": _("Enter an amount above 0, or leave the field blank for no "
                               "limit."),
             "decimal_max_places": _("Use at most 4 decimals."),
             "decimal_max_digits": _("Enter a smaller amount."),
             "decimal_whole_digits": _("Enter a smaller amount.")}
    return known.get(code, err["message"])
