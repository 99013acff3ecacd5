"""Fleet statistics (issue 11, item 3) on moto: the store applies a stream batch's counter
deltas at most once, spreads batches over the counter shards, and after a burst of concurrent
writes the counters (fed with the table's own stream, as moto's DynamoDB Streams delivers it)
equal a recount of the live devices."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest

from registry.domain.errors import ServiceUnavailable
from registry.schemas import DeviceAttributes, StatusUpdate
from registry.storage import keys as table
from registry.storage.codec import decode, encode
from registry.stream import stats
from tests.support import TABLE_NAME, DeviceBodies


def _stream_records(dynamodb: Any) -> list[dict[str, Any]]:
    """Every record of the table's stream so far, shaped as Lambda delivers them."""
    # moto (5.x, in-process) answers DescribeStream only at the regional URL given explicitly
    streams = boto3.client("dynamodbstreams", endpoint_url="https://streams.dynamodb.us-east-1.amazonaws.com")
    arn = dynamodb.describe_table(TableName=TABLE_NAME)["Table"]["LatestStreamArn"]
    records: list[dict[str, Any]] = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            page = streams.get_records(ShardIterator=iterator, Limit=1000)
            records += page["Records"]
            iterator = page.get("NextShardIterator") if page["Records"] else None
    return [{**record, "eventSourceARN": arn} for record in records]


@pytest.fixture
def streamed(dynamodb: Any) -> Any:
    dynamodb.update_table(
        TableName=TABLE_NAME, StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    )
    return lambda: _stream_records(dynamodb)


@pytest.fixture
def one_request_at_a_time(dynamodb: Any) -> None:
    """Each request atomic, as DynamoDB is (moto in-process is not thread-safe): the threads'
    requests still interleave in any order."""
    lock = threading.Lock()
    original = dynamodb._make_api_call

    def call(operation: str, params: dict[str, Any]) -> Any:
        with lock:
            return original(operation, params)

    dynamodb._make_api_call = call


def _recount(dynamodb: Any) -> dict[str, Any]:
    """The stats the hard way (a Scan, in a test only): every live device's buckets."""
    counts: Counter[stats.Bucket] = Counter()
    for page in dynamodb.get_paginator("scan").paginate(TableName=TABLE_NAME):
        for item in page["Items"]:
            counts.update(stats.buckets(decode(item)))
    return stats.summarize([{table.stats_attribute(*bucket): n for bucket, n in counts.items()}])


def _counted(store: Any) -> dict[str, Any]:
    shards, _ = store.get_stats()
    return stats.summarize(shards)


