"""Forms of the alert and case pages (Flask-WTF: each carries a CSRF token). The services check
the same rules again; the forms give the page its labels and early messages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DecimalField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.staff.forms import SelectChoice

DISPOSITION_CHOICES = [
    SelectChoice("", _l("Choose a disposition")),
    SelectChoice("true_positive", _l("True positive")),
    SelectChoice("false_positive", _l("False positive")),
    SelectChoice("duplicate", _l("Duplicate")),
    SelectChoice("not_suspicious", _l("Not suspicious")),
]
PRIORITY_CHOICES = [
    SelectChoice("", _l("From the alerts")), SelectChoice("low", _l("Low")),
    SelectChoice("medium", _l("Medium")), SelectChoice("high", _l("High")),
    SelectChoice("critical", _l("Critical")),
]
OUTCOME_CHOICES = [
    SelectChoice("", _l("Choose an outcome")),
    SelectChoice("no_action", _l("No action needed")),
    SelectChoice("monitoring_continued", _l("Monitoring continued")),
    SelectChoice("limits_adjusted", _l("Limits adjusted")),
    SelectChoice("merchant_offboarded", _l("Merchant offboarded")),
    SelectChoice("str_filed", _l("STR filed")),
]
STATUS_CHOICES = [
    SelectChoice("open", _l("Open")), SelectChoice("investigating", _l("Investigating")),
    SelectChoice("waiting_for_information", _l("Waiting for information")),
]
Reason = (DataRequired(), Length(min=3, max=500))


class CloseAlertForm(FlaskForm):
    """How the alert ended, and why (both required)."""

    disposition = SelectField(_l("Disposition"), choices=DISPOSITION_CHOICES,
                              validators=[DataRequired()])
    reason = TextAreaField(_l("Reason"), validators=list(Reason))


class SnoozeForm(FlaskForm):
    """Snooze the alert's scenario for its merchant."""

    hours = IntegerField(_l("Hours"), validators=[DataRequired(), NumberRange(min=1)])
    reason = StringField(_l("Reason"), validators=list(Reason))


class OpenCaseForm(FlaskForm):
    """A new case (from an alert, or for a merchant)."""

    title = StringField(_l("Case title"), validators=[DataRequired(), Length(min=3, max=200)])
    priority = SelectField(_l("Priority"), choices=PRIORITY_CHOICES, validators=[Optional()])


class AddToCaseForm(FlaskForm):
    """Put the alert in one of its merchant's open cases."""

    case_id = SelectField(_l("Case"), choices=[], validators=[DataRequired()])


class CaseNoteForm(FlaskForm):
    """A note on a case."""

    text = TextAreaField(_l("Note"), validators=[DataRequired(), Length(min=1, max=10_000)])


class AttachmentForm(FlaskForm):
    """A document for the case (size and type are checked against the policy)."""

    file = FileField(_l("Document"), validators=[FileRequired()])


class InfoRequestForm(FlaskForm):
    """A question for the merchant (shown in its portal)."""

    question = TextAreaField(_l("Question for the merchant"),
                             validators=[DataRequired(), Length(min=5, max=5000)])


class ReasonForm(FlaskForm):
    """An action on the merchant with its reason (freeze keys, suspend)."""

    reason = StringField(_l("Reason"), validators=list(Reason))


class LimitsForm(FlaskForm):
    """Lower the merchant's caps (TRY)."""

    per_transaction = DecimalField(_l("Max per transaction (TRY)"), places=2,
                                   validators=[Optional(), NumberRange(min=0.01)])
    daily = DecimalField(_l("Daily limit (TRY)"), places=2,
                         validators=[Optional(), NumberRange(min=0.01)])
    monthly = DecimalField(_l("Monthly limit (TRY)"), places=2,
                           validators=[Optional(), NumberRange(min=0.01)])
    reason = StringField(_l("Reason"), validators=list(Reason))


class StatusForm(FlaskForm):
    """Move the case between its working states."""

    status = SelectField(_l("Status"), choices=STATUS_CHOICES, validators=[DataRequired()])


class CloseCaseForm(FlaskForm):
    """The case's outcome and why."""

    outcome = SelectField(_l("Outcome"), choices=OUTCOME_CHOICES, validators=[DataRequired()])
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(min=3, max=1000)])
