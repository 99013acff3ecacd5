"""Devices and their status through the Lambda handlers, fed API Gateway proxy events."""

import json

import pytest

from tests.support import assert_problem, error_fields

NEW = {"name": "  Boiler sensor ", "device_type": "sensor", "mac_address": "00-1A-2B-3C-4D-5E"}
UNKNOWN = "0190f5e2-7a3b-7c1d-9e2f-3a4b5c6d7e8f"
# (handler, path after /devices/{id}, body) of the routes that take If-Match, and of all device routes
CONDITIONAL_WRITES = [
    ("update_device", "", {"location": "x"}),
    ("delete_device", "", None),
    ("put_status", "/status", {"status": "online"}),
]
DEVICE_ROUTES = [
    ("get_device", "", None),
    *CONDITIONAL_WRITES,
    ("get_status", "/status", None),
    ("list_history", "/history", None),
    ("get_history_entry", "/history/1", None),
]


def test_registration_is_201_with_location_etag_and_the_canonical_detail(invoke):
    response = invoke("create_device", body={**NEW, "ip_address": "2001:DB8:0::1", "attributes": {"floor": "2"}})
    assert response["statusCode"] == 201
    device = response["json"]
    assert response["headers"]["Location"] == f"/devices/{device['id']}"
    assert response["headers"]["ETag"] == '"1"'
    assert response["headers"]["Content-Type"] == "application/json"
    assert device == {
        "id": device["id"],
        "name": "Boiler sensor",
        "device_type": "sensor",
        "mac_address": "00:1a:2b:3c:4d:5e",
        "ip_address": "2001:db8::1",
        "firmware_version": None,
        "serial_number": None,
        "location": None,
        "attributes": {"floor": "2"},
        "tags": [],
        "report_interval_s": None,  # the deployment's default
        "config_version": 1,
        "created_at": device["created_at"],
        "updated_at": device["created_at"],
    }
    assert "status" not in device  # details do not include status
    fetched = invoke("get_device", response["headers"]["Location"])
    assert fetched["statusCode"] == 200 and fetched["json"] == device and fetched["headers"]["ETag"] == '"1"'


@pytest.mark.parametrize("spelling", ["00:1a:2b:3c:4d:5e", "001A.2B3C.4D5E", "001a2b3c4d5e", "00-1a-2B-3c-4D-5e"])
def test_duplicate_mac_in_other_spelling_is_409_naming_the_mac_and_the_existing_device(
    invoke, make_device, spelling, table_items
):
    existing = make_device(mac_address="00:1A:2B:3C:4D:5E")
    before = table_items()
    response = invoke("create_device", body={**NEW, "mac_address": spelling})
    problem = assert_problem(response, 409, "mac-address-taken")
    assert "00:1a:2b:3c:4d:5e" in problem["detail"] and existing["id"] in problem["detail"]
    assert table_items() == before


def test_seed_mac_with_non_hex_digit_is_422_naming_the_field(invoke, table_items):
    response = invoke("create_device", body={**NEW, "mac_address": "00:1a:2b:3c:3r:5e"})
    problem = assert_problem(response, 422, "validation-failed")
    assert list(error_fields(problem)) == ["mac_address"]
    assert "00:1a:2b:3c:3r:5e" in problem["detail"]
    assert table_items() == []


def test_422_lists_every_bad_field(invoke):
    body = {"name": "", "mac_address": "00:1a", "ip_address": "300.1.1.1", "colour": "red", "attributes": {"a b": "x"}}
    fields = error_fields(assert_problem(invoke("create_device", body=body), 422))
    assert {"name", "device_type", "mac_address", "ip_address", "colour"} <= set(fields)
    assert any(field.startswith("attributes") for field in fields)
    assert fields["device_type"] == "is required" and fields["colour"] == "is not a known field"


def test_a_body_that_is_not_an_object_is_422(invoke, subtests):
    for body in ["[]", '"device"', "42", "null"]:
        with subtests.test(body=body):
            response = invoke("create_device", raw_body=body, headers={"Content-Type": "application/json"})
            assert_problem(response, 422)


