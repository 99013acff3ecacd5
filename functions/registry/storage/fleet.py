"""Fleet queries in the table: which filter's index serves a page of ``GET /devices`` (the
filters themselves are registry/domain/fleet.py's), and the listing that reads it
(docs/decisions.md, "Fleet queries").

A page is served by one index, the most selective one the filters name; every other filter
is applied to the devices it reads. A page of one exact filter reads ``limit + 1`` index
entries; with more (or a ``name_prefix`` between two indexed lengths) it reads at most
``COMBINED_READ_FACTOR × (limit + 1)``, so it may be short, even empty, while a cursor follows.
Of each device it examines, a page reads only the summary it answers and the fields its filters
compare (a ProjectionExpression), not the whole item."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from registry.domain.fleet import FleetFilter
from registry.domain.records import ListedDevice
from registry.storage import keys
from registry.storage.codec import decode as _from_item
from registry.storage.codec import encode as _to_item
from registry.storage.dynamodb import TableStore, chunks, exclusive_start

COMBINED_READ_FACTOR = 5


@dataclass(frozen=True)
class Plan:
    """The index partition that serves a page, and how many of its entries a page may read."""

    index: str
    value: str
    exact: bool  # the index partition holds exactly the matching devices


# Most selective first: a MAC is one device, a serial number or an address a handful; a tag, a
# site or a firmware version may be shared by a large part of the fleet.
# Liveness last: most of a fleet is reporting (silent and pending devices are few, but a page asking
# for them with another filter is served by that filter's index and checked on what it reads).
_SELECTIVITY = (
    "mac_address",
    "serial_number",
    "ip_address",
    "name_prefix",
    "tag",
    "location",
    "firmware_version",
    "liveness",
)


def plan(filters: FleetFilter) -> Plan:
    """The lookup index that serves a page with these filters (``filters.lookup`` is true)."""
    given = filters.given()
    name = next(name for name in _SELECTIVITY if name in given)
    value = given[name]
    alone = len(given) == 1
    if name == "mac_address":
        return Plan(keys.LIST_BY_MAC, value, exact=alone)
    if name == "tag":
        return Plan(keys.LIST_BY_TAG, value, exact=alone)
    if name == "liveness":
        return Plan(keys.LIST_BY_LIVENESS, value, exact=alone)
    if name == "name_prefix":
        level = max(n for n in keys.NAME_PREFIX_LEVELS if n <= len(value))
        return Plan(keys.name_prefix_index(level), value[:level], exact=alone and level == len(value))
    return Plan(keys.LOOKUP_ATTRIBUTES[name], value, exact=alone)


def read_budget(served: Plan, limit: int) -> int:
    """How many index entries a page may read."""
    return limit + 1 if served.exact else COMBINED_READ_FACTOR * (limit + 1)


BATCH_GET_KEYS = 100  # DynamoDB's most keys in one BatchGetItem


@dataclass(frozen=True)
class DeviceList:
    """A page of device summaries, and the id the next page starts after (None: the last page)."""

    items: list[ListedDevice]
    resume_after: str | None


@dataclass(frozen=True, slots=True)
class Examined(ListedDevice):
    """What a lookup page reads of a device it examines: the summary it answers, whether it is
    a tombstone, and the fields a filter compares (those the filters do not name stay unset)."""

    deleted_at: str | None = None
    firmware_version: str | None = None
    location: str | None = None
    serial_number: str | None = None
    ip_address: str | None = None
    tags: list[str] = field(default_factory=list)

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None

    def listed(self) -> ListedDevice:
        return ListedDevice(self.id, self.name, self.device_type, self.mac_address, self.status)


_FILTERED_FIELD = {"tag": "tags", "name_prefix": "name"}  # a filter → the device field it compares


def examined_fields(filters: FleetFilter) -> list[str]:
    """The attributes a lookup page reads of each device: the summary, ``deleted_at`` and the
    fields ``filters`` compare. A list index's entry holds the summary without migrations
    applied; so does this (``upgraded`` is for whole items)."""
    names = [*keys.LIST_PROJECTION, "deleted_at"]
    for name in filters.given():
        compared = _FILTERED_FIELD.get(name, name)
        if compared not in names:
            names.append(compared)
    return names


class FleetListing(TableStore):
    def list_devices(self, filters: FleetFilter, *, limit: int, after_id: str | None) -> DeviceList:
        """A page of live devices matching ``filters``, in id order, after ``after_id``. Type,
        status and MAC alone: one Query on the summary index that matches. Any other filter: the
        lookup index :func:`plan` chooses, then the devices it names (BatchGetItem)."""
        if filters.lookup:
            return self._lookup_devices(filters, limit=limit, after_id=after_id)
        extra: dict[str, str] = {}
        if filters.mac_address is not None:
            index, value = keys.LIST_BY_MAC, filters.mac_address
            extra = {k: v for k, v in (("device_type", filters.device_type), ("status", filters.status)) if v}
        elif filters.device_type is not None and filters.status is not None:
            index, value = keys.LIST_BY_TYPE_STATUS, keys.type_status_key(filters.device_type, filters.status)
        elif filters.device_type is not None:
            index, value = keys.LIST_BY_TYPE, filters.device_type
        elif filters.status is not None:
            index, value = keys.LIST_BY_STATUS, filters.status
        else:
            index, value = keys.LIST_ALL, keys.LIST_ALL_VALUE
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
        # The entry's table key: the device's STATE item, its tag item in list_by_tag, its sign
        # of life in list_by_liveness.
        key = keys.device_key(after_id)
        if index == keys.LIST_BY_TAG:
            key = keys.tag_key(after_id, value)
        elif index == keys.LIST_BY_LIVENESS:
            key = keys.seen_key(after_id)
        return {**key, index: value, keys.LIST_SORT: after_id}

    def _lookup_devices(self, filters: FleetFilter, *, limit: int, after_id: str | None) -> DeviceList:
        """Read up to :func:`read_budget` ids from the serving lookup index, then the
        devices' items a chunk at a time (eventually consistent, as the index is) until one more
        than a page matches every filter. The cursor is the last id examined, so a page may be
        short, even empty, and the next one goes on from there."""
        served = plan(filters)
        budget = read_budget(served, limit)
        response = self._call(
            self.client.query,
            TableName=self.table_name,
            IndexName=served.index,
            KeyConditionExpression=f"{served.index} = :v",
            ExpressionAttributeValues=_to_item({":v": served.value}),
            Limit=budget,
            **exclusive_start(self._list_start_key(served.index, served.value, after_id)),
        )
        ids = [str(_from_item(item)[keys.LIST_SORT]) for item in response.get("Items", [])]
        more = len(ids) == budget or "LastEvaluatedKey" in response
        if served.exact:
            # Every entry matches: the page is the first `limit`, the one after tells "more".
            more, ids = more or len(ids) > limit, ids[:limit]
        projected = examined_fields(filters)
        matched: list[Examined] = []
        for chunk in chunks(ids, BATCH_GET_KEYS):
            devices = self._examine(chunk, projected)
            matched.extend(device for device in (devices.get(i) for i in chunk) if device and filters.matches(device))
            if len(matched) > limit:
                page = matched[:limit]
                return DeviceList([device.listed() for device in page], page[-1].id)
        return DeviceList([device.listed() for device in matched], ids[-1] if more and ids else None)

    def _examine(self, device_ids: Sequence[str], fields: Sequence[str]) -> dict[str, Examined]:
        """These devices' ``fields`` (≤ 100 devices), eventually consistent, by id; throttled keys
        (UnprocessedKeys) are asked again. DynamoDB charges a BatchGetItem by whole items; the
        projection cuts what is sent and decoded (the full items are ~6× as large)."""
        names = {f"#a{n}": name for n, name in enumerate(fields)}
        request = {"ProjectionExpression": ", ".join(names), "ExpressionAttributeNames": names}
        wanted = [_to_item(keys.device_key(device_id)) for device_id in device_ids]
        devices: dict[str, Examined] = {}
        while wanted:
            response = self._call(
                self.client.batch_get_item, RequestItems={self.table_name: {"Keys": wanted, **request}}
            )
            for item in response.get("Responses", {}).get(self.table_name, []):
                device = Examined.from_item(_from_item(item))
                devices[device.id] = device
            wanted = response.get("UnprocessedKeys", {}).get(self.table_name, {}).get("Keys", [])
        return devices
