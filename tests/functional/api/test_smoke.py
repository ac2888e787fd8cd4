"""A first pass through the merchants API."""

from tests.factories import application


def test_application_is_stored_and_returned_exactly(api):
    resp = api.post("/api/v1/merchants", json=application())
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["status"] == "applied"
    assert body["legal_name"] == "Anadolu Çiçekçilik Ticaret Limited Şirketi"
    got = api.get(f"/api/v1/merchants/{body['id']}").get_json()
    assert got["owners"][1]["full_name"] == "İsmail Kılıç"
    assert got["owners"][0]["national_id_masked"] == "*******0146"
