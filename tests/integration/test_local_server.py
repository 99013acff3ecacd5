"""The local server (`make run`) over real HTTP: every route and every error code of api.md.

The server is one process for the whole session, so each test works on devices of its own
(fresh MAC addresses, a device type of its own) and never assumes an empty registry."""

import itertools
import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import pytest

from tests.support import assert_problem, error_fields

UNKNOWN = "0190f5e2-7a3b-7c1d-9e2f-3a4b5c6d7e8f"
_macs = itertools.count(1)
_RUN = uuid.uuid4().int & 0xFFFF  # the session's server may outlive one test module, never one run


def fresh_mac() -> str:
    n = next(_macs)
    return f"0e:{_RUN >> 8:02x}:{_RUN & 0xFF:02x}:00:{n >> 8:02x}:{n & 0xFF:02x}"


@pytest.fixture
def device_type() -> str:
    return f"type-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def register(api, device_type):
    def register(**fields):
        body = {"name": "Local device", "device_type": device_type, "mac_address": fresh_mac(), **fields}
        response = api.post("/devices", json=body)
        assert response.status_code == 201, response.text
        return response.json()

    return register


def test_register_read_change_and_delete_a_device(api, register):
    mac = fresh_mac()
    created = api.post(
        "/devices", json={"name": " Boiler ", "device_type": "sensor", "mac_address": mac.upper().replace(":", "-")}
    )
    assert created.status_code == 201 and created.headers["Content-Type"] == "application/json"
    device = created.json()
    assert created.headers["Location"] == f"/devices/{device['id']}" and created.headers["ETag"] == '"1"'
    assert (device["name"], device["mac_address"]) == ("Boiler", mac)

    fetched = api.get(created.headers["Location"])
    assert fetched.status_code == 200 and fetched.json() == device and fetched.headers["ETag"] == '"1"'

    patched = api.patch(
        f"/devices/{device['id']}",
        data=json.dumps({"location": "Roof", "ip_address": "2001:DB8::0:1"}),
        headers={"Content-Type": "application/merge-patch+json", "If-Match": '"1"'},
    )
    assert patched.status_code == 200 and patched.headers["ETag"] == '"2"'
    assert (patched.json()["location"], patched.json()["ip_address"]) == ("Roof", "2001:db8::1")

    deleted = api.delete(f"/devices/{device['id']}", headers={"If-Match": '"2"'})
    assert deleted.status_code == 204 and deleted.content == b""
    assert_problem(api.get(f"/devices/{device['id']}"), 404, "device-not-found")
    history = api.get(f"/devices/{device['id']}/history").json()["items"]
    assert [entry["kind"] for entry in history] == ["deleted", "config", "created"]
    assert api.post("/devices", json={"name": "Again", "device_type": "sensor", "mac_address": mac}).status_code == 201


def test_status_is_a_separate_resource(api, register):
    device = register()
    path = f"/devices/{device['id']}/status"
    assert api.get(path).json()["status"] == "unknown"
    put = api.put(path, json={"status": "online", "reason": "boot"})
    assert put.status_code == 200 and put.headers["ETag"] == '"2"'
    assert put.json() == api.get(path).json()
    assert put.json()["device_id"] == device["id"] and put.json()["version"] == 2
    assert "status" not in api.get(f"/devices/{device['id']}").json()
    assert_problem(api.put(path, json={"status": "sleeping"}), 422, "validation-failed")
    assert_problem(api.put(path, json={"status": "offline"}, headers={"If-Match": '"1"'}), 412)


def test_history_filters_and_entry_by_revision(api, register):
    device = register()
    path = f"/devices/{device['id']}"
    api.put(f"{path}/status", json={"status": "online"})
    api.patch(path, json={"location": "Hall"})
    api.put(f"{path}/status", json={"status": "offline"})
    # The first report also records the device reporting (pending -> reporting, revision 3: api.md "Liveness").
    assert [e["revision"] for e in api.get(f"{path}/history").json()["items"]] == [5, 4, 3, 2, 1]
    assert [e["revision"] for e in api.get(f"{path}/history?kind=config&order=asc").json()["items"]] == [1, 4]
    assert [e["revision"] for e in api.get(f"{path}/history?kind=status").json()["items"]] == [5, 2]
    assert [e["revision"] for e in api.get(f"{path}/history?kind=liveness").json()["items"]] == [3]
    fourth = api.get(f"{path}/history/4")
    assert fourth.status_code == 200 and fourth.json()["changes"] == {"location": {"old": None, "new": "Hall"}}
    everything = api.get(f"{path}/history?order=asc").json()["items"]
    at = fourth.json()["at"]  # writes in one millisecond share it: compare with what the history says
    since = api.get(f"{path}/history?since={quote(at)}&order=asc").json()["items"]
    until = api.get(f"{path}/history?until={quote(at)}&order=asc").json()["items"]
    assert since == [e for e in everything if e["at"] >= at] and until == [e for e in everything if e["at"] < at]
    assert 4 in [e["revision"] for e in since] and 4 not in [e["revision"] for e in until]
    first = api.get(f"{path}/history?limit=3").json()
    rest = api.get(f"{path}/history?limit=3&cursor={first['next_cursor']}").json()
    assert [e["revision"] for e in first["items"] + rest["items"]] == [5, 4, 3, 2, 1] and rest["next_cursor"] is None
    assert_problem(api.get(f"{path}/history/9"), 404, "history-entry-not-found")
    assert_problem(api.get(f"{path}/history/zero"), 422)
    assert_problem(api.get(f"/devices/{UNKNOWN}/history"), 404)


