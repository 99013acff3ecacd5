"""Change events (issue 11, item 1): the publisher turns each new history item on the table's
stream into one EventBridge entry and nothing else into anything. The records are the ones moto's
DynamoDB Streams delivers for the service's own writes, so the images are what DynamoDB stores."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from local.proxy_events import LambdaContext
from registry.schemas import DeviceAttributes, StatusUpdate
from registry.settings import get_publisher_settings
from registry.storage import keys as table
from registry.storage.codec import encode
from registry.stream import change_events as events
from registry.stream.publisher import EventBridgeSink, Publisher
from tests.support import ROOT, TABLE_NAME, DeviceBodies

BUS = "device-registry-test"
DETAIL_FIELDS = {"device_id", "revision", "kind", "at", "changed_by", "changes", "snapshot"}


def _stream_records(dynamodb: Any) -> list[dict[str, Any]]:
    """Every record of the table's stream so far, shaped as Lambda delivers them."""
    # moto (5.x, in-process) answers DescribeStream only at the regional URL given explicitly
    streams = boto3.client("dynamodbstreams", endpoint_url="https://streams.dynamodb.us-east-1.amazonaws.com")
    arn = dynamodb.describe_table(TableName=TABLE_NAME)["Table"]["LatestStreamArn"]
    records = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        records += streams.get_records(ShardIterator=iterator)["Records"]
    return [{**r, "eventSourceARN": arn} for r in records]


@pytest.fixture
def streamed(dynamodb: Any) -> Any:
    dynamodb.update_table(
        TableName=TABLE_NAME, StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    )
    return lambda: _stream_records(dynamodb)


@pytest.fixture
def bus(dynamodb: Any) -> Any:  # inside mock_aws
    client = boto3.client("events")
    client.create_event_bus(Name=BUS)
    return client


_BODIES = DeviceBodies()


def _every_kind(service: Any) -> str:
    """One device through every kind of revision: created, config, status, a revert, deleted, restored."""
    device = service.register(DeviceAttributes.model_validate(_BODIES()), "alice")
    service.update(device.id, {"location": "hall 2"}, expected=None, principal="bob")
    service.set_status(device.id, StatusUpdate(status="online", reason="boot"), expected=None, principal="gw")
    service.revert(device.id, 1, reason="wrong hall", expected=None, principal="bob")
    service.delete(device.id, expected=None, principal="carol")
    service.restore(device.id, reason="still in use", principal="carol")
    return str(device.id)


def test_every_kind_of_revision_maps_to_its_detail_type_and_the_entry_clients_see(service, streamed) -> None:
    device_id = _every_kind(service)

    published = [e for e in map(events.change_event, streamed()) if e is not None]

    assert [(e["DetailType"], e["Detail"]["revision"]) for e in published] == [
        ("Device registered", 1),
        ("Device updated", 2),
        ("Device status changed", 3),
        ("Device updated", 4),
        ("Device deleted", 5),
        ("Device restored", 6),
    ]
    assert {e["Source"] for e in published} == {"device-registry"}
    for event in published:
        detail = event["Detail"]
        assert detail["device_id"] == device_id
        assert DETAIL_FIELDS <= set(detail) <= DETAIL_FIELDS | {"reverted_to", "reason"}
        assert json.loads(json.dumps(detail)) == detail  # plain JSON, no Decimal
        assert detail["at"].endswith("Z")
    by_revision = {e["Detail"]["revision"]: e["Detail"] for e in published}
    assert by_revision[2]["changes"] == {"location": {"old": by_revision[1]["snapshot"]["location"], "new": "hall 2"}}
    assert by_revision[3]["snapshot"]["status"] == "online" and by_revision[3]["snapshot"]["reason"] == "boot"
    assert (by_revision[4]["reverted_to"], by_revision[4]["reason"]) == (1, "wrong hall")
    assert by_revision[6]["reason"] == "still in use" and "reverted_to" not in by_revision[6]
    assert "reason" not in by_revision[2] and "reverted_to" not in by_revision[2]


def test_nothing_but_history_inserts_publishes(service, streamed) -> None:
    _every_kind(service)
    records = streamed()
    kinds = {(r["eventName"], json.loads(json.dumps(r["dynamodb"]["Keys"]["sk"]))["S"].split("#")[0]) for r in records}

    ignored = [r for r in records if events.change_event(r) is None]

    assert ("MODIFY", "STATE") in kinds and ("INSERT", "CLAIM") in kinds  # the stream carries them all
    assert ignored and all(
        r["eventName"] != "INSERT" or not r["dynamodb"]["Keys"]["sk"]["S"].startswith(table.REVISION_PREFIX)
        for r in ignored
    )


