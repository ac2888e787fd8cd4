"""``Idempotency-Key`` on ``POST /api/v1/merchants``: a retried write replays the first answer
and stores nothing new; the same key with another body is refused."""

from __future__ import annotations

from tests.factories import application

URL = "/api/v1/merchants"


def test_same_key_and_body_replays_the_first_response(api, stored):
    headers = {"Idempotency-Key": "crm-retry-0001"}
    first = api.post(URL, json=application(), headers=headers)
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first.headers
    after_first = stored()
    second = api.post(URL, json=application(), headers=headers)
    assert second.status_code == 201
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.get_json()["id"] == first.get_json()["id"]
    assert second.get_json() == first.get_json()
    assert stored() == after_first
    assert after_first[0] == 1


def test_same_key_and_body_with_keys_reordered_is_still_a_replay(api, stored):
    headers = {"Idempotency-Key": "crm-retry-0002"}
    body = application()
    first = api.post(URL, json=body, headers=headers)
    reordered = dict(reversed(list(body.items())))
    second = api.post(URL, json=reordered, headers=headers)
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert second.get_json()["id"] == first.get_json()["id"]
    assert stored()[0] == 1


def test_same_key_with_another_body_is_422_and_stores_nothing(api, stored):
    headers = {"Idempotency-Key": "crm-retry-0003"}
    assert api.post(URL, json=application(), headers=headers).status_code == 201
    before = stored()
    resp = api.post(URL, json=application(trade_name="Başka Çiçek"), headers=headers)
    assert resp.status_code == 422
    assert resp.mimetype == "application/problem+json"
    assert [e["field"] for e in resp.get_json()["errors"]] == ["Idempotency-Key"]
    assert stored() == before


def test_without_a_key_each_post_creates_a_merchant(api, stored):
    ids = {api.post(URL, json=application()).get_json()["id"] for _ in range(2)}
    assert len(ids) == 2
    assert stored()[0] == 2


def test_keys_are_scoped_to_the_client(make_api, stored):
    scopes = "merchants:read merchants:write"
    one, two = make_api(scopes), make_api(scopes)
    headers = {"Idempotency-Key": "shared-key"}
    a = one.post(URL, json=application(), headers=headers)
    b = two.post(URL, json=application(), headers=headers)
    assert a.status_code == b.status_code == 201
    assert "Idempotent-Replayed" not in b.headers
    assert a.get_json()["id"] != b.get_json()["id"]
    assert stored()[0] == 2


def test_an_overlong_idempotency_key_is_422(api, stored):
    before = stored()
    resp = api.post(URL, json=application(), headers={"Idempotency-Key": "k" * 201})
    assert resp.status_code == 422
    assert [e["field"] for e in resp.get_json()["errors"]] == ["Idempotency-Key"]
    assert stored() == before
