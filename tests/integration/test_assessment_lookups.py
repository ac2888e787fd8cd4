# ruff: noqa: F811 - pytest fixtures imported from tests.world are test arguments
"""A full assessment against real local RDAP, WHOIS, DNS and HTTPS website servers, through
the API with frozen time, and what happens when those servers are down."""

from __future__ import annotations

import datetime as dt

import pytest

from app.audit.trail import Actor
from app.config import Settings
from app.models import Assessment, Merchant
from app.services.assessments import active_policy, assess_merchant, replay
from app.services.facts import LookupSources
from checks.policy import load_policy
from tests.factories import application
from tests.sealed_support import checks_of
from tests.world import (  # noqa: F401 - fixtures
    FROZEN_NOW,
    WHOIS_DOMAIN,
    YOUNG_DOMAIN,
    frozen,
    lookup_world,
    settings,
    world_app,
)

ALL_CHECKS = {"domain_age", "domain_dns", "iban_valid", "iban_change_frequency",
              "shared_ownership", "price_ticket_mismatch", "new_merchant_turnover",
              "sanctions_pep", "high_risk_country", "disposable_email", "blacklist"}
NOW = dt.datetime.fromisoformat(FROZEN_NOW)


def _apply(api, lookup_world, domain="anadolucicek.com.tr", **overrides):
    body = application(website=lookup_world.site(domain), email=f"finans@{domain}",
                       **overrides)
    resp = api.post("/api/v1/merchants", json=body)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["id"]


def _checks(body):
    return {c["code"]: c for c in body["checks"]}


def test_full_assessment_runs_every_check_on_real_lookups(frozen, world_app, api, lookup_world,
                                                          no_internet):
    merchant_id = _apply(api, lookup_world)
    resp = api.post(f"/api/v1/merchants/{merchant_id}/assessments")
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert set(body) == {"id", "merchant_id", "policy_version", "score", "tier",
                         "recommended_action", "checks", "created_at", "trigger", "expires_at"}
    checks = _checks(body)
    assert set(checks) == ALL_CHECKS
    for check in checks.values():
        assert check["explanation"] and check["evidence"]["policy"]["version"] == \
            body["policy_version"]
    assert checks["domain_age"]["status"] == "pass"
    assert checks["domain_age"]["evidence"]["source"] == "rdap"
    assert checks["domain_age"]["evidence"]["age_days"] == (NOW.date() - dt.date(2019, 3, 20)).days
    assert checks["domain_dns"]["status"] == "pass", checks["domain_dns"]
    prices = checks["price_ticket_mismatch"]["evidence"]["prices"]
    assert {"source": "website:jsonld", "amount": "450.00", "currency": "TRY",
            "amount_try": "450.00"} in prices
    assert checks["sanctions_pep"]["status"] == "unknown"  # no list loaded yet
    assert body["created_at"].startswith("2026-11-25T10:00:00")
    latest = api.get(f"/api/v1/merchants/{merchant_id}/assessments/latest").get_json()
    assert latest == body
    assert lookup_world.rdap.requests and lookup_world.website.requests


def test_young_domain_flags_and_whois_is_the_fallback(frozen, world_app, api, lookup_world,
                                                     no_internet):
    young = _apply(api, lookup_world, YOUNG_DOMAIN)
    old = _apply(api, lookup_world, WHOIS_DOMAIN,
                 owners=[application()["owners"][1]], iban="TR320010009999901234567890")
    young_checks = _checks(api.post(f"/api/v1/merchants/{young}/assessments").get_json())
    old_checks = _checks(api.post(f"/api/v1/merchants/{old}/assessments").get_json())
    assert young_checks["domain_age"]["status"] == "flag"
    assert young_checks["domain_age"]["evidence"]["age_days"] == 30
    assert old_checks["domain_age"]["status"] == "pass"
    assert old_checks["domain_age"]["evidence"]["source"] == "whois"


@pytest.fixture
def dead_settings(settings: Settings, lookup_world) -> Settings:
    """Every lookup pointed at a closed port or a silent name server."""
    lookup_world.dns.silent = {d for d in lookup_world.dns.zones}
    return settings.replace(whois_server="127.0.0.1:1")


def test_lookups_of_servers_that_are_down_give_unknown_never_pass(
        world_app, db_session, api, lookup_world, dead_settings, no_internet):
    merchant_id = _apply(api, lookup_world)
    lookup_world.rdap.stop()
    lookup_world.website.stop()
    sources = LookupSources.from_settings(dead_settings, timeout=3,
                                          website_verify=lookup_world.ca_context)
    merchant = db_session.get(Merchant, merchant_id)
    row = assess_merchant(db_session, merchant=merchant, actor=Actor("test"), now=NOW,
                          trigger="test", sources=sources, index=None,
                          policy=active_policy())
    checks = {c["code"]: c for c in checks_of(row)}
    assert checks["domain_age"]["status"] == "unknown"
    assert "rdap" in checks["domain_age"]["explanation"].lower() or \
        checks["domain_age"]["evidence"].get("error")
    assert checks["domain_dns"]["status"] == "unknown"
    assert row.input_snapshot["facts"]["website_prices"]["error"]
    assert all(c["status"] != "pass" for code, c in checks.items()
               if code in {"domain_age", "domain_dns", "sanctions_pep"})


def test_a_lookup_slower_than_its_time_limit_is_cut_off(world_app, db_session, api,
                                                        lookup_world, settings):
    merchant_id = _apply(api, lookup_world)
    lookup_world.dns.silent = {d for d in lookup_world.dns.zones}
    sources = LookupSources.from_settings(settings.replace(whois_server="127.0.0.1:1"),
                                          timeout=1.5, website_verify=lookup_world.ca_context)
    started = dt.datetime.now(dt.UTC)
    row = assess_merchant(db_session, merchant=db_session.get(Merchant, merchant_id),
                          actor=Actor("test"), now=NOW, trigger="test", sources=sources,
                          index=None, policy=active_policy())
    assert (dt.datetime.now(dt.UTC) - started).total_seconds() < 6
    checks = {c["code"]: c for c in row.checks}
    assert checks["domain_dns"]["status"] == "unknown"


def test_replay_of_a_stored_assessment_is_identical(frozen, world_app, db_session, api,
                                                    lookup_world):
    merchant_id = _apply(api, lookup_world)
    created = api.post(f"/api/v1/merchants/{merchant_id}/assessments").get_json()
    stored = db_session.get(Assessment, created["id"])
    report = replay(stored)
    assert report.identical, report.differences
    assert stored.policy_digest == load_policy().digest


def test_replay_notices_a_tampered_snapshot(frozen, world_app, db_session, api, lookup_world):
    merchant_id = _apply(api, lookup_world)
    created = api.post(f"/api/v1/merchants/{merchant_id}/assessments").get_json()
    stored = db_session.get(Assessment, created["id"])
    snapshot = dict(stored.input_snapshot)
    snapshot["facts"] = {**snapshot["facts"], "country": "IR"}
    stored.input_snapshot = snapshot
    report = replay(stored)
    assert not report.identical
    assert "checks differ: high_risk_country" in report.differences
    assert "tier: stored 'low', recomputed 'high'" in report.differences
