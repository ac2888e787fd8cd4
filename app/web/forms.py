"""Forms shared by the web consoles. Every form is a Flask-WTF form, so every POST carries and
checks a CSRF token."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Length, Regexp


class LoginForm(FlaskForm):
    """E-mail and password: the first factor."""

    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=320)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


class CodeForm(FlaskForm):
    """A six-digit TOTP code: the second factor."""

    code = StringField(_l("Authentication code"),
                       validators=[DataRequired(), Regexp(r"^\s*\d{3}\s?\d{3}\s*$")],
                       render_kw={"inputmode": "numeric", "autocomplete": "one-time-code",
                                  "pattern": r"\d{3}\s?\d{3}", "maxlength": "7"})


class EmptyForm(FlaskForm):
    """A form with only the CSRF token (logout, one-click actions)."""
