"""Forms of the merchant portal (Flask-WTF: each carries a CSRF token).

The application form only collects text: the pydantic model of the JSON API
(:class:`app.api.schemas.MerchantApplication`) validates it, so the portal and the API accept
exactly the same data (``app.portal.application``).
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, NumberRange, Regexp

BLANK_OWNER_ROWS = 3
MAX_OWNER_ROWS = 50
CODE_KW = {"inputmode": "numeric", "autocomplete": "one-time-code", "pattern": r"\d{3}\s?\d{3}",
           "maxlength": "7"}


def code_field() -> StringField:
    """A TOTP code re-asked for a sensitive action (R-B2, R-E7)."""
    return StringField(_l("Authentication code"),
                       validators=[DataRequired(), Regexp(r"^\s*\d{3}\s?\d{3}\s*$")],
                       render_kw=CODE_KW)


class SignupForm(FlaskForm):
    """A merchant user's account: e-mail and password; TOTP enrolment follows at once."""

    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=320)],
                       render_kw={"autocomplete": "email"})
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(min=12, max=200)],
                             render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("Repeat the password"),
                            validators=[DataRequired(), EqualTo("password")],
                            render_kw={"autocomplete": "new-password"})


class OwnerForm(Form):
    """One owner row of the application (nested: the parent form carries the CSRF token)."""

    full_name = StringField(_l("Full name"), validators=[Length(max=300)])
    national_id = StringField(_l("National identity number"), validators=[Length(max=32)])
    birth_date = StringField(_l("Birth date"), validators=[Length(max=10)],
                             render_kw={"type": "date"})
    nationality = StringField(_l("Nationality (ISO code)"), validators=[Length(max=2)],
                              render_kw={"maxlength": "2"})
    share_pct = StringField(_l("Share (%)"), validators=[Length(max=8)],
                            render_kw={"inputmode": "decimal"})
    role = SelectField(_l("Role"), choices=[("owner", _l("Owner")), ("director", _l("Director")),
                                            ("ubo", _l("Ultimate beneficial owner"))],
                       default="owner")

    def is_blank(self) -> bool:
        """True when nothing but the role was filled in (an unused row)."""
        return not any((getattr(self, name).data or "").strip() for name in
                       ("full_name", "national_id", "birth_date", "nationality", "share_pct"))


def _text(label, max_length: int, **render_kw) -> StringField:
    return StringField(label, validators=[Length(max=max_length)], render_kw=render_kw or None)


class ApplicationForm(FlaskForm):
    """The merchant application: the fields of ``POST /api/v1/merchants``."""

    legal_name = _text(_l("Legal name"), 300)
    trade_name = _text(_l("Trade name"), 300)
    country = _text(_l("Country (ISO code)"), 2, maxlength="2")
    tax_id = _text(_l("Tax identity number"), 40)
    registration_number = _text(_l("Trade registry number"), 60)
    founded_on = _text(_l("Founded on"), 10, type="date")
    capital_amount = _text(_l("Capital"), 20, inputmode="decimal")
    capital_currency = _text(_l("Capital currency"), 3, maxlength="3")
    sector = _text(_l("Sector (MCC)"), 4, inputmode="numeric", maxlength="4")
    website = _text(_l("Website"), 500, type="url")
    email = _text(_l("E-mail"), 320, type="email")
    phone = _text(_l("Phone"), 32, type="tel")
    iban = _text(_l("IBAN"), 42)
    turnover_amount = _text(_l("Expected monthly turnover"), 20, inputmode="decimal")
    turnover_currency = _text(_l("Turnover currency"), 3, maxlength="3")
    prices_min = _text(_l("Lowest price"), 20, inputmode="decimal")
    prices_max = _text(_l("Highest price"), 20, inputmode="decimal")
    prices_currency = _text(_l("Price currency"), 3, maxlength="3")
    owners = FieldList(FormField(OwnerForm), min_entries=BLANK_OWNER_ROWS,
                       max_entries=MAX_OWNER_ROWS)
    add_owner = SubmitField(_l("Add owner"))
    submit = SubmitField(_l("Submit application"))


class InfoResponseForm(FlaskForm):
    """The answer to an information request: a message, and optionally corrected data."""

    message = TextAreaField(_l("Your answer"), validators=[DataRequired(),
                                                           Length(min=3, max=500)])
    trade_name = _text(_l("Trade name"), 300)
    website = _text(_l("Website"), 500, type="url")
    email = _text(_l("E-mail"), 320, type="email")
    phone = _text(_l("Phone"), 32, type="tel")
    iban = _text(_l("IBAN"), 42)
    code = code_field()


def _lines(label, hint_max: int) -> TextAreaField:
    return TextAreaField(label, validators=[DataRequired(), Length(max=hint_max)],
                         render_kw={"rows": "4", "spellcheck": "false"})


class KeyForm(FlaskForm):
    """A new API key bound to an IP whitelist and back URLs (R-B1, R-B3)."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    environment = SelectField(_l("Environment"), choices=[("live", _l("Live")),
                                                          ("test", _l("Test"))])
    ip_whitelist = _lines(_l("Allowed IP addresses (one per line)"), 20000)
    back_urls = _lines(_l("Back URLs: your website (one per line)"), 10000)
    code = code_field()


class RestrictionsForm(FlaskForm):
    """A key's IP whitelist and back URLs."""

    ip_whitelist = _lines(_l("Allowed IP addresses (one per line)"), 20000)
    back_urls = _lines(_l("Back URLs: your website (one per line)"), 10000)
    code = code_field()


class LimitsForm(FlaskForm):
    """A key's limits (R-E5). Blank amounts mean no limit, blank operations any operation; the
    API's model judges the values (:mod:`app.portal.key_limits`), the lengths only keep the
    request small."""

    currency = _text(_l("Currency (ISO 4217)"), 3, maxlength="3", autocomplete="off")
    max_amount_per_tx = _text(_l("Maximum amount per transaction"), 20, inputmode="decimal")
    daily_amount = _text(_l("Maximum amount per day"), 20, inputmode="decimal")
    allowed_operations = _text(_l("Allowed operations (comma-separated)"), 2500,
                               spellcheck="false", autocomplete="off")
    code = code_field()


class RotateForm(FlaskForm):
    """Rotation: how long the old token keeps working (at most 24 hours)."""

    grace_hours = IntegerField(_l("Old token keeps working for (hours)"), default=1,
                               validators=[InputRequired(), NumberRange(min=0, max=24)])
    code = code_field()


class ConfirmForm(FlaskForm):
    """A confirmation checkbox and a fresh TOTP code (freeze, unfreeze, revoke)."""

    confirm = BooleanField(_l("I understand the consequences"), validators=[DataRequired()])
    code = code_field()


def lines(text: str | None) -> list[str]:
    """Non-empty, stripped lines of a textarea."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]
