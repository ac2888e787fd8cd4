# ruff: noqa: F811 - pytest fixtures imported from tests.world are test arguments
"""R-D1: a submitted application is assessed by a job (not on the request), and an assessment
whose policy TTL has passed is renewed by the periodic job, against the sandbox Internet."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import Session, select

from app.jobs import enqueue, job_queue, run_queued_jobs
from app.models import Assessment, AuditEvent, Merchant
from app.services.assessment_renewal import claim_expired_assessments
from app.services.assessments import current_policy
from tests.factories import application
from tests.world import FROZEN_NOW, frozen, lookup_world, settings, world_app  # noqa: F401

T0 = dt.datetime.fromisoformat(FROZEN_NOW)


@pytest.fixture(autouse=True)
def _offline(no_internet, frozen):
    """No lookup may leave 127.0.0.1; the clock is frozen before the API token is issued."""
    return frozen


def _submit(api, lookup_world) -> str:
    body = application(website=lookup_world.site(), email="finans@anadolucicek.com.tr")
    resp = api.post("/api/v1/merchants", json=body)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["id"]


def _assessments(app, merchant_id: str) -> list[Assessment]:
    with Session(app.extensions["kyb.engine"]) as session:
        return list(session.exec(select(Assessment).where(Assessment.merchant_id == merchant_id)
                                 .order_by(Assessment.created_at)).all())


def test_a_submitted_application_is_queued_then_assessed_by_the_job(world_app, api,
                                                                     lookup_world):
    merchant_id = _submit(api, lookup_world)
    huey = job_queue(world_app)
    assert [type(t).__name__ for t in huey.pending()] == ["assess_application"]
    assert _assessments(world_app, merchant_id) == []  # nothing looked up on the request

    assert run_queued_jobs(world_app) == ["assess_application"]
    [row] = _assessments(world_app, merchant_id)
    assert row.trigger == "application_submitted"
    assert row.created_by == "job:assess_application"
    assert {c["code"] for c in row.checks} >= {"domain_age", "sanctions_pep"}
    domain_age = next(c for c in row.checks if c["code"] == "domain_age")
    assert domain_age["status"] == "pass"  # RDAP of the sandbox: registered in 2019
    with Session(world_app.extensions["kyb.engine"]) as session:
        merchant = session.get(Merchant, merchant_id)
        assert merchant.latest_assessment_id == row.id
        event = session.exec(select(AuditEvent).where(
            AuditEvent.action == "assessment.completed",
            AuditEvent.target_id == row.id)).one()
        assert event.details["trigger"] == "application_submitted"


def test_the_job_leaves_an_application_already_assessed_alone(world_app, api, lookup_world):
    merchant_id = _submit(api, lookup_world)
    assert api.post(f"/api/v1/merchants/{merchant_id}/assessments").status_code == 201
    assert run_queued_jobs(world_app) == ["assess_application"]
    assert [a.trigger for a in _assessments(world_app, merchant_id)] == ["api"]


def test_a_rolled_back_application_queues_nothing(world_app, api, lookup_world):
    body = application(website=lookup_world.site(), iban="TR00BAD")
    assert api.post("/api/v1/merchants", json=body).status_code == 422
    assert job_queue(world_app).pending_count() == 0


def _assessed(world_app, api, lookup_world) -> Assessment:
    merchant_id = _submit(api, lookup_world)
    run_queued_jobs(world_app)
    [row] = _assessments(world_app, merchant_id)
    return row


def test_the_assessment_expires_after_the_policys_ttl_for_its_tier(world_app, api,
                                                                   lookup_world):
    row = _assessed(world_app, api, lookup_world)
    with world_app.app_context():
        ttl = current_policy().assessments.ttl_days[row.tier]
    assert row.expires_at == T0 + dt.timedelta(days=ttl)
    body = api.get(f"/api/v1/merchants/{row.merchant_id}/assessments/latest").get_json()
    assert body["trigger"] == "application_submitted"
    assert dt.datetime.fromisoformat(body["expires_at"]) == row.expires_at


@pytest.mark.parametrize(("offset", "renewed"), [(-1, False), (0, True), (1, True)])
def test_the_periodic_job_renews_an_assessment_only_once_it_expired(
        world_app, api, lookup_world, frozen, offset, renewed):
    row = _assessed(world_app, api, lookup_world)
    frozen.move_to(row.expires_at + dt.timedelta(seconds=offset))
    huey = job_queue(world_app)
    enqueue(huey, "renew_expired_assessments")
    ran = run_queued_jobs(world_app)
    triggers = [a.trigger for a in _assessments(world_app, row.merchant_id)]
    if renewed:
        assert ran == ["renew_expired_assessments", "renew_assessment"]
        assert triggers == ["application_submitted", "ttl_expired"]
        new = _assessments(world_app, row.merchant_id)[-1]
        assert new.expires_at == new.created_at + (row.expires_at - row.created_at)
    else:
        assert ran == ["renew_expired_assessments"]
        assert triggers == ["application_submitted"]


def test_the_periodic_job_renews_only_the_expired_merchants(world_app, api, lookup_world,
                                                           frozen):
    first_id, second_id = _submit(api, lookup_world), _submit(api, lookup_world)
    assert run_queued_jobs(world_app, limit=1) == ["assess_application"]
    frozen.tick(dt.timedelta(days=10))
    assert run_queued_jobs(world_app) == ["assess_application"]
    [first], [second] = _assessments(world_app, first_id), _assessments(world_app, second_id)
    assert second.expires_at - first.expires_at == dt.timedelta(days=10)
    frozen.move_to(first.expires_at + dt.timedelta(minutes=1))
    enqueue(job_queue(world_app), "renew_expired_assessments")
    run_queued_jobs(world_app)
    assert [a.trigger for a in _assessments(world_app, first.merchant_id)] == [
        "application_submitted", "ttl_expired"]
    assert [a.trigger for a in _assessments(world_app, second.merchant_id)] == [
        "application_submitted"]


def test_a_claimed_renewal_is_not_claimed_again_until_its_lease_ends(world_app, api,
                                                                      lookup_world):
    """Two workers' schedulers: the second run finds nothing to claim; a renewal that never
    ran is claimed again once the policy's lease has passed."""
    row = _assessed(world_app, api, lookup_world)
    engine = world_app.extensions["kyb.engine"]
    with world_app.app_context():
        policy = current_policy()
    at = row.expires_at + dt.timedelta(seconds=1)
    lease = dt.timedelta(minutes=policy.assessments.renewal_lease_minutes)
    claims = []
    for when in (at, at + dt.timedelta(seconds=1), at + lease - dt.timedelta(seconds=1),
                 at + lease + dt.timedelta(seconds=1)):
        with Session(engine) as session:
            claims.append(claim_expired_assessments(session, now=when, policy=policy))
            session.commit()
    assert claims == [[(row.merchant_id, row.id)], [], [], [(row.merchant_id, row.id)]]


