"""Personal data at rest (issue #13, R-D7, R-B4): persons' names, birth dates and full national
ids are sealed (AES-GCM, key version recorded, bound to row and field), blind indexes still link
shared owners, keys rotate with re-encryption, and every opening is audited."""

from __future__ import annotations

import base64

import pytest
import sqlalchemy as sa
from sqlmodel import select

from app import create_app
from app.audit.trail import Actor, verify_trail
from app.crypto.data_keys import DataKeys, SealedValueError
from app.models import AuditEvent, Merchant, Person
from app.services.data_keys import reencrypt_sealed, versions_in_use
from app.services.ownership import find_shared_ownership
from app.services.personal_data import Disclosure, data_keys, national_id_index
from tests.factories import TCKN, application
from tests.unit.app.test_ownership_service import create, distinct

KEY_A = base64.b64encode(b"A" * 32).decode()
KEY_B = base64.b64encode(b"B" * 32).decode()
OWNER = application()["owners"][0]


def _raw_persons(app) -> list[dict]:
    with app.extensions["kyb.engine"].connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.text("SELECT * FROM person"))]


def test_names_birth_dates_and_national_ids_are_not_in_clear_in_the_table(api, app):
    assert api.post("/api/v1/merchants", json=application()).status_code == 201
    rows = _raw_persons(app)
    assert rows
    text = repr(rows)
    for owner in application()["owners"]:
        assert owner["full_name"] not in text and owner["national_id"] not in text
        assert owner["birth_date"] not in text
    for row in rows:
        assert row["full_name_sealed"].startswith("kd1:2:")  # the current test key version
        assert row["national_id_sealed"].startswith("kd1:2:")


def test_tampered_swapped_or_unknown_version_ciphertexts_are_refused(api, app, db_session):
    api.post("/api/v1/merchants", json=application())
    first, second = db_session.exec(select(Person).order_by(Person.id)).all()[:2]
    keys = data_keys(db_session)
    sealed = first.full_name_sealed
    assert keys.open(sealed, table="person", column="full_name_sealed", row_id=first.id)
    with pytest.raises(SealedValueError, match="another row or field"):  # swapped rows
        keys.open(sealed, table="person", column="full_name_sealed", row_id=second.id)
    with pytest.raises(SealedValueError, match="another row or field"):  # swapped fields
        keys.open(sealed, table="person", column="national_id_sealed", row_id=first.id)
    body = sealed.rsplit(":", 1)[1]
    flipped = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]
    with pytest.raises(SealedValueError, match="tampered"):
        keys.open(sealed.rsplit(":", 1)[0] + ":" + flipped, table="person",
                  column="full_name_sealed", row_id=first.id)
    with pytest.raises(SealedValueError, match="key version 9"):
        keys.open("kd1:9:" + body, table="person", column="full_name_sealed", row_id=first.id)


def test_the_column_type_refuses_clear_text(app, db_session):
    db_session.add(Person(full_name_sealed="Ayşe Yılmaz"))
    with pytest.raises(sa.exc.StatementError, match="not a sealed value"):
        db_session.flush()


def test_blind_indexes_still_find_a_shared_owner(api, db_session):
    first = api.post("/api/v1/merchants", json=application()).get_json()["id"]
    second = create(api, distinct(owners=[OWNER]))
    found = find_shared_ownership(db_session, merchant=db_session.get(Merchant, second))
    assert [(x.merchant_id, x.shares) for x in found.linked] == [(first, ("owner",))]
    assert {c.owner_name for c in found.merchants_per_owner} == {OWNER["full_name"]}
    assert db_session.exec(select(Person).where(
        Person.national_id_index == national_id_index(f" {OWNER['national_id']} ",
                                                      data_keys(db_session)))).first()


def test_opening_is_audited_with_who_why_and_fields_but_no_values(api, db_session):
    merchant_id = api.post("/api/v1/merchants", json=application()).get_json()["id"]
    assert api.get(f"/api/v1/merchants/{merchant_id}").status_code == 200
    events = db_session.exec(select(AuditEvent).where(
        AuditEvent.action == "personal_data.decrypted",
        AuditEvent.merchant_id == merchant_id)).all()
    assert events and all(e.actor == f"client:{api.client_id}" for e in events)
    event = events[-1]
    assert event.details["purpose"] == "API merchant read"
    assert event.details["fields"] == ["birth_date", "full_name"]
    assert event.details["persons"] == 2
    text = repr([e.details for e in db_session.exec(select(AuditEvent)).all()])
    for owner in application()["owners"]:
        assert owner["full_name"] not in text and owner["national_id"] not in text
    assert verify_trail(db_session).ok


