"""Fleet statistics in the table: the counter shards the stream consumer adds each batch's
deltas to (at most once per batch) and the one read that sums them, whatever the fleet size.
Which changes count is registry/stream/stats.py's.

Buckets are ``(dimension, value)`` pairs: ``("total", "")``, ``("status", s)``,
``("device_type", t)``, ``("firmware_version", v)``.

Bounded (docs/capacity.md, "Statistics"): a DynamoDB item holds at most 400 KB, and firmware
versions and device types are whatever clients write, so

* the total and the statuses (a closed set) are spread over the shards by batch, as before;
* a device type's or firmware version's counter lives in one *home* shard (a hash of its name),
  so its count is known in one place; a counter back at 0 is removed;
* a shard names at most ``NAMED_PER_SHARD`` values per dimension; a change to a value a full
  shard does not name is counted in the dimension's ``other`` counter instead (joining: when the
  shard is full; leaving: while ``other`` holds as many). Counters are signed:
  batches of different stream shards arrive in any order, so a device leaving a value may be
  counted before another joining it. While a shard has room every count is exact; once full, a
  dimension's sum stays exact and a value may move between its name and ``other``;
* each update reads its shards and writes them back under a version condition, so a concurrent
  batch's write is never lost (it conflicts, and the update is read and tried again).

A shard item stays under ~15 KB whatever clients write: 50 values of up to 64 characters for
two dimensions, the statuses and the total."""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from registry.storage import keys
from registry.storage.codec import decode as _from_item
from registry.storage.codec import encode as _to_item
from registry.storage.dynamodb import TableStore, backoff_delay, chunks, unavailable

TOTAL = "total"
NEVER = "1970-01-01T00:00:00.000Z"  # the as_of of counters no change has reached yet
DIMENSIONS = ("status", "device_type", "firmware_version", "liveness")
# Dimensions whose values clients choose: counted in their home shard, at most NAMED_PER_SHARD named.
OPEN_DIMENSIONS = ("device_type", "firmware_version")
NAMED_PER_SHARD = 50
Bucket = tuple[str, str]
# Counters one UpdateItem sets (its expression stays ~2 KB, under DynamoDB's 4 KB), and attempts
# at a transaction that conflicts with a concurrent batch.
STATS_BUCKETS_PER_UPDATE = 100
STATS_ATTEMPTS = 8
VERSION = "v"  # the shard item's version: every update sets it one higher, conditioned on the old
_NOT_COUNTERS = frozenset({keys.PK, keys.SK, "as_of", VERSION})


def shard_for(batch: str) -> int:
    """The counter shard a batch starts on: a stable hash of its id, so batches spread over
    the ``STATS_SHARDS`` items and a redelivered batch picks the same one."""
    digest = hashlib.sha256(batch.encode()).digest()
    return int.from_bytes(digest[:8], "big") % keys.STATS_SHARDS


def home_shard(dimension: str, value: str) -> int:
    """The one shard that counts a device type or firmware version."""
    return shard_for(f"{dimension}\x00{value}")


def summarize(shards: Iterable[Mapping[str, int]]) -> dict[str, Any]:
    """The sum of the counter shards (bucket attribute → count) as the stats answer, zero
    counts left out; ``other`` counts, per open dimension, the devices no shard names."""
    total: Counter[str] = Counter()
    for shard in shards:
        total.update(shard)
    answer: dict[str, Any] = {TOTAL: max(total.pop(keys.stats_attribute(TOTAL, ""), 0), 0)}
    for dimension in DIMENSIONS:
        prefix = keys.stats_attribute(dimension, "")
        answer[f"by_{dimension}"] = {
            name[len(prefix) :]: n for name, n in sorted(total.items()) if name.startswith(prefix) and n > 0
        }
    answer["other"] = {
        dimension: n for dimension in OPEN_DIMENSIONS if (n := total.get(keys.stats_other_attribute(dimension), 0)) > 0
    }
    return answer


def _digest(batch: str) -> str:
    return hashlib.sha256(batch.encode()).hexdigest()[:32]


def _shard_of(batch: str, bucket: Bucket) -> int:
    dimension, value = bucket
    return home_shard(dimension, value) if dimension in OPEN_DIMENSIONS else shard_for(batch)


