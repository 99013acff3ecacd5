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
        "by_liveness": {},  # these records carry no liveness
        "other": {},
    }


def test_each_batch_writes_one_marker_and_each_shard_it_touches_once(store: Any, dynamodb: Any) -> None:
    sent: list[list[dict[str, Any]]] = []
    dynamodb.meta.events.register(
        "provide-client-params.dynamodb.TransactWriteItems", lambda params, **_: sent.append(params["TransactItems"])
    )
    stats.count_batch(store, _registrations(100))
    ((items,),) = [sent]
    # marker + the batch's shard (total, status) + the device type's home shard (if another)
    expected = {stats.shard_for(stats.batch_id(_registrations(100))), stats.home_shard("device_type", "sensor")}
    assert [next(iter(item)) for item in items] == ["Put"] + ["Update"] * len(expected)
    marker = decode(items[0]["Put"]["Item"])
    assert marker[table.TTL_ATTRIBUTE] > 0  # markers expire: they never accumulate


def test_batches_spread_the_total_over_the_shards_so_no_counter_item_is_hot(store: Any, dynamodb: Any) -> None:
    writes: Counter[str] = Counter()
    total = table.stats_attribute("total", "")

    def count(params: dict[str, Any], **_: Any) -> None:
        for item in params["TransactItems"]:
            if "Update" in item and total in item["Update"]["ExpressionAttributeNames"].values():
                writes[decode(item["Update"]["Key"])[table.PK]] += 1

    dynamodb.meta.events.register("provide-client-params.dynamodb.TransactWriteItems", count)
    for n in range(200):
        stats.count_batch(store, _registrations(2, first=2 * n))
    assert len(writes) == table.STATS_SHARDS
    assert max(writes.values()) <= 2 * 200 / table.STATS_SHARDS  # no shard takes twice its share
    assert _counted(store)["total"] == 400


def test_many_buckets_are_chunked_and_a_half_applied_batch_completes_on_redelivery(store: Any, dynamodb: Any) -> None:
    # 1,200 firmware versions: ~120 per home shard, so two transactions of ≤ 100 counters per shard
    # update (10 shards each at most). The second transaction fails the first time.
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
    store.defer_stats = _refused  # so the failure reaches the test (deferral is tested below)
    with pytest.raises(ServiceUnavailable):
        stats.count_batch(store, batch)
    half = _counted(store)
    firmware = sum(half["by_firmware_version"].values()) + half["other"].get("firmware_version", 0)
    assert 0 < firmware < 1200  # the first transaction's counters, not the second's
    store.client.transact_write_items = original
    assert stats.count_batch(store, batch) is True  # redelivered: the first is skipped, the second applied
    assert stats.count_batch(store, batch) is False
    answer = _counted(store)
    assert answer["total"] == 1200 and answer["by_device_type"] == {"sensor": 1200}
    named = answer["by_firmware_version"]
    assert all(n == 1 for n in named.values())
    assert len(named) == stats.NAMED_PER_SHARD * table.STATS_SHARDS  # 50 per shard named, the rest other
    assert len(named) + answer["other"]["firmware_version"] == 1200
    assert max(sent) <= 1 + table.STATS_SHARDS  # marker + ≤ 10 shard updates: far below 100 items


def _refused(*_: Any, **__: Any) -> None:
    raise ServiceUnavailable("injected: the deferral refused too")


def _shard_sizes(dynamodb: Any) -> list[int]:
    """Each counter shard's size as DynamoDB bills it: attribute names and values (number bytes ≈ digits)."""
    sizes = []
    for shard in range(table.STATS_SHARDS):
        item = dynamodb.get_item(TableName=TABLE_NAME, Key=encode(table.stats_shard_key(shard))).get("Item", {})
        sizes.append(sum(len(name) + len(next(iter(value.values()))) for name, value in item.items()))
    return sizes


