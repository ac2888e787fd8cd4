"""For tests that run a real ``kybgate serve``: the venv's scripts folder, and a bearer token
with scope ``verify`` for a new OAuth client made with the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent


def verify_bearer(base: str, env: dict[str, str]) -> str:
    """An access token (scope ``verify``) from the server at ``base``, for a client that
    ``kybgate clients create`` makes in the database ``env`` names."""
    out = subprocess.run([str(BIN / "kybgate"), "clients", "create", "--name", "gateway",  # noqa: S603
                          "--scopes", "verify", "--json"], env=env, capture_output=True,
                         text=True, check=True, timeout=60).stdout
    creds = json.loads(out)
    resp = httpx.post(f"{base}/oauth/token", data={"grant_type": "client_credentials"},
                      auth=(creds["client_id"], creds["client_secret"]), timeout=5)
    return resp.json()["access_token"]
