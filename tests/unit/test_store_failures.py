"""DynamoDB refusing or failing a request: the service raises ServiceUnavailable (503 with
Retry-After) and the table is exactly as before, with nothing half-written."""

import pytest
from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

from registry.domain.errors import ConcurrentUpdate, ServiceUnavailable
from registry.schemas import DeviceAttributes, StatusUpdate
from tests.support import DYNAMODB_ENDPOINT as ENDPOINT
from tests.support import cancelled

UNKNOWN = "0190f5e2-7a3b-7c1d-9e2f-3a4b5c6d7e8f"


FAILURES = {
    "throughput-exceeded": "ProvisionedThroughputExceededException",
    "throttling": "ThrottlingException",
    "request-limit": "RequestLimitExceeded",
    "internal-server-error": "InternalServerError",
    "connect-timeout": ConnectTimeoutError(endpoint_url=ENDPOINT),
    "read-timeout": ReadTimeoutError(endpoint_url=ENDPOINT),
    "no-connection": EndpointConnectionError(endpoint_url=ENDPOINT),
}
TRANSACTION_FAILURES = {
    **FAILURES,
    "cancelled-throttled": cancelled("None", "ThrottlingError", "None"),
    "cancelled-validation": cancelled("None", "None", "ValidationError"),
}


def attributes(mac="00:00:00:00:00:42"):
    return DeviceAttributes(name="New", device_type="sensor", mac_address=mac)


WRITES = {
    "register": lambda registry, device_id: registry.register(attributes(), "bob"),
    "update": lambda registry, device_id: registry.update(
        device_id, {"location": "Roof"}, expected=None, principal="bob"
    ),
    "move-mac": lambda registry, device_id: registry.update(
        device_id, {"mac_address": "00:00:00:00:00:43"}, expected=None, principal="bob"
    ),
    "set-status": lambda registry, device_id: registry.set_status(
        device_id, StatusUpdate(status="online"), expected=None, principal="bob"
    ),
    "delete": lambda registry, device_id: registry.delete(device_id, expected=None, principal="bob"),
}
READS = {
    "get": ("GetItem", lambda registry, device_id: registry.get(device_id)),
    "history-entry": ("GetItem", lambda registry, device_id: registry.history_entry(device_id, 1)),
    "list": ("Query", lambda registry, device_id: registry.list_devices(limit=10, cursor=None)),
    "history": (
        "Query",
        lambda registry, device_id: registry.history(
            device_id, kind=None, since=None, until=None, order="desc", limit=10, cursor=None
        ),
    ),
}


@pytest.fixture
def device(register):
    return register()


# Each test loops over the failures (one moto table per test keeps the suite fast).


@pytest.mark.parametrize("write", WRITES.values(), ids=WRITES.keys())
def test_failed_transaction_is_service_unavailable_and_leaves_the_table_as_it_was(
    registry, store, device, table_items, assert_table_consistent, inject_dynamodb_error, subtests, write
):
    before = table_items()
    for name, failure in TRANSACTION_FAILURES.items():
        with subtests.test(failure=name):
            refused = inject_dynamodb_error(store.client, "TransactWriteItems", failure)
            with pytest.raises(ServiceUnavailable) as raised:
                write(registry, device.id)
            refused.stop()
            assert len(refused) == 1  # not retried by the service: the client's own retries already ran
            assert raised.value.status == 503 and raised.value.retry_after == 1
            assert table_items() == before
            assert_table_consistent()


@pytest.mark.parametrize("write", [w for name, w in WRITES.items() if name != "register"])
def test_failed_read_before_a_write_is_service_unavailable_and_writes_nothing(
    registry, store, device, table_items, inject_dynamodb_error, subtests, write
):
    before = table_items()
    for name, failure in FAILURES.items():
        with subtests.test(failure=name):
            inject_dynamodb_error(store.client, "GetItem", failure, times=1)
            with pytest.raises(ServiceUnavailable):
                write(registry, device.id)
            assert table_items() == before


@pytest.mark.parametrize(("operation", "read"), READS.values(), ids=READS.keys())
def test_failed_read_is_service_unavailable(registry, store, device, inject_dynamodb_error, subtests, operation, read):
    for name, failure in FAILURES.items():
        with subtests.test(failure=name):
            inject_dynamodb_error(store.client, operation, failure, times=1)
            with pytest.raises(ServiceUnavailable) as raised:
                read(registry, device.id)
            assert "DynamoDB" not in raised.value.detail and "Exception" not in raised.value.detail
    assert read(registry, device.id)  # and once DynamoDB answers again, so does the read


def test_a_transaction_conflict_is_retried_like_a_lost_race(
    registry, store, device, inject_dynamodb_error, assert_table_consistent
):
    refused = inject_dynamodb_error(
        store.client, "TransactWriteItems", cancelled("TransactionConflict", "None"), times=1
    )
    assert registry.update(device.id, {"location": "Roof"}, expected=None, principal="bob").revision == 2
    assert len(refused) == 1
    assert_table_consistent()


def test_a_transaction_conflict_that_persists_is_a_concurrent_update_and_writes_nothing(
    registry, store, device, table_items, inject_dynamodb_error
):
    before = table_items()
    inject_dynamodb_error(store.client, "TransactWriteItems", cancelled("TransactionConflict", "None"))
    with pytest.raises(ConcurrentUpdate) as raised:
        registry.update(device.id, {"location": "Roof"}, expected=None, principal="bob")
    assert raised.value.retry_after == 1
    assert table_items() == before


def test_a_transaction_conflict_on_registration_is_service_unavailable_and_writes_nothing(
    registry, store, table_items, inject_dynamodb_error
):
    inject_dynamodb_error(store.client, "TransactWriteItems", cancelled("None", "TransactionConflict", "None"))
    with pytest.raises(ServiceUnavailable):
        registry.register(attributes(), "bob")
    assert table_items() == []


def test_a_missing_table_is_service_unavailable(registry, store, inject_dynamodb_error):
    inject_dynamodb_error(store.client, "GetItem", "ResourceNotFoundException")
    with pytest.raises(ServiceUnavailable):
        registry.get(UNKNOWN)