def test_sixty_thousand_distinct_firmware_versions_keep_every_shard_small(store: Any, dynamodb: Any) -> None:
    # Issue 21 item 1: unbounded, ~53,000 distinct 64-character versions made a shard item reach
    # DynamoDB's 400 KB and every later batch fail. Bounded: ≤ 50 named per dimension per shard.
    versions = [f"{n:064d}" for n in range(60_000)]
    for start in range(0, len(versions), 1000):
        chunk = {("firmware_version", v): 1 for v in versions[start : start + 1000]}
        assert store.apply_stats(f"in-{start}", {("total", ""): 1000, **chunk}, as_of=stats.NEVER)
    sizes = _shard_sizes(dynamodb)
    assert max(sizes) < 10_000  # bytes: 50 names of 66 bytes and a few counters, not 400 KB
    answer = _counted(store)
    assert answer["total"] == 60_000
    assert len(answer["by_firmware_version"]) == 500
    assert len(answer["by_firmware_version"]) + answer["other"]["firmware_version"] == 60_000
    # Every device leaves its version: named counters back at 0 are removed, other is back at 0.
    for start in range(0, len(versions), 1000):
        chunk = {("firmware_version", v): -1 for v in versions[start : start + 1000]}
        store.apply_stats(f"out-{start}", {("total", ""): -1000, **chunk}, as_of=stats.NEVER)
    assert _counted(store) == {
        "total": 0,
        "by_status": {},
        "by_device_type": {},
        "by_firmware_version": {},
        "by_liveness": {},
        "other": {},
    }
    for shard in range(table.STATS_SHARDS):
        item = decode(dynamodb.get_item(TableName=TABLE_NAME, Key=encode(table.stats_shard_key(shard)))["Item"])
        assert not [name for name in item if name.startswith(table.stats_attribute("firmware_version", ""))]


def test_a_full_shard_still_names_a_value_it_already_counts(store: Any) -> None:
    shard = stats.home_shard("firmware_version", "kept")
    same_shard = [v for v in (f"v{n}" for n in range(5000)) if stats.home_shard("firmware_version", v) == shard]
    store.apply_stats("first", {("firmware_version", "kept"): 1}, as_of=stats.NEVER)
    filling = {("firmware_version", v): 1 for v in same_shard[: stats.NAMED_PER_SHARD]}
    store.apply_stats("fill", filling, as_of=stats.NEVER)  # 49 named beside "kept", one to other
    store.apply_stats("again", {("firmware_version", "kept"): 2}, as_of=stats.NEVER)
    answer = _counted(store)
    assert answer["by_firmware_version"]["kept"] == 3
    assert answer["other"] == {"firmware_version": 1}


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


def test_a_failed_statistics_write_is_deferred_and_neither_fails_nor_republishes_the_batch(
    store: Any, dynamodb: Any
) -> None:
    from handlers import publish_changes

    def deferred() -> list[Any]:
        return dynamodb.query(
            TableName=TABLE_NAME,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": table.STATS_DEFERRED_PK}},
        )["Items"]

    original = store.client.transact_write_items

    def refused(**_: Any) -> Any:
        raise ServiceUnavailable("injected")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(publish_changes, "stats_store", lambda: store)  # the consumer's store is the test's
        patch.setattr(store.client, "transact_write_items", refused)
        outcome = publish_changes.process_batch(_registrations(3), publisher=_Publisher(set()))  # type: ignore[arg-type]
        assert outcome.failures == {}  # the batch succeeds: Lambda does not deliver (and publish) it again
        assert _counted(store)["total"] == 0 and len(deferred()) == 1  # not counted yet, but kept
        patch.setattr(store.client, "transact_write_items", original)
        publish_changes.process_batch(_registrations(2, first=10), publisher=_Publisher(set()))  # type: ignore[arg-type]
    assert _counted(store)["total"] == 5  # the deferred 3, then the next batch's 2, each once
    assert deferred() == []


def test_a_statistics_failure_fails_the_batch_only_if_deferring_it_fails_too(store: Any) -> None:
    def refused(**_: Any) -> Any:
        raise ServiceUnavailable("injected")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(store.client, "transact_write_items", refused)
        patch.setattr(store, "defer_stats", _refused)
        with pytest.raises(ServiceUnavailable):  # Lambda retries the batch: its counts are not lost
            stats.count_batch(store, _registrations(3))
    assert stats.count_batch(store, _registrations(3)) is True


# -- GET /devices/stats ----------------------------------------------------------------------


def test_get_stats_answers_the_summed_shards_of_live_devices(invoke: Any, store: Any) -> None:
    response = invoke("device_stats", "/devices/stats")
    assert response["statusCode"] == 200
    assert response["json"] == {
        "total": 0,
        "by_status": {},
        "by_device_type": {},
        "by_firmware_version": {},
        "by_liveness": {},
        "other": {},
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
        "by_liveness": {},
        "other": {},
        "as_of": "2026-11-30T00:53:20.000Z",  # the newest change counted (epoch 1,796,000,000)
    }


def test_the_local_server_routes_devices_stats_to_stats_not_to_a_device(api: Any) -> None:
    from local.proxy_events import match

    found, allowed = match("/devices/stats")
    assert [route.handler for route, _ in found] == ["device_stats"]
    assert allowed == ["GET", "HEAD"]
    answer = api.get("/devices/stats")
    assert answer.status_code == 200, answer.text
    assert set(answer.json()) == {
        "total",
        *("by_status", "by_device_type", "by_firmware_version", "by_liveness"),
        *("other", "as_of"),
    }
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
