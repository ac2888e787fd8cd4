# ruff: noqa: F811 - pytest fixtures imported from tests.world are test arguments
"""``/api/v1/merchants/{id}/assessments`` and the re-assessment a data change triggers."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlmodel import select

from app.models import Assessment, Merchant, Notification
from app.services import hooks
from checks.policy import POLICY_DIR
from tests.factories import application
from tests.world import frozen, lookup_world, settings, world_app  # noqa: F401

IBANS = ["TR960006100000000000000001", "TR690006100000000000000002",
         "TR420006100000000000000003", "TR150006100000000000000004"]


@pytest.fixture(autouse=True)
def _frozen_first(frozen):
    """Freeze the clock before the API client gets its token."""
    return frozen


@pytest.fixture
def merchant_id(world_app, api, lookup_world) -> str:
    body = application(website=lookup_world.site(), email="finans@anadolucicek.com.tr")
    resp = api.post("/api/v1/merchants", json=body)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["id"]


def _assess(api, merchant_id: str) -> dict:
    resp = api.post(f"/api/v1/merchants/{merchant_id}/assessments")
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def _check(body: dict, code: str) -> dict:
    return next(c for c in body["checks"] if c["code"] == code)


def test_assessment_sets_the_merchant_tier_and_latest_id(api, merchant_id):
    body = _assess(api, merchant_id)
    merchant = api.get(f"/api/v1/merchants/{merchant_id}").get_json()
    assert merchant["tier"] == body["tier"]
    assert merchant["latest_assessment_id"] == body["id"]
    assert 0 <= body["score"] <= 100


def test_unknown_merchant_is_404_problem(frozen, world_app, api):
    resp = api.post("/api/v1/merchants/mer_nope/assessments")
    assert resp.status_code == 404
    assert resp.mimetype == "application/problem+json"
    assert api.get("/api/v1/merchants/mer_nope/assessments/latest").status_code == 404


def test_latest_before_any_assessment_is_404(api, merchant_id):
    resp = api.get(f"/api/v1/merchants/{merchant_id}/assessments/latest")
    assert resp.status_code == 404
    assert "not been assessed" in resp.get_json()["detail"]


def test_assessing_needs_the_merchants_write_scope(make_api, merchant_id):
    reader = make_api("merchants:read")
    resp = reader.post(f"/api/v1/merchants/{merchant_id}/assessments")
    assert resp.status_code == 403
    assert resp.get_json()["required_scope"] == "merchants:write"


def test_openapi_documents_the_assessment_endpoints(world_app, client):
    doc = client.get("/api/v1/openapi.json").get_json()
    post = doc["paths"]["/api/v1/merchants/{merchant_id}/assessments"]["post"]
    assert "201" in post["responses"]
    assert "/api/v1/merchants/{merchant_id}/assessments/latest" in doc["paths"]


def _change_iban(api, merchant_id: str, iban: str):
    resp = api.patch(f"/api/v1/merchants/{merchant_id}",
                     json={"iban": iban, "reason": "new payout bank"})
    assert resp.status_code == 200, resp.get_json()
    return api.get(f"/api/v1/merchants/{merchant_id}/assessments/latest").get_json()


def test_iban_changes_re_assess_and_flag_at_the_third_in_90_days(
        api, merchant_id, frozen, db_session, lookup_world):
    first = _assess(api, merchant_id)
    website_hits = len(lookup_world.website.requests)
    after_one = _change_iban(api, merchant_id, IBANS[0])
    frozen.tick(dt.timedelta(minutes=10))
    after_two = _change_iban(api, merchant_id, IBANS[1])
    assert after_one["id"] != first["id"] and after_two["id"] != after_one["id"]
    assert _check(after_two, "iban_change_frequency")["status"] == "pass"
    frozen.tick(dt.timedelta(minutes=10))
    after_three = _change_iban(api, merchant_id, IBANS[2])
    check = _check(after_three, "iban_change_frequency")
    assert check["status"] == "flag", check
    # the IBAN checks re-ran without fetching the website again (R-D1: affected checks only)
    assert len(lookup_world.website.requests) == website_hits
    stored = db_session.get(Assessment, after_three["id"])
    assert stored.trigger == "change:iban"
    notes = db_session.exec(select(Notification).where(
        Notification.merchant_id == merchant_id).order_by(Notification.created_at)).all()
    last = notes[-1].payload["changes"][0]
    assert (last["field"], last["old"], last["new"]) == ("iban", IBANS[1], IBANS[2])
    assert IBANS[1] in notes[-1].body and IBANS[2] in notes[-1].body


def test_a_change_of_a_merchant_never_assessed_does_not_assess_it(api, merchant_id):
    _change_iban_resp = api.patch(f"/api/v1/merchants/{merchant_id}",
                                  json={"iban": IBANS[0], "reason": "new payout bank"})
    assert _change_iban_resp.status_code == 200
    assert api.get(f"/api/v1/merchants/{merchant_id}/assessments/latest").status_code == 404


def test_a_tier_change_fires_the_tier_hook(api, merchant_id, db_session):
    seen = []

    def listener(session, *, merchant, old_tier, new_tier, assessment, actor, now):
        seen.append((merchant.id, old_tier, new_tier, assessment.id))

    hooks.on_tier_changed(listener)
    try:
        first = _assess(api, merchant_id)
        api.post("/api/v1/blacklist", json={"kind": "iban", "value": IBANS[3],
                                            "reason": "mule account"})
        api.patch(f"/api/v1/merchants/{merchant_id}",
                  json={"iban": IBANS[3], "reason": "new payout bank"})
    finally:
        hooks._on_tier.remove(listener)
    latest = api.get(f"/api/v1/merchants/{merchant_id}/assessments/latest").get_json()
    assert _check(latest, "blacklist")["status"] == "fail"
    assert latest["tier"] == "high" and latest["recommended_action"] == "reject"
    assert seen[0] == (merchant_id, None, first["tier"], first["id"])
    assert seen[-1] == (merchant_id, first["tier"], "high", latest["id"])
    assert db_session.get(Merchant, merchant_id).tier == "high"


def test_cli_replay_says_identical(world_app, api, merchant_id):
    body = _assess(api, merchant_id)
    result = world_app.test_cli_runner().invoke(args=["assess", "--replay", body["id"],
                                                      "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["identical"] is True


def test_policy_diff_reports_merchants_a_stricter_draft_would_move(world_app, api, merchant_id,
                                                                  tmp_path):
    body = _assess(api, merchant_id)
    assert body["tier"] == "low"
    text = (POLICY_DIR / "kyb-2026.11.2.toml").read_text(encoding="utf-8")
    draft = tmp_path / "kyb-2026.12.0-draft.toml"
    draft.write_text(text.replace('version = "kyb-2026.11.2"', 'version = "kyb-2026.12.0"')
                     .replace("medium_from = 25", "medium_from = 1"), encoding="utf-8")
    result = world_app.test_cli_runner().invoke(args=["policy", "diff", str(draft), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    if body["score"] >= 1:
        assert report["changed"] == 1 and report["moves"] == {"low->medium": 1}
        assert report["changes"][0]["merchant_id"] == merchant_id
    same = world_app.test_cli_runner().invoke(
        args=["policy", "diff", str(POLICY_DIR / "kyb-2026.11.2.toml")])
    assert "0 of 1 merchants would change" in same.output


def test_cli_assess_prints_every_check(world_app, api, merchant_id):
    result = world_app.test_cli_runner().invoke(args=["assess", merchant_id])
    assert result.exit_code == 0, result.output
    assert "domain_age:" in result.output and "recommended action" in result.output
    usage = world_app.test_cli_runner().invoke(args=["assess"])
    assert usage.exit_code == 2 and "exactly one of" in usage.output
