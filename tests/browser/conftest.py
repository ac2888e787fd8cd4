"""Browser tests: a real kybgate server (werkzeug, in a thread, on 127.0.0.1) over a migrated
temporary SQLite database with the demo loaded, driven by Debian's Chromium through Playwright.

Never ``playwright install``: the tests use ``/usr/bin/chromium`` (``KYB_CHROMIUM`` overrides).
Screenshots of the main pages go to ``docs/screenshots/`` when ``KYB_SCREENSHOTS=1``.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlmodel import Session, select
from werkzeug.serving import make_server

from app import create_app
from app.config import Settings
from app.db import utcnow
from app.demo.loader import load_demo
from app.migrate import upgrade
from app.models import Merchant
from app.security import Keyring
from tests.conftest import TEST_DATA_KEYS, TEST_PEPPER
from tests.functional.staff.conftest import Staff, create_staff, seed_assessment

CHROMIUM = os.environ.get("KYB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
# Refresh the committed screenshots with KYB_SCREENSHOTS=1; otherwise they go to a scratch
# directory so that a test run does not rewrite tracked files.
SCREENSHOTS = (Path(__file__).resolve().parents[2] / "docs" / "screenshots"
               if os.environ.get("KYB_SCREENSHOTS") == "1"
               else Path(tempfile.gettempdir()) / "kybgate-screenshots")
# The console must work at 1280 px (issue #11); the screenshots are taken at that width.
VIEWPORT = {"width": 1280, "height": 900}


@dataclass
class LiveServer:
    """A running kybgate with its app (for CLI and database access) and base URL."""

    app: object
    url: str
    staff: dict[str, Staff]

    def session(self) -> Session:
        return Session(self.app.extensions["kyb.engine"], expire_on_commit=False)


def _seed(app) -> None:
    settings = app.extensions["kyb.settings"]
    keyring = Keyring(settings.token_peppers, settings.token_pepper_version)
    with Session(app.extensions["kyb.engine"], expire_on_commit=False) as session:
        load_demo(session, keyring=keyring, now=utcnow())
        merchants = session.exec(select(Merchant).order_by(Merchant.created_at)).all()
        for i, merchant in enumerate(merchants):
            if merchant.status == "applied":
                seed_assessment(session, merchant, tier=("high", "medium", "low")[i % 3],
                                score=(85, 45, 15)[i % 3])
        session.commit()


def _full_demo(app) -> None:
    """The demo a newcomer gets from ``kybgate demo``: merchants assessed through the sandbox
    Internet against the sample sanctions lists (real evidence), decided by demo staff, with API
    traffic and monitoring alerts. A test module asks for it with ``FULL_DEMO = True``."""
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def live_server(request, tmp_path_factory) -> Iterator[LiveServer]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    tmp = tmp_path_factory.mktemp("live")
    url = f"sqlite:///{tmp}/kyb.db"
    upgrade(url)
    settings = Settings.from_env({
        "KYB_ENV": "testing", "KYB_DATABASE_URL": url, "KYB_TOKEN_PEPPER": TEST_PEPPER,
        "KYB_DATA_KEYS": TEST_DATA_KEYS,
        "KYB_SECRET_KEY": "browser-test-secret-key-0123456789abcdef",
        "KYB_INSTANCE_PATH": str(tmp / "instance")})
    app = create_app({}, settings=settings)
    if getattr(request.module, "FULL_DEMO", False):
        _full_demo(app)
    else:
        _seed(app)
    staff = {name: create_staff(app, f"{name}@bank.example", role) for name, role in
             (("ayse", "approver"), ("mehmet", "approver"), ("deniz", "analyst"))}
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveServer(app, f"http://127.0.0.1:{server.server_port}", staff)
    finally:
        server.shutdown()
        app.extensions["kyb.engine"].dispose()


@pytest.fixture(scope="module")
def browser(live_server):
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser):
    ctx = browser.new_context(viewport=VIEWPORT, locale="en-GB")
    yield ctx
    ctx.close()


def screenshot(page, name: str, full_page: bool = True) -> None:
    """Save ``docs/screenshots/<name>.png``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)
