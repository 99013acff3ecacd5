"""Fleet statistics (issue 11, item 3), the pure part: counter deltas of stream records. Summing
the deltas of any sequence of registrations, updates, status changes, deletes and restores gives
a recount of the final states; everything but device state items is ignored. No DynamoDB here."""

from __future__ import annotations

from collections import Counter
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from registry.storage import keys as table
from registry.storage.codec import encode
from registry.stream import stats

STATUSES = ("unknown", "online", "offline", "maintenance", "error", "decommissioned")
TYPES = ("sensor", "gateway", "camera")
FIRMWARE = (None, "1.0", "1.1", "2.0")


def _state(device_id: str, **fields: Any) -> dict[str, Any]:
    return {
        **table.device_key(device_id),
        "id": device_id,
        "name": "n",
        "status": "unknown",
        "device_type": "sensor",
        "firmware_version": None,
        "deleted_at": None,
        **fields,
    }


def _record(event: str, old: dict[str, Any] | None, new: dict[str, Any] | None, sequence: int) -> dict[str, Any]:
    keys_from = new or old
    assert keys_from is not None
    change: dict[str, Any] = {
        "Keys": encode({table.PK: keys_from[table.PK], table.SK: keys_from[table.SK]}),
        "SequenceNumber": f"{sequence:021d}",
        "ApproximateCreationDateTime": 1_796_000_000 + sequence,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if old is not None:
        change["OldImage"] = encode(old)
    if new is not None:
        change["NewImage"] = encode(new)
    return {"eventName": event, "eventSourceARN": "arn:stream", "dynamodb": change}


def _recount(states: dict[str, dict[str, Any]]) -> Counter[stats.Bucket]:
    counts: Counter[stats.Bucket] = Counter()
    for state in states.values():
        counts.update(stats.buckets(state))
    return counts


def test_a_live_device_counts_in_total_and_its_three_buckets() -> None:
    state = _state("a", status="online", firmware_version="1.0")
    assert stats.buckets(state) == [
        ("total", ""),
        ("status", "online"),
        ("device_type", "sensor"),
        ("firmware_version", "1.0"),
    ]


def test_no_firmware_version_is_no_firmware_bucket_and_a_tombstone_counts_nowhere() -> None:
    assert ("firmware_version", "none") not in stats.buckets(_state("a"))
    assert [b for b in stats.buckets(_state("a")) if b[0] == "firmware_version"] == []
    assert stats.buckets(_state("a", deleted_at="2026-11-27T06:00:00.000Z")) == []


def test_a_status_change_moves_one_device_between_status_buckets() -> None:
    old, new = _state("a"), _state("a", status="online", revision=2)
    assert stats.deltas([_record("MODIFY", old, new, 1)]) == {("status", "online"): 1, ("status", "unknown"): -1}


def test_a_change_of_no_counted_field_changes_nothing() -> None:
    old, new = _state("a"), _state("a", name="renamed", location="hall")
    assert stats.deltas([_record("MODIFY", old, new, 1)]) == {}


def test_everything_but_device_state_items_is_ignored() -> None:
    history = {**table.revision_key("a", 1), "status": "online", "device_type": "sensor"}
    claim = {**table.mac_claim_key("00:1a:2b:3c:4d:5e"), "device_id": "a"}
    ledger = {**table.migration_key(1), "status": "done"}
    shard = {**table.stats_shard_key(0), table.stats_attribute("status", "online"): 3}
    records = [
        _record(event, None, item, n)
        for n, (event, item) in enumerate(
            [("INSERT", history), ("INSERT", claim), ("INSERT", ledger), ("INSERT", shard)]
        )
    ]
    records.append(_record("REMOVE", history, None, 9))  # a TTL expiry of a history entry
    assert stats.deltas(records) == {}


def test_the_batch_id_is_the_stream_and_the_first_and_last_sequence_numbers() -> None:
    records = [_record("INSERT", None, _state(str(n)), n) for n in (7, 8, 9)]
    assert stats.batch_id(records) == f"arn:stream|{7:021d}|{9:021d}"
    assert stats.batch_id(records) == stats.batch_id([dict(r) for r in records])  # redelivered: same id
    assert stats.batch_id(records[:2]) != stats.batch_id(records)


def test_batches_spread_over_every_shard() -> None:
    shards = Counter(stats.shard_for(f"arn|{n}|{n + 99}") for n in range(0, 100_000, 100))
    assert set(shards) == set(range(table.STATS_SHARDS))
    assert max(shards.values()) < 2 * 1000 / table.STATS_SHARDS  # 1,000 batches: none takes twice its share


def test_summarize_sums_the_shards_and_leaves_zero_counts_out() -> None:
    def shard(**counts: int) -> dict[str, int]:
        return {table.stats_attribute(*name.split("__")): n for name, n in counts.items()}

    shards = [
        shard(total__=2, status__online=2, status__error=0, device_type__sensor=2, firmware_version__1=1),
        shard(total__=1, status__online=-1, status__offline=2, device_type__camera=1, liveness__silent=1),
    ]
    assert stats.summarize(shards) == {
        "total": 3,
        "by_status": {"offline": 2, "online": 1},
        "by_device_type": {"camera": 1, "sensor": 2},
        "by_firmware_version": {"1": 1},
        "by_liveness": {"silent": 1},
        "other": {},
    }


class _Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[stats.Bucket, int], str]] = []

    def apply_stats(self, batch: str, changes: Any, *, as_of: str) -> bool:
        self.calls.append((batch, dict(changes), as_of))
        return True

    def defer_stats(self, batch: str, changes: Any, *, as_of: str) -> None:
        raise AssertionError("nothing fails here")

    def apply_deferred_stats(self) -> int:
        return 0


