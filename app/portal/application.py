"""From the portal's application form to the API's :class:`MerchantApplication`, and pydantic's
per-field errors back onto the inputs they belong to.

The portal never validates an application itself: it builds the same JSON body a CRM would
send to ``POST /api/v1/merchants`` and lets the same model judge it, so both channels accept
and refuse exactly the same data. Error locations come from
:func:`app.api.framework.pydantic_problem` (``owners[1].national_id``, ``capital.amount``…).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from pydantic import ValidationError

from app.api.framework import pydantic_problem
from app.api.schemas import MerchantApplication, MerchantChangeRequest
from app.portal.forms import ApplicationForm, InfoResponseForm

SCALARS = ("legal_name", "trade_name", "country", "tax_id", "registration_number",
           "founded_on", "sector", "website", "email", "phone", "iban")
# API field (or its first part) → form input that shows its error.
MONEY = {"capital": ("capital_amount", "capital_currency"),
         "expected_monthly_turnover": ("turnover_amount", "turnover_currency")}
PRICE_INPUTS = {"min": "prices_min", "max": "prices_max", "currency": "prices_currency"}
OWNER_INPUTS = ("full_name", "national_id", "birth_date", "nationality", "share_pct")


@dataclass
class FormErrors:
    """Errors that belong to no single input: the whole form, the owners, an owner row."""

    general: list[str] = field(default_factory=list)
    owners: list[str] = field(default_factory=list)
    owner_rows: dict[int, list[str]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.general or self.owners or self.owner_rows)


def _clean(value: str | None) -> str:
    return (value or "").strip()


def _money(amount: str, currency: str) -> dict[str, str] | None:
    if not amount and not currency:
        return None
    return {"amount": amount, "currency": currency.upper()} if currency else {"amount": amount}


def application_body(form: ApplicationForm) -> tuple[dict[str, Any], list[int]]:
    """The JSON body of ``POST /api/v1/merchants`` that ``form`` stands for, and for each owner
    in it the index of the form row it came from (blank rows are left out)."""
    body: dict[str, Any] = {}
    for name in SCALARS:
        value = _clean(getattr(form, name).data)
        if value:
            body[name] = value.upper() if name == "country" else value
    for api_name, (amount, currency) in MONEY.items():
        money = _money(_clean(getattr(form, amount).data), _clean(getattr(form, currency).data))
        if money:
            body[api_name] = money
    prices = {k: _clean(getattr(form, v).data) for k, v in PRICE_INPUTS.items()}
    if any(prices.values()):
        prices["currency"] = prices["currency"].upper()
        body["declared_prices"] = {k: v for k, v in prices.items() if v}
    owners, rows = [], []
    for index, entry in enumerate(form.owners.entries):
        row = entry.form
        if row.is_blank():
            continue
        owner = {name: _clean(getattr(row, name).data) for name in OWNER_INPUTS}
        owner = {k: (v.upper() if k == "nationality" else v) for k, v in owner.items() if v}
        owner["role"] = row.role.data or "owner"
        owners.append(owner)
        rows.append(index)
    body["owners"] = owners
    return body, rows


def _attach(form: Any, name: str, message: str) -> bool:
    target = getattr(form, name, None)
    if target is None:
        return False
    target.errors = [*list(target.errors or ()), message]
    return True


def _place(form: ApplicationForm, where: str, message: str, rows: list[int],
           errors: FormErrors) -> None:
    head, _sep, rest = where.partition(".")
    if head in SCALARS and not rest and _attach(form, head, message):
        return
    if head in MONEY:
        amount, currency = MONEY[head]
        _attach(form, currency if rest == "currency" else amount, message)
        return
    if head == "declared_prices":
        _attach(form, PRICE_INPUTS.get(rest, "prices_min"), message)
        return
    if head.startswith("owners[") and head.endswith("]"):
        position = int(head[len("owners["):-1])
        row = rows[position] if position < len(rows) else 0
        if rest in OWNER_INPUTS or rest == "role":
            _attach(form.owners.entries[row].form, rest, message)
        else:
            errors.owner_rows.setdefault(row, []).append(message)
        return
    if head == "owners":
        errors.owners.append(message)
        return
    errors.general.append(f"{where}: {message}")


def translated(message: str) -> str:
    """pydantic's most common messages in the user's language; others as the API words them."""
    known = {"Field required": _("This field is required."),
             "String should have at least 1 character": _("This field is required."),
             "Input should be a valid date or datetime, input is too short":
                 _("Enter a date as YYYY-MM-DD."),
             "Input should be a valid decimal": _("Enter a number, e.g. 1250.50."),
             "List should have at least 1 item after validation, not 0":
                 _("Enter at least one owner.")}
    return known.get(message, message)


def validate_application(form: ApplicationForm, signup_ip: str | None
                         ) -> tuple[MerchantApplication | None, FormErrors]:
    """The validated application, or None and the errors placed on ``form``'s inputs."""
    body, rows = application_body(form)
    if signup_ip:
        body["signup_ip"] = signup_ip
    errors = FormErrors()
    try:
        return MerchantApplication.model_validate(body), errors
    except ValidationError as exc:
        for err in pydantic_problem(exc).errors or []:
            _place(form, err["field"], translated(err["message"]), rows, errors)
        if not errors and not any(f.errors for f in form):  # pragma: no cover - defensive
            errors.general.append(_("The application could not be validated."))
        return None, errors


def change_request(form: InfoResponseForm, country: str | None = None
                   ) -> tuple[MerchantChangeRequest | None, FormErrors]:
    """The change (with the answer as its reason) that an information response stands for;
    a phone number is read in the merchant's ``country``, checked with the other fields."""
    body: dict[str, Any] = {"reason": _clean(form.message.data)}
    for name in ("trade_name", "website", "email", "phone", "iban"):
        value = _clean(getattr(form, name).data)
        if value:
            body[name] = value
    errors = FormErrors()
    try:
        return MerchantChangeRequest.model_validate(body, context={"country": country}), errors
    except ValidationError as exc:
        for err in pydantic_problem(exc).errors or []:
            name = "message" if err["field"] == "reason" else err["field"]
            if not _attach(form, name, translated(err["message"])):
                errors.general.append(f"{err['field']}: {err['message']}")
        return None, errors