def plan(batch: str, changes: Mapping[Bucket, int]) -> list[dict[int, dict[Bucket, int]]]:
    """The transactions that apply a batch's deltas, in order: each at most one update per shard
    (DynamoDB refuses two operations on one item in a transaction) of at most
    ``STATS_BUCKETS_PER_UPDATE`` counters. Deterministic, so a redelivered batch has the same."""
    per_shard: dict[int, list[tuple[Bucket, int]]] = {}
    for bucket, delta in sorted(changes.items()):
        per_shard.setdefault(_shard_of(batch, bucket), []).append((bucket, delta))
    pieces = {shard: chunks(items, STATS_BUCKETS_PER_UPDATE) for shard, items in per_shard.items()}
    rounds = max((len(chunked) for chunked in pieces.values()), default=0)
    return [
        {shard: dict(chunked[number]) for shard, chunked in sorted(pieces.items()) if number < len(chunked)}
        for number in range(rounds)
    ]


def counted(current: Mapping[str, int], changes: Mapping[Bucket, int]) -> dict[str, int]:
    """A shard's counters after the changes (attribute → new count; 0 means remove it), from its
    counters now: what the bounds above say, as a pure function."""
    after: dict[str, int] = {}

    def now(name: str) -> int:
        return after.get(name, current.get(name, 0))

    named = Counter(
        dimension
        for dimension in OPEN_DIMENSIONS
        for name, count in current.items()
        if name.startswith(keys.stats_attribute(dimension, "")) and count
    )
    for (dimension, value), delta in sorted(changes.items()):
        name = keys.stats_attribute(dimension, value)
        if dimension not in OPEN_DIMENSIONS:
            after[name] = now(name) + delta
            continue
        other = keys.stats_other_attribute(dimension)
        if now(name) == 0 and (named[dimension] >= NAMED_PER_SHARD or (delta < 0 and now(other) >= -delta)):
            after[other] = now(other) + delta  # a value this shard does not name: in other
            continue
        named[dimension] += now(name) == 0
        after[name] = now(name) + delta
        named[dimension] -= after[name] == 0
    return after


