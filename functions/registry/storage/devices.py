"""The only module that speaks DynamoDB on a request path.

It takes and returns typed records (``registry.domain.records``; no attribute-value JSON leaves it),
builds every key with ``registry.storage.keys``, writes every change as one conditional transaction,
and turns DynamoDB failures into domain errors. Whole items read pass through
``migrations.upgraded``, so an item written before a migration reads as if it had run. It
answers what is stored, tombstones included: what a deleted device means to a client is the
service's rule."""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from registry.domain.errors import InvalidCursor, MacAddressTaken, ServiceUnavailable
from registry.domain.records import Device, HistoryRecord, Holder, ListedDevice
from registry.http.schemas import HistoryKind
from registry.storage import fleet
from registry.storage import keys as table
from registry.storage.codec import decode as _from_item
from registry.storage.codec import encode as _to_item
from registry.storage.credentials import revocations
from registry.storage.fleet import FleetFilter
from registry.storage.migrations import upgraded
from registry.stream.stats import shard_for as stats_shard_for

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
else:
    DynamoDBClient = Any

logger = Logger(child=True)  # structured, with the request's correlation id


_UNAVAILABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionInProgressException",
        "ResourceNotFoundException",
    }
)
_MIN_TIMESTAMP, _MAX_TIMESTAMP = "0000", "9999"
# Fleet statistics: counters ADDed by one UpdateItem (its expression stays ~1 KB, well under
# DynamoDB's 4 KB), and attempts at a transaction that conflicts with a concurrent batch.
STATS_BUCKETS_PER_UPDATE = 100
STATS_ATTEMPTS = 8
# A BatchGetItem whose keys DynamoDB leaves unprocessed (throttling) asks for them again, after
# a full-jitter backoff (≤ 50 ms, 100 ms, ...), at most this many times in all.
BATCH_GET_ATTEMPTS = 5


BATCH_GET_KEYS = 100  # DynamoDB's most keys in one BatchGetItem


def _start(start_key: Mapping[str, Any] | None) -> dict[str, Any]:
    """A Query's ``ExclusiveStartKey`` argument, if it has one."""
    return {} if start_key is None else {"ExclusiveStartKey": _to_item(start_key)}


