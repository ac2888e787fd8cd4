"""The job runner (``app.jobs``): declarations, enqueue-after-commit, the queue per app."""

from __future__ import annotations

import pytest
from huey import RedisHuey, SqliteHuey
from sqlmodel import Session, select

from app.audit.trail import Actor
from app.jobs import enqueue_after_commit, job, job_queue, run_queued_jobs
from app.jobs.queue import build_huey
from app.jobs.registry import declared_jobs
from app.models import AuditEvent

SEEN: list[dict] = []


@job("test_note_audit")
def note_audit(session, *, now, actor: Actor, label: str) -> None:
    """Writes one audit event, so a test sees the job's own transaction commit."""
    from flask import current_app

    from app.audit.trail import record
    SEEN.append({"label": label, "app": current_app.name, "actor": actor.name, "now": now})
    record(session, actor.event("test.noted", target_type="test", target_id=label))
    if label == "boom":
        raise RuntimeError("the job failed")


def _noted(session: Session) -> int:
    return len(session.exec(select(AuditEvent).where(AuditEvent.action == "test.noted")).all())


def test_a_job_name_is_declared_once():
    with pytest.raises(ValueError, match="declared twice"):
        job("test_note_audit")(lambda session, **kw: None)
    assert declared_jobs()["test_note_audit"].fn is note_audit


def test_the_queue_is_sqlite_in_the_instance_folder_unless_redis_is_set(settings):
    assert isinstance(build_huey(settings), SqliteHuey)
    redis = build_huey(settings.replace(redis_url="redis://127.0.0.1:6379/1"))
    assert isinstance(redis, RedisHuey) and redis.name == "kybgate"


def test_a_job_is_queued_only_when_the_transaction_commits(app):
    huey = job_queue(app)
    with app.app_context(), Session(app.extensions["kyb.engine"]) as session:
        enqueue_after_commit(session, "test_note_audit", label="before-any-sql")
        session.rollback()
        session.get(AuditEvent, "evt_none")  # a transaction under way
        enqueue_after_commit(session, "test_note_audit", label="rolled-back")
        session.rollback()
        assert huey.pending_count() == 0
        enqueue_after_commit(session, "test_note_audit", label="kept")
        assert huey.pending_count() == 0  # not before the commit
        session.commit()
    assert [t.kwargs for t in huey.pending()] == [{"label": "kept"}]


def test_the_same_job_is_queued_once_per_transaction(app):
    huey = job_queue(app)
    with app.app_context(), Session(app.extensions["kyb.engine"]) as session:
        for label in ("same", "same", "other"):
            enqueue_after_commit(session, "test_note_audit", label=label)
        session.commit()
    assert [t.kwargs for t in huey.pending()] == [{"label": "same"}, {"label": "other"}]


def test_an_unknown_job_fails_in_the_caller(app):
    with app.app_context(), Session(app.extensions["kyb.engine"]) as session:
        with pytest.raises(KeyError, match="no job named 'nope'"):
            enqueue_after_commit(session, "nope")


def test_a_job_runs_in_the_apps_context_and_commits_its_work(app):
    SEEN.clear()
    with app.app_context(), Session(app.extensions["kyb.engine"]) as session:
        enqueue_after_commit(session, "test_note_audit", label="one")
        session.commit()
    assert run_queued_jobs(app) == ["test_note_audit"]
    assert SEEN[0]["app"] == app.name and SEEN[0]["actor"] == "job:test_note_audit"
    with Session(app.extensions["kyb.engine"]) as session:
        assert _noted(session) == 1


def test_a_failing_job_rolls_its_work_back(app):
    with app.app_context(), Session(app.extensions["kyb.engine"]) as session:
        enqueue_after_commit(session, "test_note_audit", label="boom")
        session.commit()
    with pytest.raises(RuntimeError, match="the job failed"):
        run_queued_jobs(app)
    with Session(app.extensions["kyb.engine"]) as session:
        assert _noted(session) == 0


def test_the_jobs_commands_show_and_run_the_queue(app):
    with app.app_context(), Session(app.extensions["kyb.engine"]) as session:
        for label in ("a", "b"):
            enqueue_after_commit(session, "test_note_audit", label=label)
        session.commit()
    runner = app.test_cli_runner()
    pending = runner.invoke(args=["jobs", "pending"])
    assert pending.exit_code == 0, pending.output
    assert "2 jobs waiting" in pending.output and "2  test_note_audit" in pending.output
    ran = runner.invoke(args=["jobs", "run"])
    assert ran.exit_code == 0, ran.output
    assert "ran 2 jobs; 2 test_note_audit" in ran.output
    with Session(app.extensions["kyb.engine"]) as session:
        assert _noted(session) == 2


def test_the_worker_command_documents_itself(app):
    help_text = app.test_cli_runner().invoke(args=["worker", "--help"]).output
    for words in ("--workers", "--no-periodic", "SIGTERM", "KYB_REDIS_URL", "jobs.db"):
        assert words in help_text