class StatsCounters(TableStore):
    def apply_stats(self, batch: str, changes: Mapping[tuple[str, str], int], *, as_of: str) -> bool:
        """Add one stream batch's counter deltas, at most once: each transaction of
        :func:`plan` puts a marker of (batch, number) that must not exist yet and writes the
        shards it touches back under their version. A redelivered batch finds its markers and
        changes nothing; a concurrent batch's write makes it read and try again.
        False: nothing applied."""
        digest = _digest(batch)
        applied = False
        for number, transaction in enumerate(plan(batch, changes)):
            marker = {
                **keys.stats_batch_key(digest, number),
                keys.TTL_ATTRIBUTE: int(time.time()) + keys.STATS_BATCH_TTL_SECONDS,
            }
            applied = self._transact_stats(marker, transaction, as_of) or applied
        return applied

    def _read_shards(self, shards: Iterable[int], *, consistent: bool = True) -> dict[int, dict[str, Any]]:
        """The shard items (by number) of those that exist: one BatchGetItem, unprocessed keys
        (throttling) asked again."""
        wanted = [_to_item(keys.stats_shard_key(shard)) for shard in shards]
        found: dict[int, dict[str, Any]] = {}
        while wanted:
            response = self._call(
                self.client.batch_get_item,
                RequestItems={self.table_name: {"Keys": wanted, "ConsistentRead": consistent}},
            )
            for item in response.get("Responses", {}).get(self.table_name, []):
                decoded = _from_item(item)
                found[int(str(decoded[keys.PK])[len(keys.STATS_PREFIX) :])] = decoded
            wanted = response.get("UnprocessedKeys", {}).get(self.table_name, {}).get("Keys", [])
        return found

    def _stats_update(
        self, shard: int, current: Mapping[str, Any], changes: Mapping[Bucket, int], as_of: str
    ) -> dict[str, Any]:
        counters = {name: int(value) for name, value in current.items() if name not in _NOT_COUNTERS}
        names = {"#as_of": "as_of", "#v": VERSION}
        values: dict[str, Any] = {":as_of": as_of, ":one": 1}
        sets, removes = ["#as_of = :as_of", "#v = if_not_exists(#v, :zero) + :one"], []
        for i, (name, count) in enumerate(sorted(counted(counters, changes).items())):
            names[f"#c{i}"] = name
            if count:
                values[f":c{i}"] = count
                sets.append(f"#c{i} = :c{i}")
            else:
                removes.append(f"#c{i}")
        values[":zero"] = 0
        update: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": _to_item(keys.stats_shard_key(shard)),
            "UpdateExpression": f"SET {', '.join(sets)}" + (f" REMOVE {', '.join(removes)}" if removes else ""),
            "ExpressionAttributeNames": names,
        }
        if VERSION in current:
            values[":seen"] = int(current[VERSION])
            update["ConditionExpression"] = "#v = :seen"
        else:
            update["ConditionExpression"] = "attribute_not_exists(#v)"
        update["ExpressionAttributeValues"] = _to_item(values)
        return update

    def _transact_stats(
        self, marker: Mapping[str, Any], transaction: Mapping[int, Mapping[Bucket, int]], as_of: str
    ) -> bool:
        """True if applied, False if its marker was there (counted before). A shard another
        batch wrote since it was read fails its version condition: read again and retried,
        with jittered backoff."""
        for attempt in range(STATS_ATTEMPTS):
            current = self._read_shards(transaction)
            operations = [{"Put": self._put(marker, new=True)["Put"]}]
            operations += [
                {"Update": self._stats_update(shard, current.get(shard, {}), changes, as_of)}
                for shard, changes in transaction.items()
            ]
            try:
                self.client.transact_write_items(TransactItems=operations)
                return True
            except ClientError as error:
                code = error.response.get("Error", {}).get("Code", "")
                if code != "TransactionCanceledException":
                    raise self._translate(error) from error
                codes = [reason.get("Code", "None") for reason in error.response.get("CancellationReasons", [])]
                if codes and codes[0] == "ConditionalCheckFailed":
                    return False
                if attempt + 1 == STATS_ATTEMPTS:
                    raise unavailable(error) from error
                time.sleep(backoff_delay(attempt))
            except BotoCoreError as error:
                raise unavailable(error) from error
        return False  # pragma: no cover (the loop returns or raises)

    # Deferred statistics: a batch whose counts DynamoDB refused keeps them here (one small item),
    # and a later batch applies them, once, under the failed batch's own markers.
    def defer_stats(self, batch: str, changes: Mapping[Bucket, int], *, as_of: str) -> None:
        item = {
            **keys.stats_deferred_key(_digest(batch)),
            "batch": batch,
            "as_of": as_of,
            "changes": [[dimension, value, delta] for (dimension, value), delta in sorted(changes.items())],
        }
        self._call(self.client.put_item, TableName=self.table_name, Item=_to_item(item))

    def apply_deferred_stats(self, limit: int = 10) -> int:
        """Apply (at most ``limit``) deferred batches' counts and delete them; how many."""
        response = self._call(
            self.client.query,
            TableName=self.table_name,
            KeyConditionExpression="#pk = :pk",
            ExpressionAttributeNames={"#pk": keys.PK},
            ExpressionAttributeValues=_to_item({":pk": keys.STATS_DEFERRED_PK}),
            ConsistentRead=True,
            Limit=limit,
        )
        done = 0
        for raw in response.get("Items", []):
            item = _from_item(raw)
            changes = {(str(d), str(v)): int(n) for d, v, n in item.get("changes", [])}
            self.apply_stats(str(item["batch"]), changes, as_of=str(item["as_of"]))
            self._call(
                self.client.delete_item,
                TableName=self.table_name,
                Key=_to_item({keys.PK: item[keys.PK], keys.SK: item[keys.SK]}),
            )
            done += 1
        return done

    def get_stats(self) -> tuple[list[dict[str, int]], str | None]:
        """Every counter shard (bucket attribute → count) and the newest ``as_of`` among them:
        one BatchGetItem of the ``STATS_SHARDS`` keys (eventually consistent), whatever the
        fleet size. Unprocessed keys (throttling) are asked again."""
        items = list(self._read_shards(range(keys.STATS_SHARDS), consistent=False).values())
        shards = [{name: int(value) for name, value in item.items() if name not in _NOT_COUNTERS} for item in items]
        stamps = [str(item["as_of"]) for item in items if item.get("as_of")]
        return shards, max(stamps) if stamps else None