def test_missing_or_empty_body_is_400_malformed_json(invoke, subtests):
    for name, raw_body in {"missing": None, "empty": ""}.items():
        with subtests.test(body=name):
            response = invoke("create_device", raw_body=raw_body, headers={"Content-Type": "application/json"})
            assert_problem(response, 400, "malformed-json")


def test_merge_patch_changes_sent_fields_clears_nulls_and_bumps_the_etag(invoke, make_device):
    device = make_device(location="Basement", firmware_version="1.0", attributes={"floor": "2", "rack": "7"})
    response = invoke(
        "update_device",
        f"/devices/{device['id']}",
        raw_body='{"location": null, "name": "Roof sensor", "attributes": {"floor": null, "zone": "b"}}',
        headers={"Content-Type": "application/merge-patch+json", "If-Match": '"1"'},
    )
    assert response["statusCode"] == 200 and response["headers"]["ETag"] == '"2"'
    updated = response["json"]
    assert updated["location"] is None and updated["name"] == "Roof sensor" and updated["firmware_version"] == "1.0"
    assert updated["attributes"] == {"rack": "7", "zone": "b"}
    assert updated["config_version"] == 2 and updated["created_at"] == device["created_at"]
    assert invoke("get_device", f"/devices/{device['id']}")["json"] == updated


def test_patch_with_a_status_is_422_naming_the_status_route(invoke, make_device):
    device = make_device()
    answer = invoke("update_device", f"/devices/{device['id']}", body={"status": "online"})
    problem = assert_problem(answer, 422)
    assert "PUT /devices/{id}/status" in problem["detail"]


def test_patch_clearing_a_required_field_is_422(invoke, make_device):
    device = make_device()
    problem = assert_problem(invoke("update_device", f"/devices/{device['id']}", body={"name": None}), 422)
    assert "name" in problem["detail"]


def test_patch_moving_to_a_taken_mac_is_409_and_moving_to_a_free_one_frees_the_old(invoke, make_device):
    holder = make_device(mac_address="00:00:00:00:00:01")
    device = make_device(mac_address="00:00:00:00:00:02")
    taken = invoke("update_device", f"/devices/{device['id']}", body={"mac_address": "000000000001"})
    problem = assert_problem(taken, 409, "mac-address-taken")
    assert holder["id"] in problem["detail"] and "00:00:00:00:00:01" in problem["detail"]
    moved = invoke("update_device", f"/devices/{device['id']}", body={"mac_address": "0000.0000.0003"})
    assert moved["statusCode"] == 200 and moved["json"]["mac_address"] == "00:00:00:00:00:03"
    assert make_device(mac_address="00:00:00:00:00:02")["id"] not in {holder["id"], device["id"]}


@pytest.mark.parametrize(("handler", "suffix", "body"), CONDITIONAL_WRITES)
def test_if_match_mismatch_is_412_and_changes_nothing(invoke, make_device, table_items, handler, suffix, body):
    device = make_device()
    before = table_items()
    response = invoke(handler, f"/devices/{device['id']}{suffix}", body=body, headers={"If-Match": '"9"'})
    problem = assert_problem(response, 412, "precondition-failed")
    assert '"9"' in problem["detail"]
    assert table_items() == before


@pytest.mark.parametrize(("handler", "suffix", "body"), CONDITIONAL_WRITES)
def test_if_match_with_the_current_etag_lets_the_write_through(invoke, make_device, handler, suffix, body):
    device = make_device()
    path = f"/devices/{device['id']}"
    response = invoke(handler, path + suffix, body=body, headers={"If-Match": '"1"'})
    assert response["statusCode"] == (204 if handler == "delete_device" else 200)
    [written] = invoke("list_history", f"{path}/history", query="limit=1")["json"]["items"]
    assert (written["revision"], written["kind"], written["changes"]) == {
        "update_device": (2, "config", {"location": {"old": None, "new": "x"}}),
        "delete_device": (2, "deleted", {}),
        # the first report: its status (revision 2), then its sign of life recorded by the registry
        "put_status": (3, "liveness", {"liveness": {"old": "pending", "new": "reporting"}}),
    }[handler]


