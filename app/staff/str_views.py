"""The STR panel of a case in the staff console (R-D5): download the package (PDF or JSON;
every download audited) and file the STR (approvers and admins; CSRF-protected form).

The case page includes ``staff/_case_str.html`` with ``case`` in its context; the small page
``/staff/cases/<id>/str`` shows the same panel on its own.
"""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from app.db import utcnow
from app.extensions import db_session
from app.models import Case
from app.services.str_report import (
    MEDIA_TYPES,
    CaseNotFound,
    StrConflict,
    StrInvalid,
    export_str,
    file_str,
)
from app.services.str_report.filing import MAX_NARRATIVE, MAX_REFERENCE
from app.staff import bp
from app.web.auth import require_user, web_actor
from app.web.filters import has_endpoint

FILING_ROLES = ("approver", "admin")
CASE_PAGE = "staff.case"  # the case page (casework views), when the app has it


class StrFileForm(FlaskForm):
    """The filing of a case's STR: the reference and the analyst's narrative."""

    reference = StringField(_l("Reference (optional)"),
                            validators=[Optional(), Length(max=MAX_REFERENCE)])
    narrative = TextAreaField(_l("Narrative: why the activity is suspicious"),
                              validators=[DataRequired(), Length(min=10, max=MAX_NARRATIVE)])


def _case(case_id: str) -> Case:
    case = db_session().get(Case, case_id)
    if case is None:
        abort(404)
    return case


def _back(case_id: str) -> Response:
    if has_endpoint(CASE_PAGE):
        return redirect(url_for(CASE_PAGE, case_id=case_id) + "#str", 303)
    return redirect(url_for("staff.case_str", case_id=case_id), 303)


@bp.get("/cases/<case_id>/str", endpoint="case_str")
@require_user("staff")
def case_str(case_id: str):
    """The STR panel of one case."""
    return render_template("staff/case_str.html", case=_case(case_id))


@bp.get("/cases/<case_id>/str.<any(pdf, json):fmt>", endpoint="case_str_download")
@require_user("staff")
def case_str_download(case_id: str, fmt: str):
    """The package as a download; the export is audited with the staff member's name."""
    session = db_session()
    try:
        package, data = export_str(session, case_id=case_id, actor=web_actor(), now=utcnow(),
                                   fmt=fmt)
    except CaseNotFound:
        abort(404)
    session.commit()
    return Response(data, mimetype=MEDIA_TYPES[fmt], headers={
        "Content-Disposition": f'attachment; filename="str-{case_id}.{fmt}"',
        "X-Package-SHA256": package["sha256"]})


@bp.post("/cases/<case_id>/str", endpoint="case_str_file")
@require_user("staff", *FILING_ROLES)
def case_str_file(case_id: str):
    """File the STR (approvers and admins); refused for a filed or closed case."""
    case = _case(case_id)
    form = StrFileForm()
    if not form.validate_on_submit():
        flash(_("The STR needs a narrative of at least 10 characters; the reference is at "
                "most %(n)d characters.", n=MAX_REFERENCE), "error")
        return _back(case.id)
    session = db_session()
    try:
        file_str(session, case=case, actor=web_actor(), now=utcnow(),
                 reference=form.reference.data, narrative=form.narrative.data)
    except (StrConflict, StrInvalid) as exc:
        session.rollback()
        flash(_("STR not filed: %(why)s", why=str(exc)), "error")
        return _back(case.id)
    session.commit()
    flash(_("STR filed under reference %(ref)s.", ref=case.str_reference), "success")
    return _back(case.id)