def test_count_batch_is_one_store_call_per_batch_and_none_without_counted_changes() -> None:
    store = _Recorder()
    records = [_record("INSERT", None, _state("a"), 1), _record("INSERT", None, _state("b", status="online"), 2)]
    assert stats.count_batch(store, records) is True
    ((batch, changes, as_of),) = store.calls
    assert batch == stats.batch_id(records)
    assert changes[("total", "")] == 2
    assert as_of.endswith("Z")
    history = {**table.revision_key("a", 1)}
    assert stats.count_batch(store, [_record("INSERT", None, history, 3)]) is False
    assert len(store.calls) == 1


def test_only_the_records_before_the_first_failed_one_count() -> None:
    store = _Recorder()
    records = [_record("INSERT", None, _state(f"d{n}"), n) for n in range(5)]
    stats.count_batch(store, records, failed={f"{3:021d}", f"{4:021d}"})
    ((batch, changes, _),) = store.calls
    assert changes[("total", "")] == 3 and batch == stats.batch_id(records[:3])
    stats.count_batch(store, records[3:])  # Lambda's retry from the failed record: the rest, once
    assert sum(changes[("total", "")] for _, changes, _ in store.calls) == 5
    assert stats.count_batch(store, records, failed={f"{0:021d}"}) is False  # nothing before it


# -- any sequence of writes: the deltas add up to a recount --------------------------------

_operation = st.one_of(
    st.tuples(st.just("register"), st.sampled_from(TYPES), st.sampled_from(FIRMWARE)),
    st.tuples(st.just("status"), st.integers(0, 9), st.sampled_from(STATUSES)),
    st.tuples(st.just("update"), st.integers(0, 9), st.sampled_from(TYPES), st.sampled_from(FIRMWARE)),
    st.tuples(st.just("rename"), st.integers(0, 9)),
    st.tuples(st.just("delete"), st.integers(0, 9)),
    st.tuples(st.just("restore"), st.integers(0, 9)),
    st.tuples(st.just("history"), st.integers(0, 9)),
)


def _apply(states: dict[str, dict[str, Any]], operation: tuple[Any, ...], n: int) -> dict[str, Any] | None:
    """Performs one write on the model; its stream record (None when it writes nothing)."""
    kind = operation[0]
    if kind == "register":
        device_id = f"d{len(states)}"
        states[device_id] = _state(device_id, device_type=operation[1], firmware_version=operation[2], revision=1)
        return _record("INSERT", None, states[device_id], n)
    ids = sorted(states)
    if not ids:
        return None
    device_id = ids[operation[1] % len(ids)]
    old = states[device_id]
    deleted = old["deleted_at"] is not None
    if kind == "history":
        return _record("INSERT", None, {**table.revision_key(device_id, n), "status": "online"}, n)
    if kind == "delete" and not deleted:
        new = {**old, "deleted_at": "2026-11-27T06:00:00.000Z"}
    elif kind == "restore" and deleted:
        new = {**old, "deleted_at": None}
    elif kind == "status" and not deleted:
        new = {**old, "status": operation[2]}
    elif kind == "update" and not deleted:
        new = {**old, "device_type": operation[2], "firmware_version": operation[3]}
    elif kind == "rename" and not deleted:
        new = {**old, "name": f"name {n}"}
    else:
        return None
    new["revision"] = old.get("revision", 1) + 1
    states[device_id] = new
    return _record("MODIFY", old, new, n)


@settings(max_examples=200, deadline=None)
@given(operations=st.lists(_operation, max_size=60), batch_size=st.integers(1, 12))
def test_the_deltas_of_any_write_sequence_add_up_to_a_recount(
    operations: list[tuple[Any, ...]], batch_size: int
) -> None:
    states: dict[str, dict[str, Any]] = {}
    records = [r for n, op in enumerate(operations) if (r := _apply(states, op, n)) is not None]
    total: Counter[stats.Bucket] = Counter()
    for start in range(0, len(records), batch_size):  # any batching: deltas are additive
        total.update(stats.deltas(records[start : start + batch_size]))
    expected = _recount(states)
    assert {b: n for b, n in total.items() if n} == {b: n for b, n in expected.items() if n}
    shard_items = [{table.stats_attribute(*bucket): n for bucket, n in total.items()}]
    answer = stats.summarize(shard_items)
    assert answer["total"] == sum(1 for s in states.values() if s["deleted_at"] is None)
    assert sum(answer["by_status"].values()) == answer["total"]
    assert sum(answer["by_device_type"].values()) == answer["total"]


def test_a_shard_counts_at_most_fifty_names_per_dimension_the_rest_as_other_and_drops_zeros() -> None:
    from registry.storage.stats import counted

    firmware = table.stats_attribute("firmware_version", "")
    full = {f"{firmware}v{n}": 1 for n in range(stats.NAMED_PER_SHARD)}
    after = counted(full, {("firmware_version", "new"): 2, ("firmware_version", "v0"): -1})
    assert after == {f"{firmware}v0": 0, table.stats_other_attribute("firmware_version"): 2}  # 0: removed
    # the freed place names the next new value; leaving an unnamed value takes from other
    room = {**full, f"{firmware}v0": 0, table.stats_other_attribute("firmware_version"): 2}
    room = {name: n for name, n in room.items() if n}
    assert counted(room, {("firmware_version", "newer"): 1}) == {f"{firmware}newer": 1}
    assert counted(room, {("firmware_version", "new"): -2}) == {table.stats_other_attribute("firmware_version"): 0}
    # a value leaving before another joins it (batches out of order): signed, exact once both arrive
    assert counted({}, {("firmware_version", "x"): -1}) == {f"{firmware}x": -1}
    assert counted({f"{firmware}x": -1}, {("firmware_version", "x"): 1}) == {f"{firmware}x": 0}
