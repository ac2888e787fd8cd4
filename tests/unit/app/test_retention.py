"""Retention of personal data (R-D7, issue #13): 8 years after a Turkish merchant's relationship
ended its personal data is erased — not a second before — leaving tombstones and a verifiable
audit trail; a person still tied to a merchant within its period is kept."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa
from freezegun import freeze_time
from sqlmodel import select

from app.audit.trail import Actor, verify_trail
from app.models import AuditEvent, ContactPoint, Merchant, Person
from app.services.personal_data import mask_contact
from app.services.retention import add_years, purge_personal_data
from checks.policy import ACTIVE_POLICY_FILE, PolicyError, load_policy
from tests.factories import application
from tests.unit.app.test_ownership_service import create, distinct

ENDED = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)
EIGHT_YEARS = add_years(ENDED, 8)
POLICY = load_policy()
OWNER = application()["owners"][0]


def _end(db_session, merchant_id: str, status: str = "rejected") -> None:
    with freeze_time(ENDED):
        merchant = db_session.get(Merchant, merchant_id)
        merchant.status = status  # stamps relationship_ended_at, whichever service sets it
        db_session.add(merchant)
        db_session.commit()
    assert db_session.get(Merchant, merchant_id).relationship_ended_at == ENDED


def _purge(db_session, at: dt.datetime, dry_run: bool = False):
    result = purge_personal_data(db_session, policy=POLICY, now=at, actor=Actor("test"),
                                 dry_run=dry_run)
    db_session.commit()
    return result


def test_the_active_policy_keeps_turkish_records_eight_years():
    assert POLICY.version == "kyb-2026.11.3"
    assert POLICY.retention.years_for("TR") == 8 and POLICY.retention.default_years == 8
    assert POLICY.retention.ended_statuses == ("rejected", "suspended")


@pytest.mark.parametrize(("at", "erased"), [
    (EIGHT_YEARS - dt.timedelta(seconds=1), False),  # just under 8 years
    (EIGHT_YEARS, True),  # 8 years to the second
    (EIGHT_YEARS + dt.timedelta(days=1), True),  # just over
])
def test_personal_data_is_erased_eight_years_after_the_relationship_ended(
        api, app, db_session, at, erased):
    merchant_id = create(api, application())
    _end(db_session, merchant_id)
    result = _purge(db_session, at)
    assert (result.merchant_ids == [merchant_id]) is erased
    assert len(result.person_ids) == (2 if erased else 0)
    with app.extensions["kyb.engine"].connect() as conn:
        people = [dict(r._mapping) for r in conn.execute(sa.text("SELECT * FROM person"))]
        merchant = dict(conn.execute(sa.text("SELECT * FROM merchant")).one()._mapping)
        contacts = conn.execute(sa.text(
            "SELECT value FROM contact_point WHERE kind IN ('email', 'phone')")).scalars().all()
        sealed = conn.execute(sa.text(
            "SELECT value_sealed FROM contact_point WHERE kind IN ('email', 'phone')")
        ).scalars().all()
    for person in people:
        cleared = [person[c] for c in ("full_name_sealed", "birth_date_sealed",
                                       "national_id_sealed", "name_index", "name_birth_index",
                                       "national_id_index", "national_id_masked")]
        assert (cleared == [None] * 7) is erased
        assert (person["erased_at"] is not None) is erased  # the tombstone
    assert (merchant["email_sealed"] is None and merchant["phone_sealed"] is None) is erased
    assert (set(contacts) == {"[erased]"}) is erased
    assert (set(sealed) == {None}) is erased  # the sealed values are gone too
    assert verify_trail(db_session).ok  # nothing in the chain was rewritten
    db_session.rollback()
    verified = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert verified.exit_code == 0 and "audit trail intact" in verified.output, verified.output
    purged = db_session.exec(select(AuditEvent).where(
        AuditEvent.action == "personal_data.purged")).all()
    assert len(purged) == (1 if erased else 0)
    if erased:
        assert purged[0].details["persons"] == 2 and purged[0].details["merchants"] == 1
        assert purged[0].details["policy_version"] == "kyb-2026.11.3"


def test_an_owner_of_a_merchant_still_within_its_period_is_kept(api, db_session):
    ended = create(api, application())
    active = create(api, distinct(owners=[OWNER]))
    _end(db_session, ended)
    result = _purge(db_session, EIGHT_YEARS)
    assert result.merchant_ids == [ended]
    assert result.persons_kept == 1 and len(result.person_ids) == 1
    (shared,) = db_session.exec(select(Person).where(Person.erased_at.is_(None))).all()
    assert shared.full_name_sealed and shared.national_id_index  # still links and opens
    assert db_session.get(Merchant, active).email_sealed is not None


def test_a_dry_run_changes_nothing_and_records_nothing(api, db_session):
    merchant_id = create(api, application())
    _end(db_session, merchant_id, "suspended")
    before = db_session.exec(select(sa.func.count()).select_from(AuditEvent)).one()
    result = _purge(db_session, EIGHT_YEARS, dry_run=True)
    assert result.merchant_ids == [merchant_id] and len(result.person_ids) == 2
    db_session.expire_all()
    assert db_session.exec(select(Person).where(Person.erased_at.is_not(None))).all() == []
    assert db_session.exec(select(sa.func.count()).select_from(AuditEvent)).one() == before


def test_a_merchant_approved_again_is_no_longer_ended(api, db_session):
    merchant_id = create(api, application())
    _end(db_session, merchant_id, "suspended")
    merchant = db_session.get(Merchant, merchant_id)
    merchant.status = "approved"
    db_session.add(merchant)
    db_session.commit()
    assert merchant.relationship_ended_at is None
    assert _purge(db_session, EIGHT_YEARS).merchant_ids == []


def test_the_cli_dry_run_reports_what_would_be_erased(api, app, db_session):
    merchant_id = create(api, application())
    _end(db_session, merchant_id)
    with freeze_time(EIGHT_YEARS + dt.timedelta(days=1)):
        out = app.test_cli_runner().invoke(args=["retention", "purge", "--dry-run", "--json"])
    assert out.exit_code == 0, out.output
    summary = json.loads(out.output)
    assert (summary["merchants"], summary["persons"], summary["dry_run"]) == (1, 2, True)
    points = db_session.exec(select(ContactPoint).where(
        ContactPoint.merchant_id == merchant_id, ContactPoint.kind == "email")).all()
    assert [p.value for p in points] == [mask_contact("email", application()["email"])]
    assert all(p.value_sealed for p in points)  # still sealed, not erased


@pytest.mark.parametrize(("table", "message"), [
    ('[retention]\nended_statuses = ["approved"]\ndefault_years = 8\n',
     "retention.ended_statuses"),
    ('[retention]\nended_statuses = ["rejected"]\ndefault_years = 0\n',
     "retention.default_years"),
    ('[retention]\nended_statuses = ["rejected"]\ndefault_years = 8\nkeep = 1\n',
     "retention.keep: unknown retention key"),
    ('[retention]\nended_statuses = ["rejected"]\ndefault_years = 8\n'
     '[retention.years_by_country]\ntr = 8\n', "retention.years_by_country.tr"),
])
def test_a_malformed_retention_table_is_refused_naming_the_key(tmp_path, table, message):
    text = ACTIVE_POLICY_FILE.read_text(encoding="utf-8")
    text = text[:text.index("\n[retention]\n") + 1] + table
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError, match=message):
        load_policy(path)
