"""The local server's embedded DynamoDB behaves as DynamoDB does where our reliability depends
on it: a transaction resent with its ClientRequestToken (botocore's retry after a lost answer)
succeeds without being applied twice; another token is a new transaction. And the local server's
pollers ask it only when a write may have given them work (local/activity.py)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from local.dynamodb import EmbeddedDynamoDB, create_tables
from local.stream import StreamPublisher
from registry.devices.service import DeviceService
from registry.schemas import DeviceAttributes
from registry.storage import keys as table
from registry.storage.devices import DeviceStore
from tests.support import DeviceBodies

TABLE, IDEMPOTENCY = "devices-embedded", "idempotency-embedded"


@pytest.fixture
def embedded() -> Iterator[Any]:
    server = EmbeddedDynamoDB().start()
    create_tables(server.endpoint, TABLE, IDEMPOTENCY)
    yield boto3.client("dynamodb", endpoint_url=server.endpoint)
    server.stop()


def _until(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout  # a bound against a hang, not a speed check
    while not condition():
        assert time.monotonic() < deadline, "not within 30 s"
        time.sleep(0.02)


def _key() -> dict[str, Any]:
    return {name: {"S": value} for name, value in table.mac_claim_key("02:00:00:00:00:01").items()}


def _claim(client: Any, token: str, device: str) -> dict[str, Any]:
    put = {
        "TableName": TABLE,
        "Item": {**_key(), "device_id": {"S": device}},
        "ConditionExpression": "attribute_not_exists(pk)",
    }
    return dict(client.transact_write_items(TransactItems=[{"Put": put}], ClientRequestToken=token))


def test_a_transaction_resent_with_its_token_succeeds_without_being_applied_twice(embedded):
    _claim(embedded, "token-1", "first")
    _claim(embedded, "token-1", "first")  # the resend: its condition would now fail

    with pytest.raises(ClientError) as refused:
        _claim(embedded, "token-2", "second")
    assert refused.value.response["Error"]["Code"] == "TransactionCanceledException"
    item = embedded.get_item(TableName=TABLE, Key=_key())
    assert item["Item"]["device_id"] == {"S": "first"}


# -- the pollers of an idle local server (local/activity.py) ---------------------------------


@pytest.mark.parametrize(
    ("poller", "wakes", "quiet"),
    [
        ("the change stream's reader", ("PutItem", "TransactWriteItems", "BatchWriteItem"), ("SendMessage",)),
        ("a job worker", ("SendMessage", "SendMessageBatch", "ChangeMessageVisibility"), ("PutItem",)),
    ],
)
def test_what_may_give_a_poller_work_wakes_it_and_the_pollers_reads_do_not(poller, wakes, quiet):
    server = EmbeddedDynamoDB().start()
    server.stop()
    activity = server.table_activity if "stream" in poller else server.queue_activity
    activity.idle_poll_s = 0.01
    polls = ("GetRecords", "DescribeStream", "GetShardIterator", "ReceiveMessage", "Query", "GetItem")
    for operation in polls + quiet:
        mark = activity.mark()
        activity.served(operation)
        assert not activity.wait(mark), f"{operation} woke {poller}"
    for operation in wakes:
        mark = activity.mark()
        activity.served(operation)
        assert activity.wait(mark), f"{operation} did not wake {poller}"


def test_an_idle_change_stream_reader_waits_for_a_write_and_publishes_it(tmp_path):
    """With no backstop poll (an hour), the event can only come from the write waking the reader;
    and while nothing is written, the reader does not ask the embedded DynamoDB at all."""
    server = EmbeddedDynamoDB().start()  # moto's state is the process's: tables of their own
    server.table_activity.idle_poll_s = 3600
    events, devices = tmp_path / "events.jsonl", "devices-idle"
    try:
        create_tables(server.endpoint, devices, "idempotency-idle")
        stream = StreamPublisher(server.endpoint, devices, str(events), activity=server.table_activity).start()
        _until(lambda: stream.idle_rounds >= 1)
        polls = server.requests["DynamoDBStreams_20120810.GetRecords"]
        time.sleep(0.3)  # idle: any poll now would be one more GetRecords
        assert server.requests["DynamoDBStreams_20120810.GetRecords"] == polls

        service = DeviceService(DeviceStore(boto3.client("dynamodb", endpoint_url=server.endpoint), devices))
        device = service.register(DeviceAttributes(**DeviceBodies()()), "tester")
        _until(lambda: events.exists() and device.id in events.read_text())
        stream.stop()
    finally:
        server.stop()
