def test_registered_device_is_read_back_in_canonical_form(invoke, make_device):
    created = make_device(mac_address="00-1A-2B-3C-4D-5E", ip_address="2001:DB8::0:1")
    response = invoke("get_device", f"/devices/{created['id']}")
    assert response["statusCode"] == 200
    assert response["json"]["mac_address"] == "00:1a:2b:3c:4d:5e"
    assert response["json"]["ip_address"] == "2001:db8::1"
    assert response["headers"]["ETag"] == '"1"'


def test_local_server_serves_the_swagger_document(api):
    response = api.get("/swagger?format=json")
    assert response.status_code == 200
    assert "/devices/{device_id}/history/{revision}" in response.json()["paths"]
