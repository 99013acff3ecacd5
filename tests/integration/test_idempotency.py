"""Idempotency-Key: a retried write gets the first answer again and changes nothing more."""

import pytest

from registry.storage import keys as table
from tests.support import assert_problem

NEW = {"name": "Gateway", "device_type": "gateway", "mac_address": "00:00:00:00:0a:01"}


def devices_in(table_items):
    return [item for item in table_items() if item[table.SK] == table.STATE_SK]


def test_replayed_registration_returns_the_same_answer_and_registers_once(invoke, table_items):
    first = invoke("create_device", body=NEW, headers={"Idempotency-Key": "order-17"})
    again = invoke("create_device", body=NEW, headers={"Idempotency-Key": "order-17"})
    assert first["statusCode"] == again["statusCode"] == 201
    assert again["json"] == first["json"]
    assert again["headers"]["Location"] == first["headers"]["Location"]
    assert again["headers"]["ETag"] == first["headers"]["ETag"]
    assert again["headers"].get("Idempotent-Replayed") == "true"
    assert "Idempotent-Replayed" not in first["headers"]
    assert len(devices_in(table_items)) == 1


def test_same_key_with_another_body_is_422_and_registers_nothing_more(invoke, table_items):
    invoke("create_device", body=NEW, headers={"Idempotency-Key": "order-17"})
    other = invoke("create_device", body={**NEW, "name": "Other"}, headers={"Idempotency-Key": "order-17"})
    assert_problem(other, 422, "idempotency-key-reused")
    assert len(devices_in(table_items)) == 1


def test_without_a_key_a_repeated_registration_is_a_duplicate(invoke):
    assert invoke("create_device", body=NEW)["statusCode"] == 201
    assert_problem(invoke("create_device", body=NEW), 409, "mac-address-taken")


def test_a_failed_write_is_not_kept_so_its_retry_runs_again(invoke, make_device):
    holder = make_device(mac_address=NEW["mac_address"])
    refused = invoke("create_device", body=NEW, headers={"Idempotency-Key": "order-18"})
    assert_problem(refused, 409)
    invoke("delete_device", f"/devices/{holder['id']}")
    retried = invoke("create_device", body=NEW, headers={"Idempotency-Key": "order-18"})
    assert retried["statusCode"] == 201 and "Idempotent-Replayed" not in retried["headers"]


def test_replayed_delete_answers_204_again_instead_of_404(invoke, make_device, table_items):
    device = make_device()
    path = f"/devices/{device['id']}"
    assert invoke("delete_device", path, headers={"Idempotency-Key": "retire-1"})["statusCode"] == 204
    before = table_items()
    replay = invoke("delete_device", path, headers={"Idempotency-Key": "retire-1"})
    assert replay["statusCode"] == 204 and replay["headers"].get("Idempotent-Replayed") == "true"
    assert table_items() == before
    assert_problem(invoke("delete_device", path), 404)


def test_replayed_status_report_returns_the_first_answer_even_after_later_changes(invoke, make_device):
    device = make_device()
    path = f"/devices/{device['id']}/status"
    first = invoke("put_status", path, body={"status": "online"}, headers={"Idempotency-Key": "beat-1"})
    invoke("put_status", path, body={"status": "offline"})
    replay = invoke("put_status", path, body={"status": "online"}, headers={"Idempotency-Key": "beat-1"})
    assert replay["json"] == first["json"] and replay["json"]["version"] == 2
    assert invoke("get_status", path)["json"]["status"] == "offline"  # the replay changed nothing


def test_a_key_is_scoped_to_its_route_device_and_caller(invoke, make_device):
    """The same key with another request is a 422 only on the same route, device and caller:
    anywhere else it is a request of its own, and applied."""
    a, b = make_device(), make_device()
    key = {"Idempotency-Key": "same-key"}
    first = invoke("update_device", f"/devices/{a['id']}", body={"location": "x"}, headers=key)
    assert first["statusCode"] == 200
    other_device = invoke("update_device", f"/devices/{b['id']}", body={"location": "y"}, headers=key)
    other_caller = invoke(
        "update_device",
        f"/devices/{a['id']}",
        body={"location": "z"},
        headers=key,
        claims={"sub": "someone-else", "scope": "devices/write"},
    )
    for response in (other_device, other_caller):
        assert response["statusCode"] == 200 and "Idempotent-Replayed" not in response["headers"], response
    assert invoke("get_device", f"/devices/{b['id']}")["json"]["location"] == "y"
    assert invoke("get_device", f"/devices/{a['id']}")["json"]["location"] == "z"
    other_route = invoke("delete_device", f"/devices/{a['id']}", headers=key)  # the same path
    assert other_route["statusCode"] == 204 and "Idempotent-Replayed" not in other_route["headers"], other_route
    assert_problem(invoke("get_device", f"/devices/{a['id']}"), 404)


@pytest.mark.parametrize("if_match", ['"2"', "not an entity tag"])
def test_same_key_with_another_if_match_is_another_request_not_a_replay(invoke, make_device, if_match):
    device = make_device()
    path, key = f"/devices/{device['id']}", "rename-1"
    first = invoke("update_device", path, body={"name": "A"}, headers={"Idempotency-Key": key, "If-Match": '"1"'})
    assert first["statusCode"] == 200
    other = invoke("update_device", path, body={"name": "A"}, headers={"Idempotency-Key": key, "If-Match": if_match})
    assert_problem(other, 422, "idempotency-key-reused")
    assert invoke("get_device", path)["json"]["config_version"] == 2


def test_the_same_key_with_the_device_id_in_capitals_is_the_same_request(invoke, make_device):
    """The key's path is the canonical one: the device id in another case is the same device, so
    another body under the same key is a 422 (not a second write), and the same body a replay."""
    device = make_device()
    key = {"Idempotency-Key": "rename-case"}
    lower, upper = f"/devices/{device['id']}", f"/devices/{device['id'].upper()}"
    assert invoke("update_device", lower, body={"location": "x"}, headers=key)["statusCode"] == 200
    assert_problem(invoke("update_device", upper, body={"location": "y"}, headers=key), 422, "idempotency-key-reused")
    replay = invoke("update_device", upper, body={"location": "x"}, headers=key)
    assert replay["statusCode"] == 200 and replay["headers"]["Idempotent-Replayed"] == "true"
    assert invoke("get_device", lower)["json"]["config_version"] == 2  # one write
