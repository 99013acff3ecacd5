"""Device credentials through the local server, as a device and an operator use them over HTTP:
the device routes act on the credential's own device with the operator routes' bodies and answers,
every refusal is the same 401, and a device credential opens no operator route."""

from __future__ import annotations

import re
import secrets
from typing import Any

import pytest

from registry.http.routes import COGNITO, ROUTES


@pytest.fixture
def device(api: Any) -> dict[str, Any]:
    """A device of its own on the session's local server (a random MAC: the server outlives tests)."""
    mac = ":".join(["02", "15", *re.findall("..", secrets.token_hex(4))])
    response = api.post("/devices", json={"name": "Field unit", "device_type": "sensor", "mac_address": mac})
    assert response.status_code == 201, response.text
    return dict(response.json())


def credential(api: Any, device_id: str) -> tuple[str, str]:
    response = api.post(f"/devices/{device_id}/credentials", json={})
    assert response.status_code == 201, response.text
    body = response.json()
    return body["credential_id"], f"Device {body['credential_id']}:{body['secret']}"


def assert_unauthorized(response: Any) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    assert "Device" in [challenge.strip() for challenge in response.headers["WWW-Authenticate"].split(",")]
    assert response.json()["type"].endswith(":unauthorized")


def test_a_device_reads_and_reports_its_own_status_as_the_operator_routes_answer(api, device):
    credential_id, authorization = credential(api, device["id"])
    as_device = {"Authorization": authorization}

    detail = api.get("/device", headers=as_device)
    assert detail.status_code == 200
    assert detail.json() == api.get(f"/devices/{device['id']}").json()
    assert detail.headers["ETag"] == '"1"'

    status = api.get("/device/status", headers=as_device)
    assert (status.status_code, status.json()["status"], status.headers["ETag"]) == (200, "unknown", '"1"')

    reported = api.put("/device/status", headers=as_device, json={"status": "online", "reason": "booted"})
    assert reported.status_code == 200
    assert reported.json() == api.get(f"/devices/{device['id']}/status").json()
    assert reported.headers["ETag"] == '"2"'

    entry = api.get(f"/devices/{device['id']}/history/2").json()
    assert (entry["kind"], entry["changed_by"]) == ("status", f"device:{credential_id}")


def test_a_device_status_report_honours_if_match_and_idempotency_key(api, device):
    _, authorization = credential(api, device["id"])
    as_device = {"Authorization": authorization}

    stale = api.put("/device/status", headers={**as_device, "If-Match": '"7"'}, json={"status": "error"})
    assert stale.status_code == 412

    keyed = {**as_device, "Idempotency-Key": "report-1"}
    first = api.put("/device/status", headers=keyed, json={"status": "maintenance"})
    again = api.put("/device/status", headers=keyed, json={"status": "maintenance"})
    assert first.status_code == again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert api.put("/device/status", headers=keyed, json={"status": "error"}).status_code == 422

    invalid = api.put("/device/status", headers=as_device, json={"status": "sleeping"})
    assert invalid.status_code == 422


def test_last_used_at_shows_the_credential_was_used(api, device):
    credential_id, authorization = credential(api, device["id"])
    api.get("/device", headers={"Authorization": authorization})

    (listed,) = api.get(f"/devices/{device['id']}/credentials").json()["items"]
    assert listed["credential_id"] == credential_id
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", listed["last_used_at"])


def test_a_revoked_credential_and_a_deleted_devices_credential_stop_working_at_once(api, device):
    revoked_id, revoked = credential(api, device["id"])
    _, kept = credential(api, device["id"])
    assert api.get("/device", headers={"Authorization": revoked}).status_code == 200

    assert api.delete(f"/devices/{device['id']}/credentials/{revoked_id}").status_code == 204
    assert_unauthorized(api.get("/device", headers={"Authorization": revoked}))
    assert api.get("/device", headers={"Authorization": kept}).status_code == 200

    assert api.delete(f"/devices/{device['id']}").status_code == 204
    assert_unauthorized(api.put("/device/status", headers={"Authorization": kept}, json={"status": "online"}))


def test_every_refusal_is_the_same_401_whether_or_not_the_credential_id_exists(api, device):
    credential_id, authorization = credential(api, device["id"])
    secret = authorization.rsplit(":", 1)[1]
    wrong_secret = f"Device {credential_id}:{secret[::-1]}"
    unknown_id = f"Device 5f0c3a1e-2b4d-4c6e-8f10-2a3b4c5d6e7f:{secret}"
    answers = [
        api.get("/device/status", headers={"Authorization": value})
        for value in (wrong_secret, unknown_id, "Device nonsense", "Bearer eyJhbGciOi.x.y")
    ]
    answers.append(api.get("/device/status"))

    for answer in answers:
        assert_unauthorized(answer)
    ignored = {"Date", "Connection", "Keep-Alive"}
    shapes = {
        (answer.content, tuple(sorted((k, v) for k, v in answer.headers.items() if k not in ignored)))
        for answer in answers
    }
    assert len(shapes) == 1


OPERATOR_ROUTES = [route for route in ROUTES if route.auth == COGNITO]


def test_a_device_credential_opens_no_operator_route(api, device):
    _, authorization = credential(api, device["id"])
    values = {"device_id": device["id"], "credential_id": "5f0c3a1e-2b4d-4c6e-8f10-2a3b4c5d6e7f"}
    values |= {"revision": "1", "mac": device["mac_address"], "ip": "192.0.2.1"}
    values["job_id"] = "01a2512e-adae-7113-9389-2fda36f474b4"  # any id: the job routes are operator routes too
    before = api.get(f"/devices/{device['id']}").json()

    for route in OPERATOR_ROUTES:
        path = route.path.format(**values)
        response = api.request(route.method, path, headers={"Authorization": authorization}, json={})
        assert_unauthorized(response)

    assert len(OPERATOR_ROUTES) >= 18
    assert api.get(f"/devices/{device['id']}").json() == before
