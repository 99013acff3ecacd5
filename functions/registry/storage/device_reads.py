"""A device's reads: its current item, its history entries (one, a page, the one in force at a
time) and the holder intervals of an address. Whole items pass through ``migrations.upgraded``,
so an item written before a migration reads as if it had run."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from registry.domain.records import Device, HistoryRecord, Holder
from registry.storage import keys
from registry.storage.codec import decode as _from_item
from registry.storage.codec import encode as _to_item
from registry.storage.dynamodb import Page, TableStore, backoff_delay, unavailable, within_bounds
from registry.storage.migrations import upgraded

_MIN_TIMESTAMP, _MAX_TIMESTAMP = "0000", "9999"
# A BatchGetItem whose keys DynamoDB leaves unprocessed (throttling) asks for them again, after
# a full-jitter backoff (≤ 50 ms, 100 ms, ...), at most this many times in all.
BATCH_GET_ATTEMPTS = 5


@dataclass(frozen=True)
class HistoryQuery:
    device_id: str
    group: str | None  # "config" or "status"; None: every kind
    since: str | None  # stored timestamp form, inclusive
    until: str | None  # exclusive
    ascending: bool
    limit: int
    after: tuple[int, str] | None  # (revision, at) of the last entry already returned


class DeviceReads(TableStore):
    def get_device(self, device_id: str) -> Device | None:
        """The device's current item (a tombstone too), or None if it never existed."""
        response = self._call(
            self.client.get_item,
            TableName=self.table_name,
            Key=_to_item(keys.device_key(device_id)),
            ConsistentRead=True,
        )
        item = response.get("Item")
        return Device.from_item(upgraded(_from_item(item))) if item else None

    def get_history_entry(self, device_id: str, revision: int) -> HistoryRecord | None:
        key = keys.revision_key(device_id, revision)
        response = self._call(self.client.get_item, TableName=self.table_name, Key=_to_item(key))
        item = response.get("Item")
        return HistoryRecord.from_item(upgraded(_from_item(item))) if item else None

    def get_device_and_entry(self, device_id: str, revision: int) -> tuple[Device | None, HistoryRecord | None]:
        """The device's current item and its history entry ``revision``, in one strongly consistent
        BatchGetItem (a revert reads both before it plans)."""
        wanted = [keys.device_key(device_id), keys.revision_key(device_id, revision)]
        response = self._call(
            self.client.batch_get_item,
            RequestItems={self.table_name: {"Keys": [_to_item(key) for key in wanted], "ConsistentRead": True}},
        )
        if response.get("UnprocessedKeys"):
            # Two small items go unprocessed only when the table is throttled: busy, retry shortly.
            raise unavailable(RuntimeError("BatchGetItem left keys unprocessed"))
        device, entry = None, None
        for item in response.get("Responses", {}).get(self.table_name, []):
            values = upgraded(_from_item(item))
            if values[keys.SK] == keys.STATE_SK:
                device = Device.from_item(values)
            else:
                entry = HistoryRecord.from_item(values)
        return device, entry

    def get_devices(self, device_ids: Sequence[str]) -> dict[str, Device]:
        """The current items (tombstones too) of up to 100 devices by id, in one strongly
        consistent BatchGetItem; ids never registered are absent. Keys DynamoDB leaves
        unprocessed are asked for again (bounded); still unprocessed: busy, retry shortly."""
        wanted = [_to_item(keys.device_key(device_id)) for device_id in dict.fromkeys(device_ids)]
        found: dict[str, Device] = {}
        for attempt in range(BATCH_GET_ATTEMPTS):
            response = self._call(
                self.client.batch_get_item,
                RequestItems={self.table_name: {"Keys": wanted, "ConsistentRead": True}},
            )
            for item in response.get("Responses", {}).get(self.table_name, []):
                device = Device.from_item(upgraded(_from_item(item)))
                found[device.id] = device
            wanted = response.get("UnprocessedKeys", {}).get(self.table_name, {}).get("Keys", [])
            if not wanted:
                return found
            if attempt + 1 < BATCH_GET_ATTEMPTS:
                time.sleep(backoff_delay(attempt))
        raise unavailable(RuntimeError("BatchGetItem left keys unprocessed"))

    def latest_config_entry(self, device_id: str, *, at_or_before: HistoryRecord) -> HistoryRecord | None:
        """The latest config-kind entry (created, config, deleted, restored) at or before the entry
        ``at_or_before``: one Query of one item on the ``history_by_kind`` index, newest first
        (history order by time is history order by revision)."""
        group = keys.CONFIG_GROUP
        page = self._query(
            {"IndexName": keys.HISTORY_BY_KIND},
            condition=f"{keys.PK} = :pk AND {keys.HISTORY_KIND_AT} BETWEEN :low AND :high",
            values={
                ":pk": keys.device_pk(device_id),
                ":low": keys.history_kind_key(group, _MIN_TIMESTAMP),
                ":high": keys.history_kind_key(group, at_or_before.at, at_or_before.revision),
            },
            limit=1,
            ascending=False,
            start_key=None,
            consistent=True,
        )
        return HistoryRecord.from_item(upgraded(page.items[0])) if page.items else None

    def query_history(self, query: HistoryQuery) -> Page[HistoryRecord]:
        pk = keys.device_pk(query.device_id)
        values: dict[str, Any] = {":pk": pk}
        start_key: dict[str, Any] | None = None
        request: dict[str, Any] = {}
        if query.group is None and query.since is None and query.until is None:
            condition = f"{keys.PK} = :pk AND begins_with({keys.SK}, :prefix)"
            values[":prefix"] = keys.REVISION_PREFIX
        else:
            index, sort_attr = _history_index(query.group)
            request["IndexName"] = index
            condition = f"{keys.PK} = :pk AND {sort_attr} BETWEEN :low AND :high"
            # "<at>#<rev>" sorts after "<at>", so `until` as the upper bound is exclusive.
            values[":low"] = _history_sort_key(query.group, query.since or _MIN_TIMESTAMP)
            values[":high"] = _history_sort_key(query.group, query.until or _MAX_TIMESTAMP)
        if query.after is not None:
            # The start key is built by the very functions the write used for this entry.
            revision, at = query.after
            start_key = keys.revision_key(query.device_id, revision)
            if "IndexName" in request:
                _, sort_attr = _history_index(query.group)
                start_key[sort_attr] = _history_sort_key(query.group, at, revision)
                within_bounds(start_key[sort_attr], values[":low"], values[":high"])
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
        self, device_id: str, group: str | None, at: str, revision: int = keys.MAX_REVISION
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
            KeyConditionExpression=f"{keys.PK} = :pk AND {sort_attr} BETWEEN :low AND :high",
            ExpressionAttributeValues=_to_item({":pk": keys.device_pk(device_id), **bounds}),
            Limit=1,
            ScanIndexForward=False,
            ConsistentRead=True,
        )
        items = response.get("Items", [])
        return HistoryRecord.from_item(upgraded(_from_item(items[0]))) if items else None

    def list_holders(self, kind: str, address: str, *, limit: int, after: tuple[str, int, str] | None) -> Page[Holder]:
        """The address's holder intervals, newest first: one Query of ``limit + 1`` items."""
        start_key = keys.holder_key(kind, address, *after) if after is not None else None
        page = self._query(
            {},
            condition=f"{keys.PK} = :pk",
            values={":pk": keys.holder_pk(kind, address)},
            limit=limit,
            ascending=False,
            start_key=start_key,
            consistent=True,
        )
        return Page([Holder.from_item(item) for item in page.items], page.has_more)


def _history_index(group: str | None) -> tuple[str, str]:
    """The local index serving a history query, and its sort-key attribute."""
    if group is None:
        return keys.HISTORY_BY_TIME, keys.HISTORY_AT
    return keys.HISTORY_BY_KIND, keys.HISTORY_KIND_AT


def _history_sort_key(group: str | None, at: str, revision: int | None = None) -> str:
    if group is None:
        return at if revision is None else keys.history_at_key(at, revision)
    return keys.history_kind_key(group, at, revision)
