"""The batch routes, through their handlers and through the local server: ``POST /devices/batch``
registers each device on its own, ``POST /status-reports`` applies each report as
``PUT /devices/{id}/status`` would; a request that is not a batch changes nothing."""

from __future__ import annotations

import json
import uuid

import pytest

from registry.batch.schemas import MAX_ITEMS
from registry.http.routes import MAX_BATCH_BODY_BYTES, MAX_BODY_BYTES
from tests.support import assert_problem

UNKNOWN_ID = "0190f5e2-7a3b-7c1d-9e2f-3a4b5c6d7e8f"


def device(mac: str, **fields):
    return {"name": f"Batch {mac}", "device_type": "sensor", "mac_address": mac, **fields}


def problem_of(result):
    return result["problem"]["type"].rsplit(":", 1)[-1]


def test_each_device_gets_its_own_answer_in_the_order_sent(invoke, make_device):
    taken = make_device(mac_address="02:ba:00:00:00:01")
    bad = {"device_type": "sensor", "mac_address": "02:ba:00:00:00:03", "colour": "red"}
    devices = [device("02:ba:00:00:00:02"), device("02-BA-00-00-00-01"), bad, device("02ba.0000.0004")]
    response = invoke("create_devices", body={"devices": devices})
    assert response["statusCode"] == 200, response
    answer = response["json"]
    assert [(r["index"], r["status"]) for r in answer["results"]] == [(0, 201), (1, 409), (2, 422), (3, 201)]
    assert (answer["created"], answer["failed"]) == (2, 2)
    registered = answer["results"][3]["device"]
    assert registered["mac_address"] == "02:ba:00:00:00:04" and registered["config_version"] == 1
    assert invoke("get_device", f"/devices/{registered['id']}")["json"] == registered
    assert taken["id"] in answer["results"][1]["problem"]["detail"]
    # The same field errors a single POST of that body gets.
    single = assert_problem(invoke("create_device", body=bad), 422)
    assert answer["results"][2]["problem"] == single


def test_a_mac_repeated_in_a_batch_registers_once_and_the_repeat_is_409_naming_the_device(invoke):
    devices = [device("02:ba:01:00:00:01"), device("02BA01000001", name="Twin"), device("02:ba:01:00:00:02")]
    answer = invoke("create_devices", body={"devices": devices})["json"]
    first, repeat, other = answer["results"]
    assert (first["status"], repeat["status"], other["status"]) == (201, 409, 201)
    assert problem_of(repeat) == "mac-address-taken"
    assert first["device"]["id"] in repeat["problem"]["detail"]
    listed = invoke("list_devices", query="mac_address=02:ba:01:00:00:01")["json"]["items"]
    assert [item["name"] for item in listed] == ["Batch 02:ba:01:00:00:01"]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ('{"devices": [', 400),
        ("{}", 422),
        ('{"devices": []}', 422),
        ('{"devices": {"name": "x"}}', 422),
        ('{"devices": [], "extra": 1}', 422),
        (
            json.dumps(
                {"devices": [device(f"02:ba:02:00:{n // 256:02x}:{n % 256:02x}") for n in range(MAX_ITEMS + 1)]}
            ),
            422,
        ),
    ],
    ids=["malformed JSON", "no devices", "empty", "not a list", "unknown field", "over 100"],
)
def test_a_request_that_is_not_a_batch_registers_nothing(invoke, body, status):
    assert_problem(invoke("create_devices", raw_body=body, headers={"Content-Type": "application/json"}), status)
    assert invoke("list_devices")["json"]["items"] == []


def test_a_batch_may_be_larger_than_a_single_body_but_not_over_1_mib(invoke):
    attributes = {f"key{i}": "x" * 250 for i in range(50)}  # the most a device may have: ~13 KB
    devices = [device(f"02:ba:03:00:00:{n:02x}", attributes=attributes) for n in range(6)]
    body = json.dumps({"devices": devices})
    assert MAX_BODY_BYTES < len(body) < MAX_BATCH_BODY_BYTES
    answer = invoke("create_devices", raw_body=body, headers={"Content-Type": "application/json"})["json"]
    assert (answer["created"], answer["failed"]) == (6, 0)
    too_large = json.dumps({"devices": [device("02:ba:03:01:00:00", location="x" * MAX_BATCH_BODY_BYTES)]})
    response = invoke("create_devices", raw_body=too_large, headers={"Content-Type": "application/json"})
    assert str(MAX_BATCH_BODY_BYTES) in assert_problem(response, 413)["detail"]