def _history_record(event_name: str, device_id: str, revision: int, sequence: int, **image: Any) -> dict[str, Any]:
    keys = {table.PK: table.device_pk(device_id), table.SK: table.revision_sk(revision)}
    item = {
        **keys,
        "revision": revision,
        "kind": "status",
        "at": "2026-11-27T06:00:00.000Z",
        "changed_by": "gw",
        "changes": {"status": {"old": "unknown", "new": "online"}},
        "snapshot": {"status": "online", "reason": None},
        **image,
    }
    images = {"NewImage": encode(item)} if event_name != "REMOVE" else {"OldImage": encode(item)}
    record: dict[str, Any] = {
        "eventID": f"e{sequence}",
        "eventName": event_name,
        "eventSource": "aws:dynamodb",
        "dynamodb": {"Keys": encode(keys), "SequenceNumber": str(sequence), **images},
    }
    if event_name == "REMOVE":
        record["userIdentity"] = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    return record


def test_a_ttl_expiry_and_a_rewrite_publish_nothing_and_stored_only_fields_never_leak() -> None:
    expiry = _history_record("REMOVE", "d1", 3, 1, expires_at=1_800_000_000)
    rewrite = _history_record("MODIFY", "d1", 4, 2, created_at="2026-11-27T05:00:00.000Z")
    insert = _history_record(
        "INSERT", "d1", 5, 3, expires_at=1_800_000_000, created_at="2026-11-27T05:00:00.000Z", h_at="x", h_kind_at="y"
    )

    assert events.change_event(expiry) is None
    assert events.change_event(rewrite) is None
    detail = events.change_event(insert)["Detail"]  # type: ignore[index]
    assert set(detail) == DETAIL_FIELDS


def _messages(client: Any) -> list[dict[str, Any]]:
    """What a rule on the bus delivered to its SQS target: the events as EventBridge carries them."""
    sqs = boto3.client("sqs")
    return [
        json.loads(m["Body"])
        for m in sqs.receive_message(QueueUrl=client.queue_url, MaxNumberOfMessages=10).get("Messages", [])
    ]


def test_a_batch_reaches_the_bus_in_order_in_calls_of_at_most_ten(service, streamed, bus) -> None:
    device_id = _every_kind(service)
    for n in range(8):
        service.set_status(
            device_id, StatusUpdate(status="online" if n % 2 else "offline"), expected=None, principal="gw"
        )
    calls: list[int] = []
    bus.meta.events.register(
        "before-parameter-build.events.PutEvents", lambda params, **_: calls.append(len(params["Entries"]))
    )

    outcome = Publisher(EventBridgeSink(bus, BUS), sleep=lambda _: None).publish(streamed())

    assert outcome.failures == {}
    assert [e["Detail"]["revision"] for e in outcome.published] == list(range(1, 15))
    assert calls == [10, 4]


def _sequences(records: list[dict[str, Any]], device_id: str | None = None) -> list[str]:
    return [
        r["dynamodb"]["SequenceNumber"]
        for r in records
        if events.change_event(r) and (device_id is None or r["dynamodb"]["Keys"]["pk"]["S"].endswith(device_id))
    ]


def test_an_unreadable_record_fails_alone_and_holds_back_only_its_devices_later_records(service, streamed, bus) -> None:
    first = _every_kind(service)
    second = _every_kind(service)
    records = streamed()
    first_history = _sequences(records, first)
    broken_at = next(i for i, r in enumerate(records) if r["dynamodb"]["SequenceNumber"] == first_history[2])
    records[broken_at] = {
        **records[broken_at],
        "dynamodb": {**records[broken_at]["dynamodb"], "NewImage": {"kind": {"Z": "?"}}},
    }

    outcome = Publisher(EventBridgeSink(bus, BUS), sleep=lambda _: None).publish(records)

    assert set(outcome.failures) == set(first_history[2:])  # revision 3 and what follows it
    assert [(e["Detail"]["device_id"], e["Detail"]["revision"]) for e in outcome.published] == [
        (first, 1),
        (first, 2),
        *[(second, r) for r in range(1, 7)],
    ]