def test_str_disclosure_opens_the_full_national_id(api, db_session):
    api.post("/api/v1/merchants", json=application())
    person = db_session.exec(select(Person).where(Person.national_id_index == national_id_index(
        TCKN[0], data_keys(db_session)))).one()
    disclosure = Disclosure(actor=Actor("staff:mlro@bank.test"), purpose="STR package",
                            keys=data_keys(db_session))
    assert disclosure.identity(person).national_id == TCKN[0]
    event = disclosure.record(db_session)
    assert event.target_id == person.id and event.details["fields"] == [
        "birth_date", "full_name", "national_id"]


def test_rotation_then_reencrypt_moves_every_field_to_the_new_key(settings, tmp_path):
    old = create_app({"TESTING": True}, settings=settings.replace(data_keys=f"1:{KEY_A}"))
    client = old.test_client()
    from tests.conftest import create_oauth_client
    cid, secret = create_oauth_client(old, "merchants:write merchants:read")
    token = client.post("/oauth/token", data={"grant_type": "client_credentials",
                                              "client_id": cid, "client_secret": secret,
                                              "scope": "merchants:write merchants:read"}
                        ).get_json()["access_token"]
    resp = client.post("/api/v1/merchants", json=application(),
                       headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 201, resp.get_data(True)
    old.extensions["kyb.engine"].dispose()
    rotated = DataKeys.parse(f"2:{KEY_B},1:{KEY_A}")
    new = create_app({"TESTING": True}, settings=settings.replace(
        data_keys=f"2:{KEY_B},1:{KEY_A}"))
    engine = new.extensions["kyb.engine"]
    # 2 persons x 3 fields, the merchant's e-mail and phone, its e-mail and phone points
    assert versions_in_use(engine) == {1: 10}
    *_, done = reencrypt_sealed(engine, rotated, batch=1)
    assert (done.rows_changed, done.fields_changed, done.from_versions) == (5, 10, {1: 10})
    assert versions_in_use(engine) == {2: 10}
    *_, again = reencrypt_sealed(engine, rotated)
    assert again.rows_changed == 0
    engine.dispose()
    # version 1 retired; the blind-index key stays pinned to it, so lookups still match
    only_new = create_app({"TESTING": True}, settings=settings.replace(
        data_keys=f"2:{KEY_B},idx:{KEY_A}"))
    from sqlmodel import Session
    with Session(only_new.extensions["kyb.engine"]) as session:
        person = session.exec(select(Person).where(Person.national_id_index == national_id_index(
            TCKN[0], data_keys(session)))).one()
        who = Disclosure(actor=Actor("test"), purpose="test").identity(person)
        assert who.full_name == OWNER["full_name"] and who.national_id == TCKN[0]
        merchant = session.exec(select(Merchant)).one()  # its e-mail and phone moved too
        contacts = Disclosure(actor=Actor("test"), purpose="test").contacts(merchant)
        assert (contacts.email, contacts.phone) == (application()["email"], "+902125550123")
    only_new.extensions["kyb.engine"].dispose()


def test_a_pre_0014_person_is_moved_to_the_blind_index_when_its_id_comes_again(
        api, app, db_session):
    """Rows migrated from before 0014 keep the pepper hash as their index (the full id was
    never stored); the next application with that id re-indexes them and seals the id."""
    from app.security import Keyring
    settings = app.extensions["kyb.settings"]
    legacy = Keyring(settings.token_peppers, settings.token_pepper_version).keyed_hash(
        "national-id", OWNER["national_id"].upper())
    first = create(api, application())
    person = db_session.exec(select(Person).where(Person.national_id_index == national_id_index(
        OWNER["national_id"], data_keys(db_session)))).one()
    person.national_id_index, person.national_id_sealed = legacy, None  # as 0014 leaves it
    db_session.add(person)
    db_session.commit()
    second = create(api, distinct(owners=[OWNER]))
    db_session.expire_all()
    healed = db_session.get(Person, person.id)
    assert healed.national_id_index == national_id_index(OWNER["national_id"],
                                                         data_keys(db_session))
    assert Disclosure(actor=Actor("test"), purpose="test").identity(
        healed, ("national_id",)).national_id == OWNER["national_id"]
    found = find_shared_ownership(db_session, merchant=db_session.get(Merchant, second))
    assert [x.merchant_id for x in found.linked] == [first]


def test_the_reencrypt_command_reports_progress_and_a_summary(api, app, db_session):
    create(api, application())
    out = app.test_cli_runner().invoke(args=["data-keys", "reencrypt", "--json"])
    assert out.exit_code == 0, out.output
    assert '"fields_changed": 0' in out.output  # already under the current key (version 2)
    status = app.test_cli_runner().invoke(args=["data-keys", "status"])
    assert "current key version 2" in status.output and "v2: 10" in status.output
    event = db_session.exec(select(AuditEvent).where(
        AuditEvent.action == "personal_data.reencrypted")).one()
    # 2 persons, the merchant, its e-mail and phone contact points
    assert event.actor.startswith("cli:") and event.details["scanned"] == 5
