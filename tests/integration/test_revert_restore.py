"""POST /devices/{id}/revert and /restore: an earlier revision's attributes made current again,
a deleted device brought back; each a new revision, its MAC claim moved in the same transaction."""

import pytest

from tests.support import assert_problem


@pytest.fixture
def device(ticking_clock, make_device, invoke):
    """Revisions: 1 created (Basement), 2 status online, 3 liveness reporting (its first report),
    4 config (Roof, fw 2.0), 5 status offline."""
    device = make_device(location="Basement", attributes={"rack": "r1"})
    path = f"/devices/{device['id']}"
    invoke("put_status", f"{path}/status", body={"status": "online"})
    invoke("update_device", path, body={"location": "Roof", "firmware_version": "2.0", "attributes": {"rack": None}})
    invoke("put_status", f"{path}/status", body={"status": "offline", "reason": "unplugged"})
    return device


def revert(invoke, device_id, body, **headers):
    return invoke("revert_device", f"/devices/{device_id}/revert", body=body, headers=headers or None)


def restore(invoke, device_id, body=None, **headers):
    return invoke("restore_device", f"/devices/{device_id}/restore", body=body or {}, headers=headers or None)


def entry(invoke, device_id, revision):
    response = invoke("get_history_entry", f"/devices/{device_id}/history/{revision}")
    assert response["statusCode"] == 200, response
    return response["json"]


def status(invoke, device_id):
    return invoke("get_status", f"/devices/{device_id}/status")["json"]


def test_revert_to_a_config_revision_makes_its_attributes_current_as_a_new_config_revision(invoke, device):
    reverted = revert(invoke, device["id"], {"to_revision": 1, "reason": "roof leaks"})

    assert reverted["statusCode"] == 200, reverted
    detail = reverted["json"]
    assert (detail["location"], detail["firmware_version"], detail["attributes"]) == ("Basement", None, {"rack": "r1"})
    assert detail["config_version"] == 3 and reverted["headers"]["ETag"] == '"3"'
    new = entry(invoke, device["id"], 6)
    assert (new["kind"], new["reverted_to"], new["reason"]) == ("config", 1, "roof leaks")
    assert new["changes"] == {
        "attributes.rack": {"old": None, "new": "r1"},
        "firmware_version": {"old": "2.0", "new": None},
        "location": {"old": "Roof", "new": "Basement"},
    }
    assert new["snapshot"]["location"] == "Basement" and new["snapshot"]["config_version"] == 3
    assert status(invoke, device["id"])["status"] == "offline"  # status untouched


def test_revert_to_a_status_revision_takes_the_attributes_then_in_force(invoke, device):
    to_two = revert(invoke, device["id"], {"to_revision": 2})
    assert to_two["statusCode"] == 200 and to_two["json"]["location"] == "Basement"
    to_five = revert(invoke, device["id"], {"to_revision": 5})
    assert to_five["statusCode"] == 200 and to_five["json"]["location"] == "Roof"
    assert entry(invoke, device["id"], 7)["reverted_to"] == 5
    assert "reason" not in entry(invoke, device["id"], 7)


def test_revert_to_a_liveness_revision_takes_the_attributes_then_in_force(invoke, device):
    reverted = revert(invoke, device["id"], {"to_revision": 3})
    assert reverted["statusCode"] == 200 and reverted["json"]["location"] == "Basement"
    assert status(invoke, device["id"])["liveness"] == "reporting"  # liveness is the registry's, untouched


def test_revert_to_the_attributes_already_current_changes_nothing(invoke, device):
    response = revert(invoke, device["id"], {"to_revision": 4})

    assert response["statusCode"] == 200 and response["json"]["config_version"] == 2
    assert invoke("get_history_entry", f"/devices/{device['id']}/history/6")["statusCode"] == 404


def test_entries_without_a_revert_or_reason_carry_neither_field(invoke, device):
    assert {"reverted_to", "reason"}.isdisjoint(entry(invoke, device["id"], 3))


@pytest.mark.parametrize("revision", [0, 6, 999])
def test_revert_to_a_revision_that_does_not_exist_is_404_naming_the_latest(invoke, device, revision):
    problem = assert_problem(revert(invoke, device["id"], {"to_revision": revision}), 404, "history-entry-not-found")
    assert "latest revision is 5" in problem["detail"]


def test_revert_to_a_revision_of_another_device_is_404(invoke, device, make_device):
    other = make_device()
    assert_problem(revert(invoke, other["id"], {"to_revision": 3}), 404, "history-entry-not-found")