def _chunks[T](items: Sequence[T], size: int) -> list[Sequence[T]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


class StaleRevision(Exception):
    """Another writer changed the device between our read and our write: read again."""


def _list_index_attributes(device: Device) -> dict[str, str]:
    """Where a live device appears in the sparse list indexes (a tombstone has none)."""
    if device.deleted:
        return {}
    return {
        table.LIST_SORT: device.id,
        table.LIST_ALL: table.LIST_ALL_VALUE,
        table.LIST_BY_TYPE: device.device_type,
        table.LIST_BY_STATUS: device.status,
        table.LIST_BY_TYPE_STATUS: table.type_status_key(device.device_type, device.status),
        table.LIST_BY_MAC: device.mac_address,
        **table.lookup_attributes(device.config()),
    }


def _live_tags(device: Device) -> set[str]:
    """The tags under which a device is listed: none once deleted."""
    return set() if device.deleted else set(device.tags)


def _device_item(device: Device) -> dict[str, Any]:
    return {**device.to_item(), **_list_index_attributes(device), **table.device_key(device.id)}


def _history_item(device_id: str, entry: HistoryRecord) -> dict[str, Any]:
    group = table.history_group(entry.kind)
    return {
        **entry.to_item(),
        table.HISTORY_AT: table.history_at_key(entry.at, entry.revision),
        table.HISTORY_KIND_AT: table.history_kind_key(group, entry.at, entry.revision),
        **table.revision_key(device_id, entry.revision),
    }


# An interval opened or closed by a write: (address kind, canonical address, interval).
HolderWrite = tuple[str, str, Holder]


def _holder_item(kind: str, address: str, holder: Holder) -> dict[str, Any]:
    return {**holder.to_item(), **table.holder_key(kind, address, holder.since, holder.revision, holder.device_id)}


def _unavailable(error: Exception) -> ServiceUnavailable:
    logger.warning("dynamodb unavailable", extra={"error": type(error).__name__})
    return ServiceUnavailable("The device store is busy or unreachable; retry shortly.")


@dataclass(frozen=True)
class Page[RecordT]:
    items: list[RecordT]
    has_more: bool


@dataclass(frozen=True)
class DeviceList:
    """A page of device summaries, and the id the next page starts after (None: the last page)."""

    items: list[ListedDevice]
    resume_after: str | None


def _listed(device: Device) -> ListedDevice:
    return ListedDevice(device.id, device.name, device.device_type, device.mac_address, device.status)


@dataclass(frozen=True)
class _Operation:
    """One item of a transaction, and the MAC address it claims, if it claims one: a failed
    claim condition means the address is taken, any other failed condition a stale read."""

    request: dict[str, Any]
    claims: str | None = None


@dataclass(frozen=True)
class HistoryQuery:
    device_id: str
    group: str | None  # "config" or "status"; None: every kind
    since: str | None  # stored timestamp form, inclusive
    until: str | None  # exclusive
    ascending: bool
    limit: int
    after: tuple[int, str] | None  # (revision, at) of the last entry already returned


class DeviceStore:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self.client = client
        self.table_name = table_name

    # -- reads -------------------------------------------------------------------------

    def get_device(self, device_id: str) -> Device | None:
        """The device's current item (a tombstone too), or None if it never existed."""
        response = self._call(
            self.client.get_item,
            TableName=self.table_name,
            Key=_to_item(table.device_key(device_id)),
            ConsistentRead=True,
        )
        item = response.get("Item")
        return Device.from_item(upgraded(_from_item(item))) if item else None

    def get_history_entry(self, device_id: str, revision: int) -> HistoryRecord | None:
        key = table.revision_key(device_id, revision)
        response = self._call(self.client.get_item, TableName=self.table_name, Key=_to_item(key))
        item = response.get("Item")
        return HistoryRecord.from_item(upgraded(_from_item(item))) if item else None

    def get_device_and_entry(self, device_id: str, revision: int) -> tuple[Device | None, HistoryRecord | None]:
        """The device's current item and its history entry ``revision``, in one strongly consistent
        BatchGetItem (a revert reads both before it plans)."""
        keys = [table.device_key(device_id), table.revision_key(device_id, revision)]
        response = self._call(
            self.client.batch_get_item,
            RequestItems={self.table_name: {"Keys": [_to_item(key) for key in keys], "ConsistentRead": True}},
        )
        if response.get("UnprocessedKeys"):
            # Two small items go unprocessed only when the table is throttled: busy, retry shortly.
            raise _unavailable(RuntimeError("BatchGetItem left keys unprocessed"))
        device, entry = None, None
        for item in response.get("Responses", {}).get(self.table_name, []):
            values = upgraded(_from_item(item))
            if values[table.SK] == table.STATE_SK:
                device = Device.from_item(values)
            else:
                entry = HistoryRecord.from_item(values)
        return device, entry

    def get_devices(self, device_ids: Sequence[str]) -> dict[str, Device]:
        """The current items (tombstones too) of up to 100 devices by id, in one strongly
        consistent BatchGetItem; ids never registered are absent. Keys DynamoDB leaves
        unprocessed are asked for again (bounded); still unprocessed: busy, retry shortly."""
        keys = [_to_item(table.device_key(device_id)) for device_id in dict.fromkeys(device_ids)]
        found: dict[str, Device] = {}
        for attempt in range(BATCH_GET_ATTEMPTS):
            response = self._call(
                self.client.batch_get_item,
                RequestItems={self.table_name: {"Keys": keys, "ConsistentRead": True}},
            )
            for item in response.get("Responses", {}).get(self.table_name, []):
                device = Device.from_item(upgraded(_from_item(item)))
                found[device.id] = device
            keys = response.get("UnprocessedKeys", {}).get(self.table_name, {}).get("Keys", [])
            if not keys:
                return found
            if attempt + 1 < BATCH_GET_ATTEMPTS:
                time.sleep(random.uniform(0, 0.05 * 2**attempt))
        raise _unavailable(RuntimeError("BatchGetItem left keys unprocessed"))

    def latest_config_entry(self, device_id: str, *, at_or_before: HistoryRecord) -> HistoryRecord | None:
        """The latest config-kind entry (created, config, deleted, restored) at or before the entry
        ``at_or_before``: one Query of one item on the ``history_by_kind`` index, newest first
        (history order by time is history order by revision)."""
        group = table.CONFIG_GROUP
        page = self._query(
            {"IndexName": table.HISTORY_BY_KIND},
            condition=f"{table.PK} = :pk AND {table.HISTORY_KIND_AT} BETWEEN :low AND :high",
            values={
                ":pk": table.device_pk(device_id),
                ":low": table.history_kind_key(group, _MIN_TIMESTAMP),
                ":high": table.history_kind_key(group, at_or_before.at, at_or_before.revision),
            },
            limit=1,
            ascending=False,
            start_key=None,
            consistent=True,
        )
        return HistoryRecord.from_item(upgraded(page.items[0])) if page.items else None

    def query_history(self, query: HistoryQuery) -> Page[HistoryRecord]:
        pk = table.device_pk(query.device_id)
        values: dict[str, Any] = {":pk": pk}
        start_key: dict[str, Any] | None = None
        request: dict[str, Any] = {}
        if query.group is None and query.since is None and query.until is None:
            condition = f"{table.PK} = :pk AND begins_with({table.SK}, :prefix)"
            values[":prefix"] = table.REVISION_PREFIX
        else:
            index, sort_attr = _history_index(query.group)
            request["IndexName"] = index
            condition = f"{table.PK} = :pk AND {sort_attr} BETWEEN :low AND :high"
            # "<at>#<rev>" sorts after "<at>", so `until` as the upper bound is exclusive.
            values[":low"] = _history_sort_key(query.group, query.since or _MIN_TIMESTAMP)
            values[":high"] = _history_sort_key(query.group, query.until or _MAX_TIMESTAMP)
        if query.after is not None:
            # The start key is built by the very functions the write used for this entry.
            revision, at = query.after
            start_key = table.revision_key(query.device_id, revision)
            if "IndexName" in request:
                _, sort_attr = _history_index(query.group)
                start_key[sort_attr] = _history_sort_key(query.group, at, revision)
                _within_bounds(start_key[sort_attr], values[":low"], values[":high"])
        page = self._query(
            request,
            condition=condition,
            values=values,
            limit=query.limit,
            ascending=query.ascending,
            start_key=start_key,
            consistent=True,
        )
        return Page([HistoryRecord.from_item(upgraded(item)) for item in page.items], page.has_more)

    def history_at_or_before(
        self, device_id: str, group: str | None, at: str, revision: int = table.MAX_REVISION
    ) -> HistoryRecord | None:
        """The newest history entry of ``group`` (``config``, ``status``; None: any kind) written at
        or before ``at`` (at that very time, at or before ``revision``): one Query reading one item
        of a history index, newest first. History order by time is history order by revision."""
        index, sort_attr = _history_index(group)
        bounds = {":low": _history_sort_key(group, _MIN_TIMESTAMP), ":high": _history_sort_key(group, at, revision)}
        response = self._call(
            self.client.query,
            TableName=self.table_name,
            IndexName=index,
            KeyConditionExpression=f"{table.PK} = :pk AND {sort_attr} BETWEEN :low AND :high",
            ExpressionAttributeValues=_to_item({":pk": table.device_pk(device_id), **bounds}),
            Limit=1,
            ScanIndexForward=False,
            ConsistentRead=True,
        )
        items = response.get("Items", [])
        return HistoryRecord.from_item(upgraded(_from_item(items[0]))) if items else None

    def list_holders(self, kind: str, address: str, *, limit: int, after: tuple[str, int, str] | None) -> Page[Holder]:
        """The address's holder intervals, newest first: one Query of ``limit + 1`` items."""
        start_key = table.holder_key(kind, address, *after) if after is not None else None
        page = self._query(
            {},
            condition=f"{table.PK} = :pk",
            values={":pk": table.holder_pk(kind, address)},
            limit=limit,
            ascending=False,
            start_key=start_key,
            consistent=True,
        )
        return Page([Holder.from_item(item) for item in page.items], page.has_more)

    def list_devices(self, filters: FleetFilter, *, limit: int, after_id: str | None) -> DeviceList:
        """A page of live devices matching ``filters``, in id order, after ``after_id``. Type,
        status and MAC alone: one Query on the summary index that matches. Any other filter: the
        lookup index :func:`fleet.plan` chooses, then the devices it names (BatchGetItem)."""
        if filters.lookup:
            return self._lookup_devices(filters, limit=limit, after_id=after_id)
        extra: dict[str, str] = {}
        if filters.mac_address is not None:
            index, value = table.LIST_BY_MAC, filters.mac_address
            extra = {k: v for k, v in (("device_type", filters.device_type), ("status", filters.status)) if v}
        elif filters.device_type is not None and filters.status is not None:
            index, value = table.LIST_BY_TYPE_STATUS, table.type_status_key(filters.device_type, filters.status)
        elif filters.device_type is not None:
            index, value = table.LIST_BY_TYPE, filters.device_type
        elif filters.status is not None:
            index, value = table.LIST_BY_STATUS, filters.status
        else:
            index, value = table.LIST_ALL, table.LIST_ALL_VALUE
        request: dict[str, Any] = {"IndexName": index}
        values: dict[str, Any] = {":v": value}
        if extra:
            request["FilterExpression"] = " AND ".join(f"#f{i} = :f{i}" for i in range(len(extra)))
            request["ExpressionAttributeNames"] = {f"#f{i}": name for i, name in enumerate(extra)}
            values.update({f":f{i}": v for i, v in enumerate(extra.values())})
        page = self._query(
            request,
            condition=f"{index} = :v",
            values=values,
            limit=limit,
            ascending=True,
            start_key=self._list_start_key(index, value, after_id),
            consistent=False,  # global indexes are eventually consistent
        )
        items = [ListedDevice.from_item(item) for item in page.items]
        return DeviceList(items, items[-1].id if page.has_more else None)

    def _list_start_key(self, index: str, value: str, after_id: str | None) -> dict[str, Any] | None:
        if after_id is None:
            return None
        # The entry's table key: the device's STATE item, or its tag item in list_by_tag.
        key = table.tag_key(after_id, value) if index == table.LIST_BY_TAG else table.device_key(after_id)
        return {**key, index: value, table.LIST_SORT: after_id}

    def _lookup_devices(self, filters: FleetFilter, *, limit: int, after_id: str | None) -> DeviceList:
        """Read up to :func:`fleet.read_budget` ids from the serving lookup index, then the
        devices' items a chunk at a time (eventually consistent, as the index is) until one more
        than a page matches every filter. The cursor is the last id examined, so a page may be
        short, even empty, and the next one goes on from there."""
        served = fleet.plan(filters)
        budget = fleet.read_budget(served, limit)
        response = self._call(
            self.client.query,
            TableName=self.table_name,
            IndexName=served.index,
            KeyConditionExpression=f"{served.index} = :v",
            ExpressionAttributeValues=_to_item({":v": served.value}),
            Limit=budget,
            **_start(self._list_start_key(served.index, served.value, after_id)),
        )
        ids = [str(_from_item(item)[table.LIST_SORT]) for item in response.get("Items", [])]
        more = len(ids) == budget or "LastEvaluatedKey" in response
        if served.exact:
            # Every entry matches: the page is the first `limit`, the one after tells "more".
            more, ids = more or len(ids) > limit, ids[:limit]
        matched: list[Device] = []
        for chunk in _chunks(ids, BATCH_GET_KEYS):
            devices = self._devices(chunk)
            matched.extend(device for device in (devices.get(i) for i in chunk) if device and filters.matches(device))
            if len(matched) > limit:
                page = matched[:limit]
                return DeviceList([_listed(device) for device in page], page[-1].id)
        return DeviceList([_listed(device) for device in matched], ids[-1] if more and ids else None)

    def _devices(self, device_ids: Sequence[str]) -> dict[str, Device]:
        """The STATE items of these devices (≤ 100), eventually consistent, by id; throttled
        keys (UnprocessedKeys) are asked again."""
        keys = [_to_item(table.device_key(device_id)) for device_id in device_ids]
        devices: dict[str, Device] = {}
        while keys:
            response = self._call(self.client.batch_get_item, RequestItems={self.table_name: {"Keys": keys}})
            for item in response.get("Responses", {}).get(self.table_name, []):
                device = Device.from_item(upgraded(_from_item(item)))
                devices[device.id] = device
            keys = response.get("UnprocessedKeys", {}).get(self.table_name, {}).get("Keys", [])
        return devices

    def _query(
        self,
        request: dict[str, Any],
        *,
        condition: str,
        values: dict[str, Any],
        limit: int,
        ascending: bool,
        start_key: dict[str, Any] | None,
        consistent: bool,
    ) -> Page[dict[str, Any]]:
        # One item more than the page tells whether another page exists, without a
        # trailing empty page and without reading further.
        request.update(
            TableName=self.table_name,
            KeyConditionExpression=condition,
            ExpressionAttributeValues=_to_item(values),
            Limit=limit + 1,
            ScanIndexForward=ascending,
            ConsistentRead=consistent,
        )
        response = self._call(self.client.query, **request, **_start(start_key))
        items = [_from_item(item) for item in response.get("Items", [])]
        return Page(items=items[:limit], has_more=len(items) > limit)

    # -- writes ------------------------------------------------------------------------

    def create_device(self, device: Device, history: HistoryRecord, *, holders: tuple[HolderWrite, ...] = ()) -> None:
        """Device, MAC claim, first history entry and holder intervals, all or nothing."""
        self._transact(
            [
                _Operation(self._put(_device_item(device), new=True)),
                self._claim(device.mac_address, device.id),
                _Operation(self._put_history(device.id, history)),
                *self._holder_puts(holders),
                *self._tag_writes(device.id, set(), _live_tags(device)),
            ],
            device_id=device.id,
        )

    def commit(
        self,
        device: Device,
        *,
        expected_revision: int,
        history: HistoryRecord,
        claim_mac: str | None = None,
        release_mac: str | None = None,
        holders: tuple[HolderWrite, ...] = (),
        previous: Device | None = None,
    ) -> None:
        """Replace the device's item if its revision is still ``expected_revision``, append
        the history entry, move the MAC claim when the address changes or the device goes,
        put the holder intervals the change opens or closes, and move its tag items from the
        ``previous`` device's live tags to this one's (no ``previous``: the tags are unchanged);
        a deletion also deletes the device's credentials (registry/storage/credentials.py ``revocations``).
        Raises :class:`StaleRevision` if another writer got there first."""
        state_put = self._put(_device_item(device), new=False)
        state_put["Put"]["ConditionExpression"] = "revision = :expected"
        state_put["Put"]["ExpressionAttributeValues"] = _to_item({":expected": expected_revision})
        operations = [_Operation(state_put), _Operation(self._put_history(device.id, history))]
        if claim_mac is not None:
            operations.append(self._claim(claim_mac, device.id))
        if release_mac is not None:
            release = {
                "TableName": self.table_name,
                "Key": _to_item(table.mac_claim_key(release_mac)),
                "ConditionExpression": "device_id = :id",
                "ExpressionAttributeValues": _to_item({":id": device.id}),
            }
            operations.append(_Operation({"Delete": release}))
        operations.extend(self._holder_puts(holders))
        if previous is not None:
            operations.extend(self._tag_writes(device.id, _live_tags(previous), _live_tags(device)))
        if history.kind == HistoryKind.DELETED:  # a deleted device's credentials go with it
            operations.extend(_Operation(item) for item in revocations(self.client, self.table_name, device.id))
        self._transact(operations, device_id=device.id)

    # -- fleet statistics (registry/stream/stats.py) --------------------------------------------

    def apply_stats(self, batch: str, changes: Mapping[tuple[str, str], int], *, as_of: str) -> bool:
        """Add one stream batch's counter deltas, at most once: each transaction puts a marker
        of (batch, chunk) that must not exist yet and ADDs up to ``STATS_BUCKETS_PER_UPDATE``
        counters to each of up to ``STATS_SHARDS`` shard items, starting at the batch's shard.
        A redelivered batch finds its markers and changes nothing. False: nothing applied."""
        digest = hashlib.sha256(batch.encode()).hexdigest()[:32]
        groups = _chunks(sorted(changes.items()), STATS_BUCKETS_PER_UPDATE)
        per_transaction = _chunks(groups, table.STATS_SHARDS)
        start = stats_shard_for(batch)
        applied = False
        for number, transaction in enumerate(per_transaction):
            marker = {
                **table.stats_batch_key(digest, number),
                table.TTL_ATTRIBUTE: int(time.time()) + table.STATS_BATCH_TTL_SECONDS,
            }
            operations = [{"Put": self._put(marker, new=True)["Put"]}]
            for offset, group in enumerate(transaction):
                shard = (start + offset) % table.STATS_SHARDS
                operations.append({"Update": self._stats_update(shard, dict(group), as_of)})
            applied = self._transact_stats(operations) or applied
        return applied

    def _stats_update(self, shard: int, changes: Mapping[tuple[str, str], int], as_of: str) -> dict[str, Any]:
        names = {"#as_of": "as_of"}
        values: dict[str, Any] = {":as_of": as_of}
        adds = []
        for i, ((dimension, value), delta) in enumerate(changes.items()):
            names[f"#c{i}"] = table.stats_attribute(dimension, value)
            values[f":c{i}"] = delta
            adds.append(f"#c{i} :c{i}")
        return {
            "TableName": self.table_name,
            "Key": _to_item(table.stats_shard_key(shard)),
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
                    raise _unavailable(error) from error
                time.sleep(random.uniform(0, 0.05 * 2**attempt))
            except BotoCoreError as error:
                raise _unavailable(error) from error
        return False  # pragma: no cover (the loop returns or raises)

    def get_stats(self) -> tuple[list[dict[str, int]], str | None]:
        """Every counter shard (bucket attribute → count) and the newest ``as_of`` among them:
        one BatchGetItem of the ``STATS_SHARDS`` keys (eventually consistent), whatever the
        fleet size. Unprocessed keys (throttling) are asked again."""
        keys = [_to_item(table.stats_shard_key(shard)) for shard in range(table.STATS_SHARDS)]
        items: list[dict[str, Any]] = []
        while keys:
            response = self._call(self.client.batch_get_item, RequestItems={self.table_name: {"Keys": keys}})
            items.extend(_from_item(item) for item in response.get("Responses", {}).get(self.table_name, []))
            keys = response.get("UnprocessedKeys", {}).get(self.table_name, {}).get("Keys", [])
        shards = [
            {name: int(value) for name, value in item.items() if name not in (table.PK, table.SK, "as_of")}
            for item in items
        ]
        stamps = [str(item["as_of"]) for item in items if item.get("as_of")]
        return shards, max(stamps) if stamps else None

    def _holder_puts(self, holders: tuple[HolderWrite, ...]) -> list[_Operation]:
        # Unconditional: the transaction's device condition already orders the writes, and an
        # interval's key is its device's and revision's, so no other writer puts the same item.
        return [_Operation(self._put(_holder_item(*holder), new=False)) for holder in holders]

    def _tag_writes(self, device_id: str, before: set[str], after: set[str]) -> list[_Operation]:
        """Put an item for each tag the device gains, delete the item of each it loses: what
        places it in ``list_by_tag``. Unconditional, ordered by the device's own condition."""
        puts = [
            _Operation(
                self._put(
                    {**table.tag_key(device_id, tag), table.LIST_BY_TAG: tag, table.LIST_SORT: device_id}, new=False
                )
            )
            for tag in sorted(after - before)
        ]
        deletes = [
            _Operation({"Delete": {"TableName": self.table_name, "Key": _to_item(table.tag_key(device_id, tag))}})
            for tag in sorted(before - after)
        ]
        return puts + deletes

    def _put(self, item: Mapping[str, Any], *, new: bool) -> dict[str, Any]:
        put: dict[str, Any] = {"TableName": self.table_name, "Item": _to_item(item)}
        if new:
            put["ConditionExpression"] = f"attribute_not_exists({table.PK})"
        return {"Put": put}

    def _claim(self, mac: str, device_id: str) -> _Operation:
        request = self._put({**table.mac_claim_key(mac), "device_id": device_id, "mac_address": mac}, new=True)
        # Return the holder's item on failure, so the 409 can name the device that has it.
        request["Put"]["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        return _Operation(request, claims=mac)

    def _put_history(self, device_id: str, history: HistoryRecord) -> dict[str, Any]:
        # History entries are immutable: a put that would overwrite one fails.
        return self._put(_history_item(device_id, history), new=True)

    def _transact(self, operations: list[_Operation], *, device_id: str) -> None:
        try:
            self.client.transact_write_items(TransactItems=[operation.request for operation in operations])
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code != "TransactionCanceledException":
                raise self._translate(error) from error
            reasons = error.response.get("CancellationReasons", [])
            self._raise_for_cancellation(reasons, operations, device_id=device_id, error=error)
        except BotoCoreError as error:
            raise _unavailable(error) from error

    def _raise_for_cancellation(
        self, reasons: list[dict[str, Any]], operations: list[_Operation], *, device_id: str, error: ClientError
    ) -> None:
        codes = [reason.get("Code", "None") for reason in reasons]
        for operation, reason in zip(operations, reasons, strict=False):
            if reason.get("Code") == "ConditionalCheckFailed" and operation.claims is not None:
                holder = _from_item(reason.get("Item", {})).get("device_id")
                if holder != device_id:
                    raise MacAddressTaken(operation.claims, holder or self._claim_holder(operation.claims)) from error
        if "ConditionalCheckFailed" in codes or "TransactionConflict" in codes:
            raise StaleRevision from error
        raise _unavailable(error) from error

    def _claim_holder(self, mac: str) -> str:
        response = self._call(self.client.get_item, TableName=self.table_name, Key=_to_item(table.mac_claim_key(mac)))
        return str(_from_item(response.get("Item", {})).get("device_id", "unknown"))

    def _call(self, operation: Any, **request: Any) -> dict[str, Any]:
        try:
            return dict(operation(**request))
        except ClientError as error:
            raise self._translate(error) from error
        except BotoCoreError as error:
            raise _unavailable(error) from error

    def _translate(self, error: ClientError) -> Exception:
        code = error.response.get("Error", {}).get("Code", "")
        if code in _UNAVAILABLE_CODES or _index_not_there_yet(error):
            return _unavailable(error)
        if _start_key_refused(error):  # a cursor no check above foresaw: still the client's 400
            return InvalidCursor(_CURSOR_OUTSIDE)
        return error


def _index_not_there_yet(error: ClientError) -> bool:
    """A Query of an index the table does not have (yet): a stack gets its lookup indexes one
    deployment at a time (docs/deployment.md), and a list needing one is busy until then."""
    details = error.response.get("Error", {})
    return details.get("Code") == "ValidationException" and "specified index" in str(details.get("Message", ""))


_CURSOR_OUTSIDE = "The cursor belongs to another query (other since/until): resend that query, or start without it."


def _within_bounds(start: str, low: str, high: str) -> None:
    """A history cursor names a position; reused with another ``since``/``until`` it can lie
    outside the Query's key condition, which DynamoDB refuses (a ValidationException, moto
    does not check). Refused here first, as a cursor the request cannot continue."""
    if not low <= start <= high:
        raise InvalidCursor(_CURSOR_OUTSIDE)


def _start_key_refused(error: ClientError) -> bool:
    """DynamoDB's "The provided starting key is outside query boundaries …" or "… is invalid"."""
    details = error.response.get("Error", {})
    return details.get("Code") == "ValidationException" and "starting key" in str(details.get("Message", ""))


def _history_index(group: str | None) -> tuple[str, str]:
    """The local index serving a history query, and its sort-key attribute."""
    if group is None:
        return table.HISTORY_BY_TIME, table.HISTORY_AT
    return table.HISTORY_BY_KIND, table.HISTORY_KIND_AT


def _history_sort_key(group: str | None, at: str, revision: int | None = None) -> str:
    if group is None:
        return at if revision is None else table.history_at_key(at, revision)
    return table.history_kind_key(group, at, revision)
