"""Fleet statistics from the table's change stream: counter deltas of one batch of stream
records, and the one call the stream consumer makes per batch (:func:`count_batch`).

Only device state items (``sk = STATE``) count; history entries, MAC claims, holder
intervals, the migration ledger and the stats items themselves are ignored. A device counts
while it is live (no ``deleted_at``): a record's old image is counted out and its new image
counted in, so a status change moves one from one status bucket to another, a deletion counts
the tombstone's predecessor out, a restore counts it back in, and a rewrite that changes none
of the counted fields (a PATCH of the name, a migration) nets to nothing.

Buckets are ``(dimension, value)`` pairs: ``("total", "")``, ``("status", s)``,
``("device_type", t)``, ``("firmware_version", v)``. A device without a firmware version is in
no firmware bucket (it counts in ``total`` only): ``total - sum(by_firmware_version)`` is the
number of devices without one, and no name ("none") can collide with a real version string.

Pure: no DynamoDB here except through the store handed to :func:`count_batch`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from aws_lambda_powertools import Logger

from registry.domain.values import format_timestamp
from registry.storage import keys
from registry.storage.codec import decode
from registry.storage.stats import DIMENSIONS as DIMENSIONS  # re-exported with the rest of the counting
from registry.storage.stats import NAMED_PER_SHARD as NAMED_PER_SHARD
from registry.storage.stats import NEVER as NEVER
from registry.storage.stats import TOTAL, Bucket
from registry.storage.stats import home_shard as home_shard
from registry.storage.stats import shard_for as shard_for
from registry.storage.stats import summarize as summarize

logger = Logger(child=True)


def buckets(state: Mapping[str, Any] | None) -> list[Bucket]:
    """The buckets a device state (decoded item) counts in: none unless it is a live device."""
    if not state or state.get(keys.SK) != keys.STATE_SK or state.get("deleted_at") is not None:
        return []
    if not str(state.get(keys.PK, "")).startswith(keys.DEVICE_PREFIX):
        return []
    found: list[Bucket] = [(TOTAL, "")]
    for dimension in DIMENSIONS:
        value = state.get(dimension)
        if value is not None:
            found.append((dimension, str(value)))
    return found


def _image(record: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    stream = record.get("dynamodb") or {}
    image = stream.get(name)
    if not image:
        return None
    # Keys are in the image too (NEW_AND_OLD_IMAGES); take them from Keys when it is absent.
    return decode({**(stream.get("Keys") or {}), **image})


def _is_state(record: Mapping[str, Any]) -> bool:
    item_keys = decode((record.get("dynamodb") or {}).get("Keys") or {})
    return item_keys.get(keys.SK) == keys.STATE_SK and str(item_keys.get(keys.PK, "")).startswith(keys.DEVICE_PREFIX)


def deltas(records: Iterable[Mapping[str, Any]]) -> dict[Bucket, int]:
    """What the records change in each bucket: old images out, new images in; zeros dropped."""
    counts: Counter[Bucket] = Counter()
    for record in records:
        if not _is_state(record):
            continue
        event = record.get("eventName")
        if event in ("MODIFY", "REMOVE"):
            counts.subtract(buckets(_image(record, "OldImage")))
        if event in ("INSERT", "MODIFY"):
            counts.update(buckets(_image(record, "NewImage")))
    return {bucket: n for bucket, n in sorted(counts.items()) if n}


def batch_id(records: Sequence[Mapping[str, Any]]) -> str:
    """The batch's identity: its stream and its first and last sequence numbers. Lambda
    redelivers a batch (a retry after an error or a timeout) with the same records."""
    if not records:
        return ""
    first, last = records[0], records[-1]
    source = str(first.get("eventSourceARN", ""))
    return f"{source}|{_sequence(first)}|{_sequence(last)}"


def _sequence(record: Mapping[str, Any]) -> str:
    return str((record.get("dynamodb") or {}).get("SequenceNumber", ""))


def as_of(records: Iterable[Mapping[str, Any]]) -> str:
    """When the newest counted change was written (the records' approximate creation time)."""
    times = [
        stamp if isinstance(stamp, datetime) else datetime.fromtimestamp(float(stamp), UTC)
        for record in records
        if (stamp := (record.get("dynamodb") or {}).get("ApproximateCreationDateTime")) is not None
    ]  # epoch seconds as Lambda delivers them; a datetime as boto3's streams client parses them
    return format_timestamp(max(times) if times else datetime.now(UTC))


class StatsStore(Protocol):
    def apply_stats(self, batch: str, changes: Mapping[Bucket, int], *, as_of: str) -> bool: ...

    def defer_stats(self, batch: str, changes: Mapping[Bucket, int], *, as_of: str) -> None: ...

    def apply_deferred_stats(self) -> int: ...


def count_batch(
    store: StatsStore, records: Sequence[Mapping[str, Any]], batch: str | None = None, *, failed: Collection[str] = ()
) -> bool:
    """THE call of the stream consumer, once per batch, at its end: ``records`` are the batch's
    records as Lambda delivers them (raw dicts, stream order); ``failed`` the sequence numbers
    it reports as failed. Only the records before the first failed one count: Lambda delivers
    that one and the rest again, as another batch. Applies their deltas at most once per
    (stream, first, last sequence number). False when counted before, or no count changes."""
    if failed:
        cut = next((n for n, record in enumerate(records) if _sequence(record) in failed), len(records))
        records = records[:cut]
    try:  # counts an earlier batch could not apply: first, so they are not behind for long
        store.apply_deferred_stats()
    except Exception:  # they stay deferred for the next batch
        logger.warning("deferred statistics not applied yet", exc_info=True)
    changes = deltas(records)
    if not changes:
        return False
    batch = batch or batch_id(records)
    stamp = as_of(records)
    try:
        return store.apply_stats(batch, changes, as_of=stamp)
    except Exception:
        # A statistics failure must not fail the batch: its events are published, and failing
        # would publish them again. The counts wait in one small item for the next batch. Only
        # if DynamoDB refuses that write too does this raise (the counts would be lost otherwise).
        logger.warning("statistics deferred", extra={"batch": batch}, exc_info=True)
        store.defer_stats(batch, changes, as_of=stamp)
        return False
