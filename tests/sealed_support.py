"""Reading a stored assessment in full in tests: its evidence, reasons and personal facts are
sealed (issue #13, R-D7), so tests open them as a named test actor would."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import object_session

from app.audit.trail import Actor
from app.crypto.data_keys import DataKeys
from app.services.personal_data import Disclosure, data_keys
from app.services.sealed_assessments import OpenedAssessment, open_assessment
from tests.conftest import TEST_DATA_KEYS


def opened(row: Any) -> OpenedAssessment:
    """``row`` (an ``Assessment``) with its sealed checks, reasons and snapshot opened."""
    session = object_session(row)  # a detached row: the tests' data keys
    keys = data_keys(session) if session is not None else DataKeys.parse(TEST_DATA_KEYS)
    return open_assessment(row, Disclosure(actor=Actor("test"), purpose="test", keys=keys))


def checks_of(row: Any) -> list[dict[str, Any]]:
    """The full checks (explanation, evidence) of a stored assessment."""
    return opened(row).checks


def notice_content(app: Any, note: Any) -> dict[str, Any]:
    """A notification's full recipient, body and payload (opened when sealed)."""
    from app.services.sealed_notices import opened_content
    if note.content_sealed is None:
        return {"recipient": note.recipient, "body": note.body, "payload": note.payload}
    return opened_content(note, app.extensions["kyb.data_keys"])


def purge_ended(db_session: Any, merchant_id: str) -> Any:
    """Reject ``merchant_id`` with its relationship ended in 2010, run the retention purge on
    2026-11-27 (the bundled policy: 8 years) and commit; the purge's result."""
    import datetime as dt

    from app.models import Merchant
    from app.services.retention import purge_personal_data
    from checks.policy import load_policy
    merchant = db_session.get(Merchant, merchant_id)
    merchant.status = "rejected"
    merchant.relationship_ended_at = dt.datetime(2010, 1, 1, tzinfo=dt.UTC)
    db_session.add(merchant)
    db_session.commit()
    result = purge_personal_data(db_session, policy=load_policy(),
                                 now=dt.datetime(2026, 11, 27, tzinfo=dt.UTC),
                                 actor=Actor("retention test"))
    db_session.commit()
    return result
