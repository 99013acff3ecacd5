"""Fleet statistics in the table: the counter shards the stream consumer adds each batch's
deltas to (at most once per batch) and the one read that sums them, whatever the fleet size.
Which changes count is registry/stream/stats.py's.

Buckets are ``(dimension, value)`` pairs: ``("total", "")``, ``("status", s)``,
``("device_type", t)``, ``("firmware_version", v)``."""

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
DIMENSIONS = ("status", "device_type", "firmware_version")
Bucket = tuple[str, str]
# Counters ADDed by one UpdateItem (its expression stays ~1 KB, well under DynamoDB's 4 KB),
# and attempts at a transaction that conflicts with a concurrent batch.
STATS_BUCKETS_PER_UPDATE = 100
STATS_ATTEMPTS = 8


def shard_for(batch: str) -> int:
    """The counter shard a batch starts on: a stable hash of its id, so batches spread over
    the ``STATS_SHARDS`` items and a redelivered batch picks the same one."""
    digest = hashlib.sha256(batch.encode()).digest()
    return int.from_bytes(digest[:8], "big") % keys.STATS_SHARDS


def summarize(shards: Iterable[Mapping[str, int]]) -> dict[str, Any]:
    """The sum of the counter shards (bucket attribute → count) as the stats answer, zero
    counts left out."""
    total: Counter[str] = Counter()
    for shard in shards:
        total.update(shard)
    answer: dict[str, Any] = {TOTAL: max(total.pop(keys.stats_attribute(TOTAL, ""), 0), 0)}
    for dimension in DIMENSIONS:
        prefix = keys.stats_attribute(dimension, "")
        answer[f"by_{dimension}"] = {
            name[len(prefix) :]: n for name, n in sorted(total.items()) if name.startswith(prefix) and n > 0
        }
    return answer


class StatsCounters(TableStore):
    def apply_stats(self, batch: str, changes: Mapping[tuple[str, str], int], *, as_of: str) -> bool:
        """Add one stream batch's counter deltas, at most once: each transaction puts a marker
        of (batch, chunk) that must not exist yet and ADDs up to ``STATS_BUCKETS_PER_UPDATE``
        counters to each of up to ``STATS_SHARDS`` shard items, starting at the batch's shard.
        A redelivered batch finds its markers and changes nothing. False: nothing applied."""
        digest = hashlib.sha256(batch.encode()).hexdigest()[:32]
        groups = chunks(sorted(changes.items()), STATS_BUCKETS_PER_UPDATE)
        per_transaction = chunks(groups, keys.STATS_SHARDS)
        start = shard_for(batch)
        applied = False
        for number, transaction in enumerate(per_transaction):
            marker = {
                **keys.stats_batch_key(digest, number),
                keys.TTL_ATTRIBUTE: int(time.time()) + keys.STATS_BATCH_TTL_SECONDS,
            }
            operations = [{"Put": self._put(marker, new=True)["Put"]}]
            for offset, group in enumerate(transaction):
                shard = (start + offset) % keys.STATS_SHARDS
                operations.append({"Update": self._stats_update(shard, dict(group), as_of)})
            applied = self._transact_stats(operations) or applied
        return applied

    def _stats_update(self, shard: int, changes: Mapping[tuple[str, str], int], as_of: str) -> dict[str, Any]:
        names = {"#as_of": "as_of"}
        values: dict[str, Any] = {":as_of": as_of}
        adds = []
        for i, ((dimension, value), delta) in enumerate(changes.items()):
            names[f"#c{i}"] = keys.stats_attribute(dimension, value)
            values[f":c{i}"] = delta
            adds.append(f"#c{i} :c{i}")
        return {
            "TableName": self.table_name,
            "Key": _to_item(keys.stats_shard_key(shard)),
            "UpdateExpression": f"SET #as_of = :as_of ADD {', '.join(adds)}",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": _to_item(values),
        }

    def _transact_stats(self, operations: list[dict[str, Any]]) -> bool:
        """True if applied, False if its marker was there (counted before). Two batches
        updating one shard item at once conflict: retried with jittered backoff."""
        for attempt in range(STATS_ATTEMPTS):
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

    def get_stats(self) -> tuple[list[dict[str, int]], str | None]:
        """Every counter shard (bucket attribute → count) and the newest ``as_of`` among them:
        one BatchGetItem of the ``STATS_SHARDS`` keys (eventually consistent), whatever the
        fleet size. Unprocessed keys (throttling) are asked again."""
        wanted = [_to_item(keys.stats_shard_key(shard)) for shard in range(keys.STATS_SHARDS)]
        items: list[dict[str, Any]] = []
        while wanted:
            response = self._call(self.client.batch_get_item, RequestItems={self.table_name: {"Keys": wanted}})
            items.extend(_from_item(item) for item in response.get("Responses", {}).get(self.table_name, []))
            wanted = response.get("UnprocessedKeys", {}).get(self.table_name, {}).get("Keys", [])
        shards = [
            {name: int(value) for name, value in item.items() if name not in (keys.PK, keys.SK, "as_of")}
            for item in items
        ]
        stamps = [str(item["as_of"]) for item in items if item.get("as_of")]
        return shards, max(stamps) if stamps else None
