"""Shared-ownership lookup: a link by each kind, bad statuses, serial owners, indexed queries."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from app.models import Merchant
from app.services.ownership import find_shared_ownership
from checks.assessment import run_checks
from checks.facts import MerchantFacts
from checks.policy import load_policy
from tests.factories import TCKN, application

BASE = application(signup_ip="198.51.100.7")
OTHER_OWNER = {"full_name": "Mehmet Demir", "national_id": TCKN[4], "birth_date": "1970-01-01",
               "nationality": "TR", "share_pct": "100", "role": "owner"}


def distinct(**overrides) -> dict:
    """An application sharing nothing with ``BASE`` except what ``overrides`` put back."""
    body = application(website="https://baska-firma.com.tr", email="info@baska-firma.com.tr",
                       phone="+90 216 444 55 66", iban="TR960006100000000000000001",
                       owners=[OTHER_OWNER], signup_ip="192.0.2.44", legal_name="Başka A.Ş.")
    body.update(overrides)
    return body


def create(api, body: dict) -> str:
    resp = api.post("/api/v1/merchants", json=body)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["id"]


@pytest.mark.parametrize(("overrides", "share"), [
    ({"owners": [BASE["owners"][0]]}, "owner"),
    ({"owners": [{**BASE["owners"][1], "national_id": TCKN[5]}]}, "owner"),  # same name + birth
    ({"iban": BASE["iban"]}, "iban"),
    ({"email": "FINANS@anadolucicek.com.tr"}, "email"),
    ({"phone": "0212 555 01 23"}, "phone"),
    ({"website": "https://www.anadolucicek.com.tr/magaza"}, "domain"),
    ({"signup_ip": "198.51.100.7"}, "signup_ip"),
])
def test_a_link_is_found_by_each_kind(api, db_session, overrides, share):
    first = create(api, BASE)
    second = create(api, distinct(**overrides))
    found = find_shared_ownership(db_session, merchant=db_session.get(Merchant, second))
    assert [(link.merchant_id, link.shares) for link in found.linked] == [(first, (share,))]


def test_nothing_shared_means_no_link(api, db_session):
    create(api, BASE)
    lone = create(api, distinct())
    found = find_shared_ownership(db_session, merchant=db_session.get(Merchant, lone))
    assert found.linked == ()
    assert [c.merchants for c in found.merchants_per_owner] == [1]


@pytest.mark.parametrize(("status", "points"), [("approved", 10), ("rejected", 25),
                                                ("suspended", 25)])
def test_a_link_to_a_rejected_or_suspended_merchant_weighs_more(api, db_session, status,
                                                                 points):
    first = create(api, BASE)
    db_session.execute(sa.update(Merchant).where(Merchant.id == first).values(status=status))
    db_session.commit()
    second = create(api, distinct(iban=BASE["iban"], capital={"amount": "500000",
                                                               "currency": "TRY"}))
    merchant = db_session.get(Merchant, second)
    found = find_shared_ownership(db_session, merchant=merchant)
    assert found.linked[0].status == status
    facts = MerchantFacts(merchant_id=second, legal_name="x", shared_ownership=found)
    policy = load_policy()
    result = next(r for r in run_checks(facts, policy, dt.datetime.now(dt.UTC))
                  if r.code == "shared_ownership")
    assert (result.status, result.points) == ("flag", points)


def test_a_person_behind_many_merchants_is_counted(api, db_session):
    ids = [create(api, distinct(owners=[BASE["owners"][0]], iban=iban,
                                email=f"info{i}@firma{i}.com.tr",
                                website=f"https://firma{i}.com.tr",
                                phone=f"+90 216 444 55 6{i}", signup_ip=f"192.0.2.{i}"))
           for i, iban in enumerate(["TR960006100000000000000001", "TR690006100000000000000002",
                                     "TR420006100000000000000003",
                                     "TR150006100000000000000004"])]
    found = find_shared_ownership(db_session, merchant=db_session.get(Merchant, ids[-1]))
    assert [(c.owner_name, c.merchants) for c in found.merchants_per_owner] == \
        [("Ayşe Yılmaz", 4)]
    assert {link.merchant_id for link in found.linked} == set(ids[:-1])


def test_the_lookup_uses_indexes_only(api, db_session):
    """Every query of the lookup is answered from an index on SQLite (no full scan)."""
    if db_session.get_bind().dialect.name != "sqlite":
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's")
    create(api, BASE)
    merchant = db_session.get(Merchant, create(api, distinct(iban=BASE["iban"])))
    plans: list[str] = []

    def explain(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
            plans.extend(str(row[-1]) for row in rows)

    engine = db_session.get_bind()
    sa.event.listen(engine, "before_cursor_execute", explain)
    try:
        find_shared_ownership(db_session, merchant=merchant)
    finally:
        sa.event.remove(engine, "before_cursor_execute", explain)
    scans = [p for p in plans if p.startswith("SCAN") and "USING" not in p]
    assert plans and not scans, plans


def test_an_id_on_file_under_another_name_is_stored_as_submitted_and_reported(api, db_session):
    """Issue #13 item 2: the second application's owner is kept (and screened) as submitted;
    the shared id is a link and an identity conflict with the person on file."""
    from app.audit.trail import Actor
    from app.models import Ownership, Person
    from app.services.personal_data import Disclosure
    clean = create(api, BASE)
    impostor = {**BASE["owners"][0], "full_name": "Cumhur Yakut", "birth_date": "1955-03-18"}
    second = create(api, distinct(owners=[impostor]))
    person = db_session.exec(sa.select(Person).join(Ownership, Ownership.person_id == Person.id)
                             .where(Ownership.merchant_id == second)).scalar_one()
    who = Disclosure(actor=Actor("test"), purpose="test").identity(person)
    assert (who.full_name, str(who.birth_date)) == ("Cumhur Yakut", "1955-03-18")
    found = find_shared_ownership(db_session, merchant=db_session.get(Merchant, second))
    assert [(link.merchant_id, link.shares) for link in found.linked] == [(clean, ("owner",))]
    (conflict,) = found.identity_conflicts
    assert (conflict.submitted_name, conflict.on_file_name) == (
        "Cumhur Yakut", BASE["owners"][0]["full_name"])
    assert conflict.submitted_birth_date == dt.date(1955, 3, 18)
    assert conflict.merchant_ids == (clean,)
    assert conflict.national_id_masked and TCKN[0] not in conflict.national_id_masked
    # the clean merchant sees the conflict from its side too
    mirrored = find_shared_ownership(db_session, merchant=db_session.get(Merchant, clean))
    assert [c.on_file_name for c in mirrored.identity_conflicts] == ["Cumhur Yakut"]


@pytest.mark.parametrize(("change", "conflicts"), [
    ({}, 0),  # the same person again: one record, no conflict
    ({"birth_date": "1980-05-02"}, 1),  # same id and name, another birth date
    ({"full_name": "Ayşe Kaya Yılmaz"}, 1),  # same id, another name
])
def test_the_same_id_is_one_person_only_with_the_same_name_and_birth_date(
        api, db_session, change, conflicts):
    from app.models import Person
    create(api, BASE)
    second = create(api, distinct(owners=[{**BASE["owners"][0], **change}]))
    found = find_shared_ownership(db_session, merchant=db_session.get(Merchant, second))
    assert len(found.identity_conflicts) == conflicts
    persons = db_session.exec(sa.select(Person)).scalars().all()
    assert len(persons) == len(BASE["owners"]) + conflicts
