"""The devices a batch of status reports concerns are read in one BatchGetItem; the keys DynamoDB
leaves unprocessed (it does under throttling) are asked for again, a bounded number of times."""

import json

import pytest
from botocore.awsrequest import AWSResponse

from registry.domain.errors import ServiceUnavailable
from registry.schemas import DeviceAttributes
from registry.storage.device_reads import BATCH_GET_ATTEMPTS
from tests.support import DYNAMODB_ENDPOINT, TABLE_NAME


@pytest.fixture
def unprocessed(dynamodb):
    """Answer the first ``times`` BatchGetItem calls with every key unprocessed; count all calls."""
    state = {"times": 0, "calls": 0}

    def leave_unprocessed(params, **_):
        state["calls"] += 1
        if state["calls"] > state["times"]:
            return None
        keys = json.loads(params["body"])["RequestItems"][TABLE_NAME]
        parsed = {"Responses": {TABLE_NAME: []}, "UnprocessedKeys": {TABLE_NAME: keys}}
        return AWSResponse(DYNAMODB_ENDPOINT, 200, {}, None), parsed

    dynamodb.meta.events.register("before-call.dynamodb.BatchGetItem", leave_unprocessed)
    return state


def register(service, n):
    attributes = DeviceAttributes(name=f"Device {n}", device_type="sensor", mac_address=f"02:00:00:00:00:{n:02x}")
    return service.register(attributes, "bob")


def test_unprocessed_keys_are_asked_for_again_and_every_device_is_read(service, store, unprocessed):
    devices = [register(service, n) for n in range(3)]
    unprocessed["times"] = 2
    unknown = "0190f5e2-7a3b-7c1d-9e2f-3a4b5c6d7e8f"
    found = store.get_devices([device.id for device in devices] + [unknown])
    assert found == {device.id: device for device in devices}
    assert unprocessed["calls"] == 3


def test_keys_still_unprocessed_after_the_last_attempt_are_503(service, store, unprocessed):
    device = register(service, 1)
    unprocessed["times"] = BATCH_GET_ATTEMPTS
    with pytest.raises(ServiceUnavailable):
        store.get_devices([device.id])
    assert unprocessed["calls"] == BATCH_GET_ATTEMPTS