def test_per_entry_failures_are_retried_with_backoff_then_published(service, streamed, bus) -> None:
    _every_kind(service)
    records = streamed()
    stubber = Stubber(bus)
    stubber.add_response(
        "put_events",
        {
            "FailedEntryCount": 2,
            "Entries": [
                {"EventId": "1"},
                {"ErrorCode": "ThrottlingException", "ErrorMessage": "slow down"},
                {"EventId": "3"},
                {"ErrorCode": "InternalFailure", "ErrorMessage": "oops"},
                {"EventId": "5"},
                {"EventId": "6"},
            ],
        },
    )
    stubber.add_response(
        "put_events",
        {"FailedEntryCount": 1, "Entries": [{"EventId": "2"}, {"ErrorCode": "InternalFailure", "ErrorMessage": "x"}]},
    )
    sent: list[list[int]] = []
    stubber.add_response("put_events", {"FailedEntryCount": 0, "Entries": [{"EventId": "4"}]})
    bus.meta.events.register(
        "before-parameter-build.events.PutEvents",
        lambda params, **_: sent.append([json.loads(e["Detail"])["revision"] for e in params["Entries"]]),
    )
    sleeps: list[float] = []

    with stubber:
        outcome = Publisher(EventBridgeSink(bus, BUS), sleep=sleeps.append).publish(records)

    stubber.assert_no_pending_responses()
    assert sent == [[1, 2, 3, 4, 5, 6], [2, 4], [4]]
    assert outcome.failures == {} and len(outcome.published) == 6
    assert len(sleeps) == 2 and all(s >= 0 for s in sleeps)


def test_an_entry_still_refused_after_the_bounded_retries_fails_its_record_never_silently(
    service, streamed, bus
) -> None:
    device_id = _every_kind(service)
    records = streamed()
    stubber = Stubber(bus)
    for _ in range(3):
        stubber.add_response(
            "put_events",
            {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "down"}]},
        )
    history = _sequences(records, device_id)
    only_first = [r for r in records if r["dynamodb"]["SequenceNumber"] not in history[1:]]

    with stubber:
        outcome = Publisher(EventBridgeSink(bus, BUS), attempts=3, sleep=lambda _: None).publish(only_first)

    assert outcome.published == []
    assert list(outcome.failures) == [history[0]]
    assert "InternalFailure" in str(outcome.failures[history[0]])


def test_chunks_respect_the_size_limit_and_keep_the_order() -> None:
    big = {"Source": "s", "DetailType": "t", "Detail": "x" * 100_000}
    small = {"Source": "s", "DetailType": "t", "Detail": "{}"}
    entries = [big, small, big, big, *[small] * 12]

    groups = list(events.chunks(entries))

    assert [len(g) for g in groups] == [3, 10, 3]
    assert [e for g in groups for e in g] == entries
    assert all(sum(events.entry_size(e) for e in g) <= events.MAX_BYTES_PER_CALL for g in groups)


SAMPLE = json.loads((ROOT / "events" / "publish_changes.json").read_text(encoding="utf-8"))


@pytest.fixture
def handler(bus: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    from handlers import publish_changes

    monkeypatch.setenv("EVENT_BUS_NAME", BUS)
    get_publisher_settings.cache_clear()
    publish_changes.bus_publisher.cache_clear()
    yield publish_changes
    get_publisher_settings.cache_clear()
    publish_changes.bus_publisher.cache_clear()


def test_the_handler_publishes_the_sample_streams_history_items_and_reports_no_failure(handler, dynamodb) -> None:
    published: list[list[str]] = []
    handler.bus_publisher().sink.events.meta.events.register(
        "before-parameter-build.events.PutEvents",
        lambda params, **_: published.append([e["DetailType"] for e in params["Entries"]]),
    )

    answer = handler.lambda_handler(SAMPLE, LambdaContext())

    assert answer == {"batchItemFailures": []}
    assert published == [["Device registered", "Device status changed"]]  # not the claim, STATE, holders, TTL removal


def test_the_handler_reports_exactly_the_failed_records_as_batch_item_failures(handler, dynamodb) -> None:
    event = json.loads(json.dumps(SAMPLE))
    history = [r for r in event["Records"] if r["eventName"] == "INSERT" and "REV#" in r["dynamodb"]["Keys"]["sk"]["S"]]
    history[0]["dynamodb"]["NewImage"]["kind"] = {"S": "no such kind"}

    answer = handler.lambda_handler(event, LambdaContext())

    failed = [item["itemIdentifier"] for item in answer["batchItemFailures"]]
    assert failed == [r["dynamodb"]["SequenceNumber"] for r in history]  # the bad one and its device's later one