def test_two_concurrent_schedulers_claim_an_expired_assessment_once(world_app, api,
                                                                    lookup_world):
    """The second claim starts while the first holds its claim uncommitted: it waits (row
    lock on PostgreSQL, the write lock on SQLite) and then finds the assessment taken."""
    import threading
    row = _assessed(world_app, api, lookup_world)
    engine = world_app.extensions["kyb.engine"]
    with world_app.app_context():
        policy = current_policy()
    at = row.expires_at + dt.timedelta(seconds=1)
    first_claimed, results = threading.Event(), {}

    def first() -> None:
        with Session(engine) as session:
            results["first"] = claim_expired_assessments(session, now=at, policy=policy)
            first_claimed.set()
            threading.Event().wait(0.5)  # the second claim is waiting meanwhile
            session.commit()

    def second() -> None:
        first_claimed.wait(10)
        with Session(engine) as session:
            results["second"] = claim_expired_assessments(session, now=at, policy=policy)
            session.commit()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert results == {"first": [(row.merchant_id, row.id)], "second": []}


@pytest.mark.parametrize(("minutes", "queued"), [(9, False), (11, True)])
def test_an_application_whose_job_was_lost_is_queued_again(world_app, api, lookup_world,
                                                           frozen, minutes, queued):
    merchant_id = _submit(api, lookup_world)
    job_queue(world_app).flush()  # the job is lost
    frozen.tick(dt.timedelta(minutes=minutes))
    enqueue(job_queue(world_app), "assess_missed_applications")
    ran = run_queued_jobs(world_app)
    if queued:
        assert ran == ["assess_missed_applications", "assess_application"]
        assert [a.trigger for a in _assessments(world_app, merchant_id)] == [
            "application_submitted"]
    else:
        assert ran == ["assess_missed_applications"]
        assert _assessments(world_app, merchant_id) == []
