"""Retention through the handlers, the service built by ``wiring`` from the environment: with
STATUS_HISTORY_DAYS set, status entries carry expires_at; one that DynamoDB TTL has deleted is
absent from pages and answers 404 ``history-expired`` by revision and in a diff."""

import pytest

from registry.storage import keys as table
from registry.storage.codec import encode
from tests.support import TABLE_NAME, assert_problem


@pytest.fixture
def device(dynamodb, make_device, invoke, monkeypatch):
    monkeypatch.setenv("STATUS_HISTORY_DAYS", "7")  # read when the first handler builds the service
    device = make_device()
    path = f"/devices/{device['id']}"
    assert invoke("put_status", f"{path}/status", body={"status": "online"})["statusCode"] == 200
    assert invoke("update_device", path, body={"location": "Roof"})["statusCode"] == 200
    return device


def _item(dynamodb, device, revision):
    key = encode(table.revision_key(device["id"], revision))
    return dynamodb.get_item(TableName=TABLE_NAME, Key=key).get("Item")


def test_a_status_entry_deleted_by_ttl_is_gone_from_history_and_answers_expired(dynamodb, invoke, device):
    path = f"/devices/{device['id']}"
    assert table.TTL_ATTRIBUTE in _item(dynamodb, device, 2)
    assert table.TTL_ATTRIBUTE in _item(dynamodb, device, 3)  # a liveness entry expires as status entries do
    assert table.TTL_ATTRIBUTE not in _item(dynamodb, device, 4)
    entry = invoke("get_history_entry", f"{path}/history/2")
    assert entry["statusCode"] == 200 and "expires_at" not in entry["json"]

    dynamodb.delete_item(TableName=TABLE_NAME, Key=encode(table.revision_key(device["id"], 2)))  # as TTL does

    page = invoke("list_history", f"{path}/history")["json"]
    assert [item["revision"] for item in page["items"]] == [4, 3, 1]
    problem = assert_problem(invoke("get_history_entry", f"{path}/history/2"), 404, "history-expired")
    assert "expired" in problem["detail"]
    assert_problem(invoke("diff_device", f"{path}/diff", query="from=2"), 404, "history-expired")
    assert_problem(invoke("get_history_entry", f"{path}/history/5"), 404, "history-entry-not-found")
    assert invoke("diff_device", f"{path}/diff", query="from=1")["statusCode"] == 200
