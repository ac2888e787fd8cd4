"""An application sent through the portal is queued for its first assessment (R-D1); the
page answers without any lookup and the job runs only when a worker (here: the test) runs it."""

from __future__ import annotations

from app.jobs import job_queue
from tests.functional.portal.conftest import apply


def test_a_portal_application_queues_its_assessment(app, portal_user, db_session):
    merchant = apply(portal_user("owner@anadolucicek.com.tr"), db_session)
    queued = [(type(t).__name__, t.kwargs) for t in job_queue(app).pending()]
    assert queued == [("assess_application", {"merchant_id": merchant.id})]
    assert merchant.latest_assessment_id is None
