"""``kybgate data-keys reencrypt`` reaches every sealed column (issue #13, R-D7): after a
rotation, assessments' evidence and personal facts, the outbox's sealed notices, owners' names
in screening dismissals and portal accounts' addresses move to the new key, and with the old
key retired (the index key pinned to it) the reviewer's evidence, the worker's mail, the
reviewer's dismissal and the portal login still work."""

from __future__ import annotations

import base64

from sqlmodel import Session, select

from app import create_app
from app.audit.trail import Actor
from app.crypto.data_keys import DataKeys
from app.models import Assessment, MerchantUser, Notification, ScreeningDismissal
from app.services.data_keys import reencrypt_sealed, versions_in_use
from app.services.personal_data import Disclosure, data_keys
from app.services.portal_users import account_email, new_merchant_user
from app.services.screening_subjects import seal_subject, shown_subject
from app.services.sealed_assessments import open_assessment
from app.services.sealed_notices import deliverable
from app.web.auth import find_user
from tests.conftest import create_oauth_client
from tests.factories import application

KEY_A = base64.b64encode(b"A" * 32).decode()
KEY_B = base64.b64encode(b"B" * 32).decode()
PORTAL = "sahibe@dukkan.example"


def _fill(app) -> str:
    client = app.test_client()
    cid, secret = create_oauth_client(app, "merchants:write merchants:read")
    token = client.post("/oauth/token", data={"grant_type": "client_credentials",
                                              "client_id": cid, "client_secret": secret}
                        ).get_json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    merchant_id = client.post("/api/v1/merchants", json=application(),
                              headers=auth).get_json()["id"]
    assert client.post(f"/api/v1/merchants/{merchant_id}/assessments",
                       headers=auth).status_code == 201
    assert client.patch(f"/api/v1/merchants/{merchant_id}", headers=auth, json={
        "email": "yeni@anadolucicek.com.tr", "reason": "asked"}).status_code == 200
    with Session(app.extensions["kyb.engine"]) as session:
        keys = data_keys(session)
        session.add(new_merchant_user(email=PORTAL, keys=keys, merchant_id=merchant_id,
                                      password_hash="x", totp_secret="x"))
        row = ScreeningDismissal(merchant_id=merchant_id, subject_role="owner", subject="",
                                 subject_digest="d", list_name="L", entry_id="e",
                                 entry_name="Listed", entry_digest="x", status="active",
                                 reason="not her", dismissed_by="staff:a@bank.test")
        session.add(seal_subject(row, "Ayşe Yılmaz", keys))
        session.commit()
    return merchant_id


def test_reencrypt_moves_every_new_sealed_column_and_the_old_key_can_go(settings):
    old = create_app({"TESTING": True}, settings=settings.replace(data_keys=f"1:{KEY_A}"))
    _fill(old)
    old.extensions["kyb.engine"].dispose()
    rotated = DataKeys.parse(f"2:{KEY_B},1:{KEY_A}")
    new = create_app({"TESTING": True}, settings=settings.replace(
        data_keys=f"2:{KEY_B},1:{KEY_A}"))
    engine = new.extensions["kyb.engine"]
    assert set(versions_in_use(engine)) == {1}
    list(reencrypt_sealed(engine, rotated, batch=2))
    assert set(versions_in_use(engine)) == {2}
    engine.dispose()
    only_new = create_app({"TESTING": True}, settings=settings.replace(
        data_keys=f"2:{KEY_B},idx:{KEY_A}"))
    with Session(only_new.extensions["kyb.engine"]) as session:
        reader = Disclosure(actor=Actor("test"), purpose="test", keys=data_keys(session))
        assessment = session.exec(select(Assessment)).first()  # the change re-assessed it
        facts = open_assessment(assessment, reader).input_snapshot["facts"]
        assert facts["owners"][0]["full_name"] == application()["owners"][0]["full_name"]
        mails = {deliverable(n).recipient for n in session.exec(select(Notification)).all()}
        assert "yeni@anadolucicek.com.tr" in mails
        dismissal = session.exec(select(ScreeningDismissal)).one()
        assert shown_subject(dismissal, reader) == "Ayşe Yılmaz"
        with only_new.test_request_context():
            user = find_user(session, "merchant", PORTAL.upper())
        assert isinstance(user, MerchantUser) and account_email(user) == PORTAL
    only_new.extensions["kyb.engine"].dispose()