@pytest.mark.parametrize(
    "body", [{}, {"to_revision": -1}, {"to_revision": "two"}, {"to_revision": 1, "reason": "x" * 257}, {"x": 1}]
)
def test_malformed_revert_body_is_422(invoke, device, body):
    assert_problem(revert(invoke, device["id"], body), 422, "validation-failed")


def test_revert_of_an_unknown_or_deleted_device_is_404(invoke, device, make_device):
    assert_problem(revert(invoke, "0190f5e2-7a3b-7c1d-9e2f-3a4b5c6d7e8f", {"to_revision": 1}), 404, "device-not-found")
    gone = make_device()
    invoke("delete_device", f"/devices/{gone['id']}")
    assert_problem(revert(invoke, gone["id"], {"to_revision": 1}), 404, "device-not-found")


def test_revert_honours_if_match(invoke, device):
    assert_problem(revert(invoke, device["id"], {"to_revision": 1}, **{"If-Match": '"1"'}), 412, "precondition-failed")
    assert revert(invoke, device["id"], {"to_revision": 1}, **{"If-Match": '"2"'})["statusCode"] == 200


def test_revert_moves_the_mac_claim_and_is_409_when_the_old_mac_is_taken(invoke, make_device):
    device = make_device(mac_address="02:aa:00:00:00:01")
    path = f"/devices/{device['id']}"
    invoke("update_device", path, body={"mac_address": "02:aa:00:00:00:02"})
    thief = make_device(mac_address="02:aa:00:00:00:01")

    problem = assert_problem(revert(invoke, device["id"], {"to_revision": 1}), 409, "mac-address-taken")
    assert thief["id"] in problem["detail"]

    invoke("delete_device", f"/devices/{thief['id']}")
    assert revert(invoke, device["id"], {"to_revision": 1})["json"]["mac_address"] == "02:aa:00:00:00:01"
    # the address it left is free again, the one it took back is its own
    assert make_device(mac_address="02:aa:00:00:00:02")["mac_address"] == "02:aa:00:00:00:02"
    assert_problem(invoke("create_device", body={**_new(), "mac_address": "02:aa:00:00:00:01"}), 409)


def test_restore_brings_a_deleted_device_back_as_it_was(invoke, device):
    path = f"/devices/{device['id']}"
    before = invoke("get_device", path)["json"]
    invoke("delete_device", path)

    restored = restore(invoke, device["id"], {"reason": "deleted by mistake"})

    assert restored["statusCode"] == 200, restored
    assert restored["json"] == before and restored["headers"]["ETag"] == f'"{before["config_version"]}"'
    assert invoke("get_device", path)["json"] == before
    assert status(invoke, device["id"])["status"] == "offline"
    new = entry(invoke, device["id"], 7)
    assert (new["kind"], new["reason"], new["changes"]) == ("restored", "deleted by mistake", {})
    listed = invoke("list_devices", query=f"mac_address={device['mac_address']}&status=offline")["json"]["items"]
    assert [item["id"] for item in listed] == [device["id"]]
    config = invoke("list_history", f"{path}/history", query="kind=config")["json"]["items"]
    assert [e["kind"] for e in config] == ["restored", "deleted", "config", "created"]


def test_restore_claims_the_mac_again_and_is_409_when_another_device_holds_it(invoke, make_device):
    device = make_device()
    invoke("delete_device", f"/devices/{device['id']}")
    holder = make_device(mac_address=device["mac_address"])

    problem = assert_problem(restore(invoke, device["id"]), 409, "mac-address-taken")
    assert holder["id"] in problem["detail"]
    assert invoke("get_device", f"/devices/{device['id']}")["statusCode"] == 404

    invoke("delete_device", f"/devices/{holder['id']}")
    assert restore(invoke, device["id"])["statusCode"] == 200
    assert_problem(invoke("create_device", body={**_new(), "mac_address": device["mac_address"]}), 409)


def test_restore_of_a_live_device_is_409_and_of_an_unknown_one_404(invoke, make_device):
    live = make_device()
    assert_problem(restore(invoke, live["id"]), 409, "device-not-deleted")
    assert_problem(restore(invoke, "0190f5e2-7a3b-7c1d-9e2f-3a4b5c6d7e8f"), 404, "device-not-found")


def test_a_restored_device_can_be_deleted_and_restored_again(invoke, make_device):
    device = make_device()
    for _ in range(2):
        invoke("delete_device", f"/devices/{device['id']}")
        assert restore(invoke, device["id"])["statusCode"] == 200
    kinds = [e["kind"] for e in invoke("list_history", f"/devices/{device['id']}/history")["json"]["items"]]
    assert kinds == ["restored", "deleted", "restored", "deleted", "created"]


def _new():
    return {"name": "New", "device_type": "sensor"}