def test_status_starts_unknown_and_each_change_is_a_new_version(invoke, make_device):
    device = make_device()
    path = f"/devices/{device['id']}/status"
    initial = invoke("get_status", path)
    assert initial["statusCode"] == 200 and initial["headers"]["ETag"] == '"1"'
    assert initial["json"] == {
        "device_id": device["id"],
        "status": "unknown",
        "reason": None,
        "version": 1,
        "updated_at": device["created_at"],
        "liveness": "pending",
        "last_seen_at": None,
    }
    put = invoke("put_status", path, body={"status": "maintenance", "reason": "firmware upgrade"})
    assert put["statusCode"] == 200 and put["headers"]["ETag"] == '"2"'
    assert (put["json"]["status"], put["json"]["reason"], put["json"]["version"]) == (
        "maintenance",
        "firmware upgrade",
        2,
    )
    again = invoke("put_status", path, body={"status": "maintenance", "reason": "firmware upgrade"})
    assert again["json"]["version"] == 2  # the same status again is not a change
    assert invoke("get_status", path)["json"] == put["json"]
    assert invoke("get_device", f"/devices/{device['id']}")["json"]["config_version"] == 1


@pytest.mark.parametrize("status", ["online", "offline", "maintenance", "error", "decommissioned", "unknown"])
def test_every_status_of_the_enum_is_accepted(invoke, make_device, status):
    device = make_device()
    response = invoke("put_status", f"/devices/{device['id']}/status", body={"status": status})
    assert response["statusCode"] == 200 and response["json"]["status"] == status


@pytest.mark.parametrize("body", [{"status": "rebooting"}, {"status": "ONLINE"}, {}, {"status": "online", "x": 1}])
def test_status_outside_the_enum_or_unknown_field_is_422(invoke, make_device, table_items, body):
    device = make_device()
    before = table_items()
    fields = error_fields(assert_problem(invoke("put_status", f"/devices/{device['id']}/status", body=body), 422))
    assert set(fields) & {"status", "x"}
    assert table_items() == before


def test_deleted_device_is_gone_but_its_history_stays_and_its_mac_is_free(invoke, make_device):
    device = make_device(mac_address="00:00:00:00:00:07")
    path = f"/devices/{device['id']}"
    deleted = invoke("delete_device", path)
    assert deleted["statusCode"] == 204 and not deleted.get("body")
    for handler, suffix in [("get_device", ""), ("get_status", "/status")]:
        assert_problem(invoke(handler, path + suffix), 404, "device-not-found")
    for handler, suffix, body in CONDITIONAL_WRITES:
        assert_problem(invoke(handler, path + suffix, body=body), 404, "device-not-found")
    history = invoke("list_history", f"{path}/history", query="order=asc")
    assert history["statusCode"] == 200
    assert [entry["kind"] for entry in history["json"]["items"]] == ["created", "deleted"]
    assert invoke("get_history_entry", f"{path}/history/2")["json"]["kind"] == "deleted"
    assert device["id"] not in [item["id"] for item in invoke("list_devices")["json"]["items"]]
    reused = invoke("create_device", body={**NEW, "mac_address": "000000000007"})
    assert reused["statusCode"] == 201 and reused["json"]["id"] != device["id"]


def test_a_device_id_in_upper_case_reaches_the_device_and_is_answered_lowercase(invoke, make_device):
    device = make_device()
    shouted = f"/devices/{device['id'].upper()}"
    assert invoke("get_device", shouted)["json"] == device
    assert invoke("put_status", f"{shouted}/status", body={"status": "online"})["statusCode"] == 200
    [entry] = invoke("list_history", f"/devices/{device['id']}/history", query="kind=status")["json"]["items"]
    assert (entry["revision"], entry["kind"]) == (2, "status")