def test_list_filters_and_pages(api, register, device_type):
    devices = [register() for _ in range(5)]
    api.put(f"/devices/{devices[1]['id']}/status", json={"status": "error"})
    seen, cursor = [], None
    while True:
        page = api.get("/devices", params={"device_type": device_type, "limit": 2, "cursor": cursor}).json()
        assert len(page["items"]) <= 2
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [device["id"] for device in devices]
    errored = api.get("/devices", params={"device_type": device_type, "status": "error"}).json()["items"]
    assert [item["id"] for item in errored] == [devices[1]["id"]]
    mac = devices[3]["mac_address"].replace(":", "").upper()
    by_mac = api.get("/devices", params={"mac_address": mac}).json()
    assert by_mac["items"] == [
        {
            **{k: devices[3][k] for k in ("id", "name", "device_type", "mac_address")},
            "status": "unknown",
            "liveness": "pending",  # never reported yet
            "last_seen_at": None,
        }
    ]


def _all_pages(api, **filters):
    seen, cursor = [], None
    while True:
        page = api.get("/devices", params={**filters, "limit": 1, "cursor": cursor}).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return seen


def test_fleet_queries_and_tags_over_http(api, register, device_type):
    """Contract v2, "Tags" and "Fleet queries": every filter, AND, any spelling, 422 naming the parameter."""
    site = f"site-{device_type}"  # no other test's device is there
    a = register(name=f"{site}-a", location=site, firmware_version="2.0", ip_address="2001:db8::a", tags=["Prod"])
    b = register(name=f"{site}-b", location=site, firmware_version="1.0", serial_number=f"SN-{site}", tags=["lab"])
    assert a["tags"] == ["prod"]
    assert _all_pages(api, location=site) == [a["id"], b["id"]]
    assert _all_pages(api, firmware_version="2.0", location=site) == [a["id"]]
    assert _all_pages(api, serial_number=f"SN-{site}") == [b["id"]]
    assert _all_pages(api, ip_address="2001:DB8:0::A", location=site) == [a["id"]]
    assert _all_pages(api, tag="PROD", location=site) == [a["id"]]
    assert _all_pages(api, name_prefix=f"{site}-", device_type=device_type, status="unknown") == [a["id"], b["id"]]
    assert _all_pages(api, name_prefix=f"{site}-b") == [b["id"]]
    patched = api.patch(f"/devices/{b['id']}", json={"tags": ["prod"]})
    assert patched.status_code == 200 and patched.json()["tags"] == ["prod"]
    assert _all_pages(api, tag="prod", location=site) == [a["id"], b["id"]]
    assert _all_pages(api, location=site, no_such_filter="x") == [a["id"], b["id"]]  # ignored
    for parameter, value in (("ip_address", "2001:db8::g"), ("name_prefix", "n" * 129), ("tag", "no spaces")):
        assert list(error_fields(assert_problem(api.get("/devices", params={parameter: value}), 422))) == [parameter]


def test_duplicate_mac_in_other_spelling_is_409_naming_the_mac_and_the_device(api, register):
    device = register()
    spelling = device["mac_address"].replace(":", "")
    response = api.post("/devices", json={"name": "Dup", "device_type": "sensor", "mac_address": spelling})
    problem = assert_problem(response, 409, "mac-address-taken")
    assert device["mac_address"] in problem["detail"] and device["id"] in problem["detail"]


