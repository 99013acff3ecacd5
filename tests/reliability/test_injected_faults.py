"""Injected DynamoDB faults on every write path and on the idempotency store: the client gets a
503 problem with ``Retry-After``, the table holds nothing half-written, and a retry with the
same ``Idempotency-Key`` takes effect exactly once.

(The service-level matrix of every fault on every write lives in tests/unit/test_store_failures.py;
here each fault goes through the route's Lambda handler, with its idempotency layer.)"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ReadTimeoutError

from registry import wiring
from registry.storage import keys as table
from tests.support import DYNAMODB_ENDPOINT as ENDPOINT
from tests.support import IDEMPOTENCY_TABLE_NAME, assert_problem, cancelled

FAULTS = {
    "service-unavailable": "ServiceUnavailable",
    "transaction-in-progress": "TransactionInProgressException",
    "cancelled-throttled": cancelled("ThrottlingError", "None", "None"),
    "read-timeout": ReadTimeoutError(endpoint_url=ENDPOINT),
}
WRITES = {  # handler, path suffix, body
    "create": ("create_device", None, {"name": "New", "device_type": "sensor", "mac_address": "02:fa:00:00:00:01"}),
    "patch": ("update_device", "", {"location": "roof", "mac_address": "02:fa:00:00:00:02"}),
    "delete": ("delete_device", "", None),
    "put-status": ("put_status", "/status", {"status": "maintenance", "reason": "fault test"}),
}
# History entries one application of each write records: a fresh device's first accepted report is both
# its status change and its liveness change pending -> reporting (api.md "Liveness"), two revisions.
ENTRIES = {"create": 1, "patch": 1, "delete": 1, "put-status": 2}


@pytest.fixture
def idempotency_records(dynamodb):
    def read() -> list[dict[str, Any]]:
        return dynamodb.scan(TableName=IDEMPOTENCY_TABLE_NAME, ConsistentRead=True)["Items"]

    return read


def _history_entries(items: list[dict[str, Any]]) -> int:
    return sum(item[table.SK].startswith(table.REVISION_PREFIX) for item in items)


def _problem_503(response: dict[str, Any]) -> None:
    assert_problem(response, 503, "service-unavailable")
    assert response["headers"]["Retry-After"] == "1"


@pytest.mark.parametrize("write", WRITES, ids=list(WRITES))
@pytest.mark.parametrize("fault", FAULTS, ids=list(FAULTS))
def test_a_failed_write_is_503_leaves_nothing_and_its_keyed_retry_applies_once(
    invoke,
    make_device,
    table_items,
    assert_table_consistent,
    inject_dynamodb_error,
    idempotency_records,
    figures,
    write,
    fault,
):
    handler, suffix, body = WRITES[write]
    path = "/devices" if suffix is None else f"/devices/{make_device()['id']}{suffix}"
    headers = {"Idempotency-Key": f"fault-{write}-{fault}"}
    before = table_items()

    inject_dynamodb_error(wiring.dynamodb_client(), "TransactWriteItems", FAULTS[fault], times=1)
    _problem_503(invoke(handler, path, body=body, headers=headers))
    assert table_items() == before
    assert idempotency_records() == [], "a refused write must not block its retry"

    retried = invoke(handler, path, body=body, headers=headers)
    replayed = invoke(handler, path, body=body, headers=headers)
    assert 200 <= retried["statusCode"] < 300, retried
    assert replayed["statusCode"] == retried["statusCode"] and replayed["headers"]["Idempotent-Replayed"] == "true"
    assert _history_entries(table_items()) == _history_entries(before) + ENTRIES[write]
    assert_table_consistent()
    figures["injected faults: write paths x faults (through handlers)"] = f"{len(WRITES)} x {len(FAULTS)}"


IDEMPOTENCY_FAULTS = {
    "throttled": "ThrottlingException",
    "internal-error": "InternalServerError",
    "read-timeout": ReadTimeoutError(endpoint_url=ENDPOINT),
}


@pytest.mark.parametrize("fault", IDEMPOTENCY_FAULTS, ids=list(IDEMPOTENCY_FAULTS))
def test_idempotency_store_failing_to_record_a_key_is_503_and_registers_nothing(
    invoke, table_items, inject_dynamodb_error, idempotency_records, fault
):
    body = WRITES["create"][2]
    headers = {"Idempotency-Key": f"store-down-{fault}"}
    inject_dynamodb_error(wiring.dynamodb_client(), "PutItem", IDEMPOTENCY_FAULTS[fault], times=1)
    _problem_503(invoke("create_device", body=body, headers=headers))
    assert table_items() == [] and idempotency_records() == []
    assert invoke("create_device", body=body, headers=headers)["statusCode"] == 201


@pytest.mark.parametrize("fault", IDEMPOTENCY_FAULTS, ids=list(IDEMPOTENCY_FAULTS))
def test_a_write_that_succeeded_is_acknowledged_even_if_its_key_cannot_be_marked_done(
    invoke, table_items, assert_table_consistent, inject_dynamodb_error, fault
):
    """The device is registered; telling the client 503 would make it retry a done write."""
    body = WRITES["create"][2]
    inject_dynamodb_error(wiring.dynamodb_client(), "UpdateItem", IDEMPOTENCY_FAULTS[fault], times=1)
    response = invoke("create_device", body=body, headers={"Idempotency-Key": f"unmarked-{fault}"})
    assert response["statusCode"] == 201, response
    states = [item for item in table_items() if item[table.SK] == table.STATE_SK]
    assert [state["id"] for state in states] == [response["json"]["id"]]
    assert_table_consistent()


def test_a_refusal_is_answered_as_such_even_if_its_key_cannot_be_released(invoke, inject_dynamodb_error):
    unknown = "/devices/0190f5e2-7a3b-7c1d-9e2f-3a4b5c6d7e8f/status"
    inject_dynamodb_error(wiring.dynamodb_client(), "DeleteItem", "ThrottlingException", times=1)
    response = invoke("put_status", unknown, body={"status": "online"}, headers={"Idempotency-Key": "refused"})
    assert_problem(response, 404, "device-not-found")