def _state_record(device_id: str, sequence: int, *, old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    change: dict[str, Any] = {
        "Keys": encode(table.device_key(device_id)),
        "NewImage": encode({**table.device_key(device_id), **new}),
        "SequenceNumber": f"{sequence:021d}",
    }
    if old is not None:
        change["OldImage"] = encode({**table.device_key(device_id), **old})
    return {"eventName": "MODIFY" if old else "INSERT", "eventSourceARN": "arn:stream", "dynamodb": change}


def _registrations(count: int, first: int = 0, **fields: Any) -> list[dict[str, Any]]:
    return [
        _state_record(f"d{n}", n, old=None, new={"status": "unknown", "device_type": "sensor", **fields})
        for n in range(first, first + count)
    ]


def test_a_redelivered_batch_counts_once(store: Any) -> None:
    batch = _registrations(3, firmware_version="1.0")
    assert stats.count_batch(store, batch) is True
    assert stats.count_batch(store, [dict(record) for record in batch]) is False  # Lambda's retry: same records
    assert _counted(store) == {
        "total": 3,
        "by_status": {"unknown": 3},
        "by_device_type": {"sensor": 3},
        "by_firmware_version": {"1.0": 3},
    }


def test_each_batch_writes_one_counter_item_and_one_marker(store: Any, dynamodb: Any) -> None:
    sent: list[list[dict[str, Any]]] = []
    dynamodb.meta.events.register(
        "provide-client-params.dynamodb.TransactWriteItems", lambda params, **_: sent.append(params["TransactItems"])
    )
    stats.count_batch(store, _registrations(100))
    ((items,),) = [sent]
    assert [next(iter(item)) for item in items] == ["Put", "Update"]  # marker + one shard, 100 devices
    marker = decode(items[0]["Put"]["Item"])
    assert marker[table.TTL_ATTRIBUTE] > 0  # markers expire: they never accumulate


def test_batches_spread_over_the_shards_so_no_counter_item_is_hot(store: Any, dynamodb: Any) -> None:
    writes: Counter[str] = Counter()

    def count(params: dict[str, Any], **_: Any) -> None:
        for item in params["TransactItems"]:
            if "Update" in item:
                writes[decode(item["Update"]["Key"])[table.PK]] += 1

    dynamodb.meta.events.register("provide-client-params.dynamodb.TransactWriteItems", count)
    for n in range(200):
        stats.count_batch(store, _registrations(2, first=2 * n))
    assert len(writes) == table.STATS_SHARDS
    assert max(writes.values()) <= 2 * 200 / table.STATS_SHARDS  # no shard takes twice its share
    assert _counted(store)["total"] == 400


def test_many_buckets_are_chunked_and_a_half_applied_batch_completes_on_redelivery(store: Any, dynamodb: Any) -> None:
    # 1,200 firmware versions: 1,203 buckets = 13 updates of ≤ 100, over two transactions
    # (10 shards each at most). The second transaction fails the first time.
    batch = [
        _state_record(
            f"d{n}", n, old=None, new={"status": "online", "device_type": "sensor", "firmware_version": f"v{n}"}
        )
        for n in range(1200)
    ]
    sent: list[int] = []
    dynamodb.meta.events.register(
        "provide-client-params.dynamodb.TransactWriteItems",
        lambda params, **_: sent.append(len(params["TransactItems"])),
    )
    original = dynamodb.transact_write_items
    calls = {"n": 0}

    def second_fails(**request: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise ServiceUnavailable("injected")
        return original(**request)

    store.client.transact_write_items = second_fails
    with pytest.raises(ServiceUnavailable):
        stats.count_batch(store, batch)
    half = _counted(store)  # buckets sort by name: the first transaction held device_type and 999 versions
    assert half["by_device_type"] == {"sensor": 1200} and half["total"] == 0
    store.client.transact_write_items = original
    assert stats.count_batch(store, batch) is True  # redelivered: the first is skipped, the second applied
    assert stats.count_batch(store, batch) is False
    answer = _counted(store)
    assert answer["total"] == 1200 and len(answer["by_firmware_version"]) == 1200
    assert all(n == 1 for n in answer["by_firmware_version"].values())
    assert max(sent) <= 1 + table.STATS_SHARDS  # marker + ≤ 10 shard updates: far below 100 items


def test_concurrent_batches_all_count(store: Any, one_request_at_a_time: None) -> None:
    batches = [_registrations(5, first=5 * n, device_type=f"type{n % 3}") for n in range(40)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda batch: stats.count_batch(store, batch), batches + batches))  # each delivered twice
    answer = _counted(store)
    assert answer["total"] == 200
    assert sum(answer["by_device_type"].values()) == 200


def test_stats_match_a_recount_after_a_burst_of_concurrent_writes(
    service: Any, store: Any, dynamodb: Any, streamed: Any, one_request_at_a_time: None
) -> None:
    bodies = DeviceBodies()
    devices = [
        service.register(
            DeviceAttributes.model_validate(bodies(firmware_version=random.choice(["1.0", "2.0", None]))), "t"
        )
        for _ in range(30)
    ]
    rng = random.Random(11)

    def writer(seed: int) -> None:
        local = random.Random(seed)
        for _ in range(15):
            device = local.choice(devices)
            action = local.random()
            try:
                if action < 0.6:
                    status = local.choice(["online", "offline", "error", "maintenance"])
                    service.set_status(device.id, StatusUpdate(status=status), expected=None, principal="w")
                elif action < 0.8:
                    patch = {"firmware_version": local.choice(["1.0", "2.0", "3.0", None])}
                    service.update(device.id, patch, expected=None, principal="w")
                elif action < 0.9:
                    service.delete(device.id, expected=None, principal="w")
                else:
                    service.restore(device.id, reason=None, principal="w")
            except Exception as error:  # a 404/409 of a write racing a delete or restore is part of the burst
                assert type(error).__module__ == "registry.domain.errors", error

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(writer, [rng.randrange(10**6) for _ in range(6)]))

    records = streamed()
    size = 7
    batches = [records[start : start + size] for start in range(0, len(records), size)]
    rng.shuffle(batches)  # batches of different stream shards arrive in any order
    for batch in batches + batches[: len(batches) // 2]:  # and half of them again
        stats.count_batch(store, batch)
    expected = _recount(dynamodb)
    assert expected["total"] > 0
    assert _counted(store) == expected


# -- GET /devices/stats ----------------------------------------------------------------------


def test_get_stats_answers_the_summed_shards_of_live_devices(invoke: Any, store: Any) -> None:
    response = invoke("device_stats", "/devices/stats")
    assert response["statusCode"] == 200
    assert response["json"] == {
        "total": 0,
        "by_status": {},
        "by_device_type": {},
        "by_firmware_version": {},
        "as_of": stats.NEVER,  # no change counted yet
    }
    first = _registrations(4, firmware_version="1.0")
    for record in first:  # stamped, as Lambda delivers every record: as_of never reads today's clock
        record["dynamodb"]["ApproximateCreationDateTime"] = 1_795_000_000
    stats.count_batch(store, first)
    moved = [
        _state_record(
            "d0",
            10,
            old={"status": "unknown", "device_type": "sensor", "firmware_version": "1.0"},
            new={"status": "online", "device_type": "sensor", "firmware_version": None},
        ),
        _state_record(
            "d1",
            11,
            old={"status": "unknown", "device_type": "sensor", "firmware_version": "1.0"},
            new={
                "status": "unknown",
                "device_type": "sensor",
                "firmware_version": "1.0",
                "deleted_at": "2026-11-27T06:00:00.000Z",
            },
        ),
    ]
    for record in moved:
        record["dynamodb"]["ApproximateCreationDateTime"] = 1_796_000_000
    stats.count_batch(store, moved)
    answer = invoke("device_stats", "/devices/stats")["json"]
    assert answer == {
        "total": 3,
        "by_status": {"online": 1, "unknown": 2},
        "by_device_type": {"sensor": 3},
        "by_firmware_version": {"1.0": 2},  # d0 has none now: in no firmware entry
        "as_of": "2026-11-30T00:53:20.000Z",  # the newest change counted (epoch 1,796,000,000)
    }


def test_the_local_server_routes_devices_stats_to_stats_not_to_a_device(api: Any) -> None:
    from local.proxy_events import match

    found, allowed = match("/devices/stats")
    assert [route.handler for route, _ in found] == ["device_stats"]
    assert allowed == ["GET", "HEAD"]
    answer = api.get("/devices/stats")
    assert answer.status_code == 200, answer.text
    assert set(answer.json()) == {"total", "by_status", "by_device_type", "by_firmware_version", "as_of"}
    assert api.delete("/devices/stats").status_code == 405  # not DELETE /devices/{device_id}


# -- the publisher's per-batch seam ----------------------------------------------------------


class _Publisher:
    """Stands in for the bus publisher: publishes everything but the records it is told fail."""

    def __init__(self, failing: set[str]) -> None:
        self.failing = failing

    def publish(self, records: list[dict[str, Any]]) -> Any:
        from registry.stream.publisher import BatchOutcome, PublishError

        return BatchOutcome(failures={n: PublishError("injected") for n in self.failing})


def test_the_publisher_counts_each_batch_once_and_only_up_to_its_first_failed_record(
    service: Any, store: Any, dynamodb: Any, streamed: Any
) -> None:
    from handlers import publish_changes

    publish_changes.stats_store.cache_clear()
    bodies = DeviceBodies()
    devices = [service.register(DeviceAttributes.model_validate(bodies()), "t") for _ in range(4)]
    for device in devices[:2]:
        service.set_status(device.id, StatusUpdate(status="online"), expected=None, principal="t")
    records = streamed()
    cut = next(n for n, r in enumerate(records) if n > 2 and decode(r["dynamodb"]["Keys"])[table.SK] == table.STATE_SK)
    failed = str(records[cut]["dynamodb"]["SequenceNumber"])

    publish_changes.process_batch(records, publisher=_Publisher({failed}))  # type: ignore[arg-type]
    partial = _counted(store)["total"]
    assert 0 < partial < 4  # the registrations before the failed record only
    publish_changes.process_batch(records, publisher=_Publisher({failed}))  # type: ignore[arg-type]
    assert _counted(store)["total"] == partial  # the same batch again: counted once
    publish_changes.process_batch(records[cut:], publisher=_Publisher(set()))  # type: ignore[arg-type]
    assert _counted(store) == _recount(dynamodb)  # Lambda's retry from the failed record: the rest
    assert _counted(store)["by_status"] == {"online": 2, "unknown": 2}


def test_the_local_server_counts_a_write_soon_after_it(api: Any) -> None:
    kind = f"stats-{random.randrange(10**9)}"  # a device type no other test uses
    mac = "06:" + ":".join(f"{random.randrange(256):02x}" for _ in range(5))  # the server is shared
    created = api.post("/devices", json=DeviceBodies()(device_type=kind, mac_address=mac))
    assert created.status_code == 201, created.text
    # How long the consumer may take before the count is called lost (patience, not a figure: a
    # loaded machine may be slow; the count must arrive, not arrive fast).
    deadline = time.monotonic() + 60
    while api.get("/devices/stats").json()["by_device_type"].get(kind) != 1:
        assert time.monotonic() < deadline, "the local stream consumer did not count the registration"
        time.sleep(0.1)
    assert api.delete(f"/devices/{created.json()['id']}").status_code == 204
    while kind in api.get("/devices/stats").json()["by_device_type"]:
        assert time.monotonic() < deadline + 60, "the local stream consumer did not count the deletion"
        time.sleep(0.1)