def test_invalid_device_is_422_listing_each_field(api):
    response = api.post("/devices", json={"name": "", "mac_address": "00:1a:2b:3c:3r:5e", "extra": 1})
    fields = error_fields(assert_problem(response, 422, "validation-failed"))
    assert {"name", "device_type", "mac_address", "extra"} <= set(fields)


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("POST", "/devices", {"data": "{not json", "headers": {"Content-Type": "application/json"}}, 400),
        ("POST", "/devices", {"data": "x" * (64 * 1024 + 1), "headers": {"Content-Type": "application/json"}}, 413),
        ("POST", "/devices", {"data": "name=x", "headers": {"Content-Type": "application/x-www-form-urlencoded"}}, 415),
        ("GET", "/devices?limit=0", {}, 422),
        ("GET", "/devices?limit=101", {}, 422),
        ("GET", "/devices?cursor=not-a-cursor", {}, 400),
        ("POST", "/devices?colour=red", {"json": {}}, 422),
        ("GET", f"/devices/{UNKNOWN}", {}, 404),
        ("GET", "/devices/not-a-uuid", {}, 422),
        ("PATCH", f"/devices/{UNKNOWN}", {"json": {"location": "x"}}, 404),
        ("DELETE", f"/devices/{UNKNOWN}", {}, 404),
        ("GET", f"/devices/{UNKNOWN}/status", {}, 404),
        ("PUT", f"/devices/{UNKNOWN}/status", {"json": {"status": "online"}}, 404),
        ("GET", f"/devices/{UNKNOWN}/history/1", {}, 404),
        ("GET", "/nowhere", {}, 404),
        ("GET", "/devices/x/y/z", {}, 404),
        ("DELETE", "/devices", {}, 405),
        ("POST", f"/devices/{UNKNOWN}", {"json": {}}, 405),
        ("DELETE", f"/devices/{UNKNOWN}/status", {}, 405),
        ("POST", "/swagger", {}, 405),
    ],
)
def test_every_error_is_a_problem_document(api, method, path, kwargs, status):
    assert_problem(api.request(method, path, **kwargs), status)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/devices", "GET, HEAD, POST"),
        ("POST", f"/devices/{UNKNOWN}", "DELETE, GET, HEAD, PATCH"),
        ("PATCH", f"/devices/{UNKNOWN}/status", "GET, HEAD, PUT"),
        ("DELETE", f"/devices/{UNKNOWN}/history", "GET, HEAD"),
    ],
)
def test_wrong_method_is_405_with_allow(api, method, path, allowed):
    response = api.request(method, path)
    assert_problem(response, 405, "method-not-allowed")
    assert response.headers["Allow"] == allowed


def test_if_match_mismatch_is_412_and_changes_nothing(api, register):
    device = register()
    path = f"/devices/{device['id']}"
    assert_problem(api.patch(path, json={"location": "x"}, headers={"If-Match": '"5"'}), 412, "precondition-failed")
    assert_problem(api.delete(path, headers={"If-Match": '"5"'}), 412)
    assert api.get(path).json() == device


def test_idempotency_key_replays_the_first_answer(api):
    body = {"name": "Once", "device_type": "sensor", "mac_address": fresh_mac()}
    key = {"Idempotency-Key": f"local-{uuid.uuid4()}"}
    first, again = api.post("/devices", json=body, headers=key), api.post("/devices", json=body, headers=key)
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert_problem(api.post("/devices", json={**body, "name": "Twice"}, headers=key), 422, "idempotency-key-reused")
    assert len(api.get("/devices", params={"mac_address": body["mac_address"]}).json()["items"]) == 1


def test_swagger_ui_and_openapi_document(api):
    page = api.get("/swagger")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "swagger" in page.text.lower()
    document = api.get("/swagger?format=json").json()
    assert document["openapi"].startswith("3.")
    paths = {(method.upper(), path) for path, operations in document["paths"].items() for method in operations}
    assert ("GET", "/devices/{device_id}/history/{revision}") in paths and ("PATCH", "/devices/{device_id}") in paths


def test_concurrent_status_reports_lose_nothing_and_keep_revisions_gap_free(api, register):
    device = register()
    path = f"/devices/{device['id']}"

    def report(n):
        return api.put(f"{path}/status", json={"status": "online", "reason": f"writer {n}"})

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(report, range(16)))
    accepted = [a for a in answers if a.status_code == 200]
    for refused in (a for a in answers if a.status_code != 200):
        assert_problem(refused, 409, "concurrent-update")
        assert refused.headers["Retry-After"]
    assert accepted
    history = api.get(f"{path}/history?order=asc&limit=100").json()["items"]
    # Every accepted report is one revision, and the first also records the device reporting (one more).
    assert [entry["revision"] for entry in history] == list(range(1, len(accepted) + 3))
    reports = [entry for entry in history[1:] if entry["kind"] == "status"]
    assert [entry["kind"] for entry in history[1:]].count("liveness") == 1
    assert sorted(entry["snapshot"]["reason"] for entry in reports) == sorted(a.json()["reason"] for a in accepted)
    assert sorted(a.json()["version"] for a in accepted) == list(range(2, len(accepted) + 2))  # liveness: no version


def test_concurrent_registrations_of_one_mac_register_it_once(api):
    mac = fresh_mac()
    digits = mac.replace(":", "")
    spellings = [
        mac,
        mac.upper(),
        mac.replace(":", "-"),
        digits,
        f"{digits[:4]}.{digits[4:8]}.{digits[8:]}",
        digits.upper(),
    ]

    def register(spelling):
        return api.post("/devices", json={"name": "Race", "device_type": "sensor", "mac_address": spelling})

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(register, spellings))
    [winner] = [a.json() for a in answers if a.status_code == 201]
    for loser in (a for a in answers if a.status_code != 201):
        problem = assert_problem(loser, 409, "mac-address-taken")
        assert mac in problem["detail"] and winner["id"] in problem["detail"]
    assert [item["id"] for item in api.get("/devices", params={"mac_address": mac}).json()["items"]] == [winner["id"]]