@pytest.mark.parametrize(("handler", "suffix", "body"), DEVICE_ROUTES)
def test_unknown_device_is_404_on_every_device_route(invoke, handler, suffix, body):
    problem = assert_problem(invoke(handler, f"/devices/{UNKNOWN}{suffix}", body=body), 404)
    assert UNKNOWN in problem["detail"]


@pytest.mark.parametrize(("handler", "suffix", "body"), DEVICE_ROUTES)
def test_malformed_device_id_is_422_naming_the_path_parameter(invoke, subtests, handler, suffix, body):
    for bad_id in ["not-a-uuid", "0190f5e2", "0190f5e2-7a3b-7c1d-9e2f-3a4b5c6d7e8g", "%00", "'1'", "x" * 300]:
        with subtests.test(device_id=bad_id):
            problem = assert_problem(invoke(handler, f"/devices/{bad_id}{suffix}", body=body), 422)
            assert "device_id" in error_fields(problem)


def test_malformed_revision_is_422(invoke, make_device, subtests):
    device = make_device()
    # one spelling per cache key: only the canonical digits of a number (issue 21, item 10)
    for revision in ["0", "-1", "x", "1.5", "1000000000000", "1e3", "01", "%31", "+1", "1.0", "%201", "1%20", "%2B1"]:
        with subtests.test(revision=revision):
            problem = assert_problem(invoke("get_history_entry", f"/devices/{device['id']}/history/{revision}"), 422)
            assert "revision" in error_fields(problem)


def test_unknown_revision_is_404_naming_it(invoke, make_device):
    device = make_device()
    problem = assert_problem(invoke("get_history_entry", f"/devices/{device['id']}/history/2"), 404)
    assert "revision 2" in problem["detail"]


def test_patch_that_would_leave_more_than_50_attributes_is_422_and_changes_nothing(invoke, make_device, table_items):
    device = make_device(attributes={f"k{i}": "v" for i in range(50)})
    before = table_items()
    response = invoke("update_device", f"/devices/{device['id']}", body={"attributes": {"one_more": "v"}})
    assert "attributes" in error_fields(assert_problem(response, 422))
    assert table_items() == before
    replaced = invoke("update_device", f"/devices/{device['id']}", body={"attributes": {"k0": None, "one_more": "v"}})
    assert replaced["statusCode"] == 200 and len(replaced["json"]["attributes"]) == 50


@pytest.mark.parametrize(
    ("claims", "recorded"),
    [
        ({"sub": "user-42", "client_id": "app-1", "scope": "devices/write"}, "user-42"),
        ({"client_id": "app-1", "scope": "devices/write"}, "app-1"),
        ({}, "tester"),  # no authorizer claims (local): the configured anonymous name
    ],
)
def test_history_records_who_made_the_change(invoke, make_device, claims, recorded):
    device = make_device()
    invoke("put_status", f"/devices/{device['id']}/status", body={"status": "online"}, claims=claims)
    assert invoke("get_history_entry", f"/devices/{device['id']}/history/2")["json"]["changed_by"] == recorded


def test_a_registration_writes_one_cloudwatch_metric_line_in_the_registry_namespace(make_device, capsys):
    capsys.readouterr()
    make_device()
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]

    assert len(lines) == 1
    (directive,) = lines[0]["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "DeviceRegistry"
    assert [metric["Name"] for metric in directive["Metrics"]] == ["DevicesRegistered"]
    assert lines[0]["DevicesRegistered"] == [1.0]


def test_a_patch_whose_merge_breaks_a_rule_is_a_422_naming_the_field_and_changes_nothing(invoke, make_device):
    device = make_device(attributes={f"k{n}": "v" for n in range(50)})
    path = f"/devices/{device['id']}"

    answer = invoke("update_device", path, body={"attributes": {"one-more": "v"}})

    problem = assert_problem(answer, 422)
    assert "attributes" in error_fields(problem)
    assert invoke("get_device", path)["json"]["config_version"] == 1
