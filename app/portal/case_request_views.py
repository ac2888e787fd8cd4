"""Questions the institution asked the merchant from a case (R-D5): the portal lists them and
the merchant answers each one; the answer goes back to the case (``case.info_answered``) and
the case resumes once nothing is waiting. Only the logged-in user's own merchant's questions
are ever read (another merchant's request id answers 404)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from sqlmodel import select
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from app.db import utcnow
from app.extensions import db_session
from app.models import InformationRequest
from app.portal import bp
from app.portal.context import own_merchant, portal_user
from app.services.case_actions import answer_request, open_requests
from app.services.cases import CaseRefused
from app.web.auth import require_user, web_actor


class AnswerForm(FlaskForm):
    """The merchant's answer to one question."""

    answer = TextAreaField(validators=[DataRequired(), Length(min=1, max=10_000)])


@bp.app_context_processor
def _open_question_count() -> dict:
    """``open_case_questions()`` for the portal's navigation (queried only when called)."""
    def count() -> int:
        user = portal_user()
        if not user.merchant_id:
            return 0
        return len(open_requests(db_session(), merchant_id=user.merchant_id))
    return {"open_case_questions": count}


@bp.get("/questions", endpoint="case_questions")
@require_user("merchant")
def questions():
    """Open questions first, then the answered ones."""
    merchant = own_merchant()
    rows = db_session().exec(select(InformationRequest).where(
        InformationRequest.merchant_id == merchant.id)
        .order_by(InformationRequest.requested_at.desc()).limit(200)).all()
    pending = [r for r in rows if r.status == "open"]
    answered = [r for r in rows if r.status != "open"]
    return render_template("portal/questions.html", m=merchant, pending=pending,
                           answered=answered, form=AnswerForm(), now=utcnow())


@bp.post("/questions/<request_id>", endpoint="answer_case_question")
@require_user("merchant")
def answer(request_id: str):
    """Answer one of the merchant's own open questions."""
    merchant, session = own_merchant(), db_session()
    row = session.get(InformationRequest, request_id) if len(request_id) <= 40 else None
    if row is None or row.merchant_id != merchant.id:
        abort(404)
    form = AnswerForm()
    if not form.validate_on_submit():
        flash(_("Write an answer first."), "error")
        return redirect(url_for("portal.case_questions"), 303)
    try:
        answer_request(session, request=row, answer=form.answer.data, actor=web_actor(),
                       now=utcnow())
    except CaseRefused:
        session.rollback()
        flash(_("This question was already answered."), "warning")
        return redirect(url_for("portal.case_questions"), 303)
    session.commit()
    flash(_("Thank you, your answer was sent."), "success")
    return redirect(url_for("portal.case_questions"), 303)
