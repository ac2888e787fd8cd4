"""Test helpers for merchant API keys: an approved merchant, a staff approver, a key."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyotp

from app.models import Merchant, StaffUser
from tests.factories import application

CLIENT_IP = "93.184.216.34"
WHITELIST = ["93.184.216.0/24", "2a00:1450:4001::/48"]
SITE = "https://anadolucicek.com.tr"
APPROVER = "ayse@bank.example"
APPROVER_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # every test approver's authenticator


def approved_merchant(api, db_session, **overrides: Any) -> str:
    """Submit an application and mark the merchant approved (low tier); return its id."""
    resp = api.post("/api/v1/merchants", json=application(**overrides))
    assert resp.status_code == 201, resp.get_json()
    merchant = db_session.get(Merchant, resp.get_json()["id"])
    merchant.status, merchant.tier = "approved", "low"
    db_session.add(merchant)
    db_session.commit()
    return merchant.id


def add_approver(db_session, email: str = APPROVER, role: str = "approver") -> str:
    """A staff user who may sign off wide ranges."""
    db_session.add(StaffUser(email=email, role=role, password_hash="x",  # noqa: S106
                             totp_secret=APPROVER_TOTP_SECRET))
    db_session.commit()
    return email


def approver_proof(email: str = APPROVER, *, step: int = 0) -> dict[str, str]:
    """``approver`` with their current authenticator code (``approver_otp``). A code works
    once: a second action in the same 30 s passes ``step=1`` (the next code, within the
    drift the server allows)."""
    at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30 * step)
    return {"approver": email, "approver_otp": pyotp.TOTP(APPROVER_TOTP_SECRET).at(at)}


def key_body(**overrides: Any) -> dict[str, Any]:
    """A valid ``POST /merchants/{id}/keys`` body for a live key."""
    body: dict[str, Any] = {"name": "checkout", "environment": "live",
                            "ip_whitelist": list(WHITELIST), "back_urls": [SITE]}
    body.update(overrides)
    return body


def issue(api, merchant_id: str, **overrides: Any) -> dict[str, Any]:
    """Issue a key through the API and return the 201 body (with the token)."""
    resp = api.post(f"/api/v1/merchants/{merchant_id}/keys", json=key_body(**overrides))
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def verify(api, token: str, **overrides: Any) -> dict[str, Any]:
    """``POST /api/v1/verify`` for ``token`` from the whitelisted IP and site."""
    body: dict[str, Any] = {"token": token, "client_ip": CLIENT_IP, "origin": SITE}
    body.update({k: v for k, v in overrides.items() if v is not None})
    for name in [k for k, v in overrides.items() if v is None]:
        body.pop(name, None)
    resp = api.post("/api/v1/verify", json=body)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()
