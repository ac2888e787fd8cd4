"""Identifiers in screening through the application (issue #12, R-D2, R-D7): an owner whose
national id is on a sanctions list is a strong hit whatever name they apply under, compared
through ``national_id_index`` (the id is stored sealed with that blind index, never
shown); a merchant's tax number on a list is the same; each hit explains the identifier feature."""

from __future__ import annotations

import datetime as dt
import json

from app.audit.trail import Actor
from app.models import Assessment, Merchant
from app.services.screening import import_list
from tests.factories import TCKN, VKN, application
from tests.sealed_support import opened

NOW = dt.datetime(2026, 11, 27, 10, tzinfo=dt.UTC)
LISTED = [
    {"id": "per-1", "schema": "Person", "caption": "Mehmet Karaca",
     "properties": {"name": ["Mehmet Karaca"], "idNumber": [TCKN[2]], "topics": ["sanction"]}},
    {"id": "com-1", "schema": "Company", "caption": "Kara Deniz Holding",
     "properties": {"name": ["Kara Deniz Holding"], "taxNumber": [VKN],
                    "topics": ["sanction"]}},
]


def _load(session, tmp_path) -> None:
    path = tmp_path / "listed.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in LISTED), encoding="utf-8")
    import_list(session, paths=[path], kind="sanctions", name="Test sanctions",
                actor=Actor("cli"), now=NOW)
    session.commit()


def _screening(db_session, merchant_id: str) -> tuple[dict, str]:
    db_session.expire_all()
    merchant = db_session.get(Merchant, merchant_id)
    latest = db_session.get(Assessment, merchant.latest_assessment_id)
    full = opened(latest)
    check = next(c for c in full.checks if c["code"] == "sanctions_pep")
    stored = json.dumps(full.checks) + json.dumps(full.input_snapshot, default=str)
    db_session.rollback()
    return check, stored


def test_an_owners_listed_national_id_is_a_strong_hit_under_any_name(app, api, db_session,
                                                                      tmp_path):
    from app.jobs import run_queued_jobs
    _load(db_session, tmp_path)
    body = application(owners=[{"full_name": "Ayşe Yılmaz", "national_id": TCKN[2],
                                "birth_date": "1984-05-02", "nationality": "TR",
                                "share_pct": "60", "role": "owner"}])
    created = api.post("/api/v1/merchants", json=body)
    assert created.status_code == 201, created.get_json()
    run_queued_jobs(app)
    check, stored = _screening(db_session, created.get_json()["id"])
    assert check["status"] == "fail"
    strong = {(h["entry_id"], h["subject_role"]): h for h in check["evidence"]["strong"]}
    owner = strong["per-1", "owner"]
    assert (owner["subject"], owner["subject_role"], owner["identifier_match"]) == (
        "Ayşe Yılmaz", "owner", True)
    assert owner["explanation"]["method"] == "identifier"
    assert "national id is on the list entry" in owner["explanation"]["identifier"]
    company = strong["com-1", "legal_name"]
    assert company["identifier_match"] is True and ("com-1", "trade_name") in strong
    assert company["explanation"]["identifier"] == f"identifier {VKN} is on the list entry"
    assert TCKN[2] not in stored  # the national id is compared as a hash, never kept in clear


def test_an_owner_with_another_national_id_is_not_a_hit_by_identifier(app, api, db_session,
                                                                        tmp_path):
    from app.jobs import run_queued_jobs
    _load(db_session, tmp_path)
    created = api.post("/api/v1/merchants", json=application(tax_id="4567890128"))
    assert created.status_code == 201, created.get_json()
    run_queued_jobs(app)
    check, _ = _screening(db_session, created.get_json()["id"])
    # "unknown", not "pass": no PEP list is loaded in this test.
    assert (check["evidence"]["strong"], check["evidence"]["possible"]) == ([], [])
