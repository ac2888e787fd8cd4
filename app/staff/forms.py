"""Forms of the staff console (Flask-WTF: each carries a CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import DecimalField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

try:
    from wtforms.fields.choices import SelectChoice
except ImportError:  # WTForms < 3.3 takes (value, label) tuples
    def SelectChoice(value, label=None):  # noqa: N802 - stands in for the class
        return (value, label or value)

DECISION_LABELS = {
    "approve": _l("Approve"),
    "approve_with_limits": _l("Approve with limits"),
    "request_info": _l("Request information"),
    "reject": _l("Reject"),
    "suspend": _l("Suspend"),
}
DECISION_CHOICES = [SelectChoice(value, label) for value, label in DECISION_LABELS.items()]
# No decision is preselected: the reviewer must choose one (issue #11).
NO_DECISION = SelectChoice("", _l("Choose a decision…"))


def decision_choices(allowed) -> list:
    """The choices offered to a reviewer who may take the decisions in ``allowed``: an empty
    first choice, then only the allowed decisions, in their usual order."""
    return [NO_DECISION] + [SelectChoice(value, label) for value, label in
                            DECISION_LABELS.items() if value in allowed]


class DecisionForm(FlaskForm):
    """A decision with its mandatory reason, and limits for ``approve_with_limits``."""

    decision = SelectField(_l("Decision"), choices=[NO_DECISION, *DECISION_CHOICES], default="",
                           validators=[DataRequired(message=_l("Choose a decision."))])
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(min=3, max=2000)])
    max_amount_per_tx = DecimalField(_l("Max per transaction (TRY)"), places=2,
                                     validators=[Optional(), NumberRange(min=0.01)])
    daily_amount = DecimalField(_l("Daily limit (TRY)"), places=2,
                                validators=[Optional(), NumberRange(min=0.01)])
    monthly_amount = DecimalField(_l("Monthly limit (TRY)"), places=2,
                                  validators=[Optional(), NumberRange(min=0.01)])

    def limits(self) -> dict | None:
        """The limits entered, or None."""
        values = {name: getattr(self, name).data for name in
                  ("max_amount_per_tx", "daily_amount", "monthly_amount")}
        values = {k: v for k, v in values.items() if v is not None}
        return {**values, "currency": "TRY"} if values else None


class NoteForm(FlaskForm):
    """A reviewer's note."""

    body = TextAreaField(_l("Note"), validators=[DataRequired(), Length(min=1, max=5000)])


class BlacklistForm(FlaskForm):
    """A value to blacklist, with why."""

    kind = SelectField(_l("Kind"), choices=[SelectChoice(k) for k in
                                             ("iban", "email", "phone", "domain", "ip",
                                              "national_id", "device", "card", "customer")])
    value = StringField(_l("Value"), validators=[DataRequired(), Length(max=500)])
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(min=3, max=500)])


class UnblockForm(FlaskForm):
    """Removing a blacklist entry needs a reason (R-E3)."""

    reason = StringField(_l("Reason for removal"),
                         validators=[DataRequired(), Length(min=3, max=500)])


class ListImportForm(FlaskForm):
    """A sanctions or PEP list file to import."""

    kind = SelectField(_l("Kind"), choices=[SelectChoice("sanctions", _l("Sanctions")),
                                         SelectChoice("pep", "PEP")])
    name = StringField(_l("List name (optional)"), validators=[Optional(), Length(max=120)])
    files = MultipleFileField(_l("List files (OFAC sdn.csv + add.csv + alt.csv, UN consolidated "
                                 "XML, or FollowTheMoney JSON lines)"),
                              validators=[DataRequired()])
