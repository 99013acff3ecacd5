"""The HTTP edge through the local server (`make run`, CORS_ORIGINS set by the test fixture): HEAD,
conditional GET, CORS preflight and headers, ids in another spelling, on real connections."""

from __future__ import annotations

import json
import uuid

import requests

from tests.support import LOCAL_CORS_ORIGINS, assert_problem, connection, device_body

ORIGIN = LOCAL_CORS_ORIGINS[1]


def register(api) -> dict:
    created = api.post("/devices", data=device_body(), headers={"Content-Type": "application/json"})
    assert created.status_code == 201
    return created.json()


def test_head_answers_with_gets_headers_and_the_connection_stays_in_step(api, local_server):
    device = register(api)
    path = f"/devices/{device['id']}"
    with connection(local_server) as client:
        client.send(client.request("HEAD", path) + client.request("GET", path))
        head, get = client.answer(head=True), client.answer()
        assert head is not None and get is not None
        assert (head.status, head.body, head.headers["ETag"]) == (200, b"", '"1"')
        assert get.status == 200 and json.loads(get.body) == device
        assert head.headers["Content-Type"] == get.headers["Content-Type"]


def test_head_where_there_is_no_get_is_405_listing_what_is_allowed(api):
    response = api.head(f"/devices/{uuid.uuid4()}/revert")
    assert response.status_code == 405 and response.headers["Allow"] == "POST" and response.content == b""


def test_if_none_match_is_304_and_the_next_request_on_the_connection_is_answered(api, local_server):
    device = register(api)
    path = f"/devices/{device['id']}"
    with connection(local_server) as client:
        client.send(
            client.request("GET", path, headers=('If-None-Match: "1"',))
            + client.request("GET", f"{path}/status", headers=('If-None-Match: "9"',))
        )
        unchanged, status = client.answer(), client.answer()
        assert unchanged is not None and status is not None
        assert (unchanged.status, unchanged.body, unchanged.headers["ETag"]) == (304, b"", '"1"')
        assert status.status == 200 and json.loads(status.body)["status"] == "unknown"
    api.patch(path, json={"location": "Moved"})
    assert api.get(path, headers={"If-None-Match": '"1"'}).status_code == 200


def test_preflight_for_an_allowed_origin(api):
    response = api.options(
        f"/devices/{uuid.uuid4()}",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "authorization, content-type, if-match",
        },
    )
    assert response.status_code == 204 and response.content == b""
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert response.headers["Access-Control-Allow-Methods"] == "DELETE, GET, HEAD, PATCH"
    allowed = {h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type", "if-match", "if-none-match", "idempotency-key"} <= allowed
    assert int(response.headers["Access-Control-Max-Age"]) > 0


def test_preflight_for_another_origin_says_nothing(api):
    response = api.options(
        "/devices", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    )
    assert response.status_code == 204
    assert not [name for name in response.headers if name.lower().startswith("access-control")]


def test_every_answer_to_an_allowed_origin_carries_cors_headers(api):
    device = register(api)
    answers = [
        api.get(f"/devices/{device['id']}", headers={"Origin": ORIGIN}),
        api.post("/devices", json={"name": ""}, headers={"Origin": ORIGIN}),
        api.get("/nowhere", headers={"Origin": ORIGIN}),
        api.put("/devices", headers={"Origin": ORIGIN}),
    ]
    assert [answer.status_code for answer in answers] == [200, 422, 404, 405]
    for answer in answers:
        assert answer.headers["Access-Control-Allow-Origin"] == ORIGIN
        assert "ETag" in answer.headers["Access-Control-Expose-Headers"]
    other = api.get(f"/devices/{device['id']}", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers and other.headers["Vary"] == "Origin"


def test_the_docs_work_from_their_own_origin(local_server):
    page = requests.get(f"{local_server}/swagger", timeout=30)
    document = requests.get(f"{local_server}/swagger?format=json", headers={"Origin": local_server}, timeout=30)
    assert page.status_code == 200 and document.status_code == 200 and document.json()["paths"]


def test_an_id_with_percent_encoded_hyphens_is_the_same_device(api):
    device = register(api)
    spelled = device["id"].replace("-", "%2D")
    assert api.get(f"/devices/{spelled}").json() == device
    assert api.put(f"/devices/{spelled}/status", json={"status": "online"}).json()["device_id"] == device["id"]
    assert_problem(api.get(f"/devices/%7B{device['id']}%7D"), 422)