def test_a_batch_retried_with_its_idempotency_key_gets_the_first_answer_and_registers_nothing_more(invoke):
    body = {"devices": [device("02:ba:04:00:00:01"), device("02:ba:04:00:00:02")]}
    headers = {"Idempotency-Key": "batch-once"}
    first = invoke("create_devices", body=body, headers=headers)
    again = invoke("create_devices", body=body, headers=headers)
    assert again["headers"].get("Idempotent-Replayed") == "true"
    assert again["json"] == first["json"] and first["json"]["created"] == 2
    assert len(invoke("list_devices")["json"]["items"]) == 2
    other = {"devices": [device("02:ba:04:00:00:03")]}
    assert_problem(invoke("create_devices", body=other, headers=headers), 422, "idempotency-key-reused")


# -- status reports ------------------------------------------------------------------------------


def report(device_id, status, reason=None):
    return {"device_id": device_id, "status": status, **({"reason": reason} if reason else {})}


def test_each_report_means_what_a_put_of_the_status_means(invoke, make_device):
    online, same, gone = make_device(), make_device(), make_device()
    invoke("put_status", f"/devices/{same['id']}/status", body={"status": "maintenance", "reason": "firmware"})
    assert invoke("delete_device", f"/devices/{gone['id']}")["statusCode"] == 204
    reports = [
        report(online["id"], "online"),
        report(same["id"], "maintenance", "firmware"),
        report(UNKNOWN_ID, "online"),
        report(gone["id"], "online"),
        {"device_id": online["id"].upper()[:-1], "status": "online"},
        report(make_device()["id"], "sleeping"),
    ]
    response = invoke("report_statuses", body={"reports": reports})
    assert response["statusCode"] == 200, response
    answer = response["json"]
    statuses = [(r["index"], r["status"], r.get("changed"), r.get("version")) for r in answer["results"]]
    assert statuses == [
        (0, 200, True, 2),
        (1, 200, False, 2),
        (2, 404, None, None),
        (3, 404, None, None),
        (4, 422, None, None),
        (5, 422, None, None),
    ]
    assert (answer["changed"], answer["unchanged"], answer["failed"]) == (1, 1, 4)
    assert answer["results"][0]["device_id"] == online["id"]
    assert invoke("get_status", f"/devices/{online['id']}/status")["json"]["status"] == "online"
    # The unchanged report wrote nothing: no history entry after the PUT's (and its sign of life's).
    history = invoke("list_history", f"/devices/{same['id']}/history")["json"]["items"]
    assert [(entry["revision"], entry["kind"]) for entry in history] == [(3, "liveness"), (2, "status"), (1, "created")]
    single = assert_problem(invoke("put_status", f"/devices/{UNKNOWN_ID}/status", body={"status": "online"}), 404)
    assert answer["results"][2]["problem"] == single


def test_two_reports_for_one_device_refuse_the_whole_request(invoke, make_device):
    first, second = make_device(), make_device()
    reports = [report(second["id"], "online"), report(first["id"], "online"), report(first["id"].upper(), "error")]
    problem = assert_problem(invoke("report_statuses", body={"reports": reports}), 422)
    assert [error["field"] for error in problem["errors"]] == ["reports.2.device_id"]
    for device_id in (first["id"], second["id"]):
        assert invoke("get_status", f"/devices/{device_id}/status")["json"]["status"] == "unknown"


# -- through the local server: concurrency on the embedded DynamoDB --------------------------------


def test_a_full_batch_through_the_local_server_then_reports_for_all_of_it(api):
    prefix = uuid.uuid4().hex[:6]  # the server is the session's: MACs no other test uses
    devices = [device(f"{prefix}{n:06x}") for n in range(MAX_ITEMS)]
    devices[7] = {**devices[3]}  # a repeat, registered once
    response = api.post("/devices/batch", json={"devices": devices})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["created"], answer["failed"]) == (MAX_ITEMS - 1, 1)
    assert [result["index"] for result in answer["results"]] == list(range(MAX_ITEMS))
    ids = [result["device"]["id"] for result in answer["results"] if result["status"] == 201]
    reports = [report(device_id, "online" if n % 2 else "unknown") for n, device_id in enumerate(ids)]
    reported = api.post("/status-reports", json={"reports": reports}).json()
    assert (reported["changed"], reported["unchanged"], reported["failed"]) == (49, 50, 0)
    assert api.get(f"/devices/{ids[1]}/status").json()["version"] == 2
    assert api.get("/devices/batch").status_code == 405
