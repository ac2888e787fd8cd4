"""``/favicon.ico`` is served (issue #11): browsers ask for it on every first visit, and a 404
there fills the logs and shows a blank tab."""

from __future__ import annotations

from pathlib import Path

import app as app_package

ICON = Path(app_package.__file__).parent / "static" / "favicon.ico"


def test_favicon_is_the_static_icon_cached_a_day(client):
    resp = client.get("/favicon.ico")
    assert resp.status_code == 200
    assert resp.mimetype == "image/vnd.microsoft.icon"
    assert resp.data == ICON.read_bytes()
    assert resp.data[:4] == b"\x00\x00\x01\x00"  # an ICO file header
    assert "max-age=86400" in resp.headers["Cache-Control"]
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


def test_favicon_needs_no_login_and_no_session_cookie(client):
    resp = client.get("/favicon.ico")
    assert resp.status_code == 200
    assert "Set-Cookie" not in resp.headers
