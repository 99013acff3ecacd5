"""Tags (contract v2): a set of lowercase labels, answered sorted; PATCH replaces the whole set;
part of the detail, config snapshots, history diffs, time travel, revert and restore."""

from __future__ import annotations

import pytest

from tests.support import TABLE_NAME, minute


def _tags(invoke, device_id: str) -> list[str]:
    return invoke("get_device", f"/devices/{device_id}")["json"]["tags"]


def test_tags_are_lowercased_deduplicated_and_answered_sorted(make_device, invoke):
    device = make_device(tags=["Site:Berlin", "prod", "PROD", "a.b_c-d"])
    assert device["tags"] == ["a.b_c-d", "prod", "site:berlin"]
    assert _tags(invoke, device["id"]) == device["tags"]


def test_a_device_registered_without_tags_has_none(make_device):
    assert make_device()["tags"] == []


@pytest.mark.parametrize(
    "tags",
    [["has space"], [""], ["x" * 65], ["ümlaut"], [f"t{n}" for n in range(21)], "prod", [3]],
    ids=["space", "empty", "too-long", "non-ascii", "21-tags", "not-a-list", "not-a-string"],
)
def test_an_invalid_tag_set_is_422_naming_tags_and_registers_nothing(invoke, table_items, tags):
    body = {"name": "n", "device_type": "sensor", "mac_address": "02:00:00:00:12:01", "tags": tags}
    response = invoke("create_device", body=body)
    assert response["statusCode"] == 422, response
    assert any(error["field"].startswith("tags") for error in response["json"]["errors"]), response["json"]
    assert table_items() == []


def test_patch_replaces_the_whole_set_and_history_shows_old_and_new(make_device, invoke):
    device = make_device(tags=["a", "b"])
    response = invoke("update_device", f"/devices/{device['id']}", body={"tags": ["C", "b"]})
    assert response["statusCode"] == 200 and response["json"]["tags"] == ["b", "c"]
    latest = invoke("list_history", f"/devices/{device['id']}/history")["json"]["items"][0]
    assert latest["kind"] == "config" and latest["changes"] == {"tags": {"old": ["a", "b"], "new": ["b", "c"]}}
    assert latest["snapshot"]["tags"] == ["b", "c"]
    created = invoke("get_history_entry", f"/devices/{device['id']}/history/1")["json"]
    assert created["changes"]["tags"] == {"old": [], "new": ["a", "b"]}


@pytest.mark.parametrize("cleared", [None, []], ids=["null", "empty-list"])
def test_null_or_an_empty_list_clears_the_tags(make_device, invoke, cleared):
    device = make_device(tags=["a"])
    response = invoke("update_device", f"/devices/{device['id']}", body={"tags": cleared})
    assert response["statusCode"] == 200 and response["json"]["tags"] == []
    assert response["json"]["config_version"] == 2


def test_the_same_set_in_another_spelling_changes_nothing(make_device, invoke):
    device = make_device(tags=["a", "b"])
    response = invoke("update_device", f"/devices/{device['id']}", body={"tags": ["B", "A", "a"]})
    assert response["statusCode"] == 200 and response["json"]["config_version"] == 1


def test_a_patch_without_tags_keeps_them(make_device, invoke):
    device = make_device(tags=["a"])
    response = invoke("update_device", f"/devices/{device['id']}", body={"location": "Roof"})
    assert response["json"]["tags"] == ["a"]


def test_time_travel_diff_revert_and_restore_carry_the_tags(ticking_clock, make_device, invoke):
    device_id = make_device()["id"]  # revision 1, minute(0)
    path = f"/devices/{device_id}"
    assert invoke("update_device", path, body={"tags": ["one"]})["statusCode"] == 200  # 2, minute(1)
    assert invoke("update_device", path, body={"tags": ["two", "three"]})["statusCode"] == 200  # 3, minute(2)
    as_of = invoke("get_device", path, query=f"as_of={minute(1)}")
    assert as_of["statusCode"] == 200 and as_of["json"]["tags"] == ["one"]
    changes = invoke("diff_device", f"{path}/diff", query="from=2&to=3")["json"]["changes"]
    assert changes == {"tags": {"old": ["one"], "new": ["three", "two"]}}
    reverted = invoke("revert_device", f"{path}/revert", body={"to_revision": 2})
    assert reverted["statusCode"] == 200 and reverted["json"]["tags"] == ["one"]
    assert invoke("delete_device", path)["statusCode"] == 204
    restored = invoke("restore_device", f"{path}/restore", body={})
    assert restored["statusCode"] == 200 and restored["json"]["tags"] == ["one"]


def test_reverting_to_a_revision_written_before_tags_existed_clears_them(make_device, invoke, dynamodb):
    device = make_device()
    # Revision 1 as the code before tags wrote it: no tags in its snapshot or changes.
    key = {"pk": {"S": f"DEVICE#{device['id']}"}, "sk": {"S": "REV#000000000001"}}
    dynamodb.update_item(
        TableName=TABLE_NAME,
        Key=key,
        UpdateExpression="REMOVE #s.tags, #c.tags",
        ExpressionAttributeNames={"#s": "snapshot", "#c": "changes"},
    )
    invoke("update_device", f"/devices/{device['id']}", body={"tags": ["new"]})
    reverted = invoke("revert_device", f"/devices/{device['id']}/revert", body={"to_revision": 1})
    assert reverted["statusCode"] == 200 and reverted["json"]["tags"] == []
    diff = invoke("diff_device", f"/devices/{device['id']}/diff", query="from=1&to=2")["json"]
    assert diff["changes"] == {"tags": {"old": [], "new": ["new"]}}
    assert invoke("get_history_entry", f"/devices/{device['id']}/history/1")["statusCode"] == 200
