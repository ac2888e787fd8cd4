"""The key pages say the state as it is (issue #11, R-E7, R-B1): a new live key is "not yet
active" with the local time it starts working, never ``pending_activation``; a wide range
waiting for approval is marked as not in force; the create-key hint does not offer a
documentation address as if live keys took it."""

from __future__ import annotations

import pytest
from sqlmodel import select

from app.models import ApiKey
from tests.functional.portal.test_keys import create_key

LIVE = {"environment": "live", "ip_whitelist": "85.105.0.0/16\n85.106.1.7"}


@pytest.mark.parametrize("lang,state,sentence,pending", [
    ("en", "not yet active", "This key starts working at 3/2/26, 12:1",
     "waiting for our approval, not in force yet"),
    ("tr", "henüz etkin değil", "Bu anahtar 2.03.2026 12:1",
     "onayımızı bekliyor, henüz geçerli değil"),
])
def test_a_new_live_key_says_when_it_starts_and_which_ranges_wait(approved_user, db_session,
                                                                   lang, state, sentence,
                                                                   pending):
    user = approved_user("a@shop.example")
    resp, token = create_key(user, **LIVE)
    assert resp.status_code == 201 and token
    key = db_session.exec(select(ApiKey)).one()
    db_session.commit()
    page = user.get(f"/portal/keys/{key.id}?lang={lang}").get_data(True)
    assert "pending_activation" not in page
    assert state in page and sentence in page
    assert f'<span class="pending-range">85.105.0.0/16 <small class="hint">({pending})' in page
    assert "<span>85.106.1.7/32</span>" in page
    listing = user.get("/portal/keys").get_data(True)
    assert f"85.105.0.0/16 <small class=\"hint\">({pending})" in listing
    assert "pending_activation" not in listing


def test_the_create_key_hint_offers_no_documentation_address_for_live_keys(approved_user):
    user = approved_user("a@shop.example")
    page = user.get("/portal/keys/new").get_data(True)
    assert "e.g. 203.0.113.10" not in page
    assert "documentation addresses such as 10.0.0.5 or 203.0.113.10 work only with test keys" \
        in page
