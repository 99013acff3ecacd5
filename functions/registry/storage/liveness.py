"""Liveness in the table: each device's sign-of-life item (``sk = SEEN``, registry/storage/keys.py)
read beside its state, refreshed by reports with one small conditional put, written in the
transaction of a liveness revision, and the sweep's reads of the deadlines passed (the sparse,
sharded ``due_by_deadline`` index: no Scan, only the devices due)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from botocore.exceptions import ClientError

from registry.domain.records import Device, Seen
from registry.storage import keys
from registry.storage.codec import decode as _from_item
from registry.storage.codec import encode as _to_item
from registry.storage.dynamodb import TableStore, chunks, exclusive_start
from registry.storage.migrations import upgraded

BATCH_GET_KEYS = 100  # DynamoDB's most keys in one BatchGetItem
DUE_PAGE = 100  # due devices read per Query of a shard


def seen_item(seen: Seen) -> dict[str, Any]:
    """The stored item: the record, its index keys (liveness always; the deadline while awaited)."""
    item = {name: value for name, value in seen.to_item().items() if value is not None}
    item.update(keys.seen_key(seen.device_id))
    item[keys.LIST_SORT] = seen.device_id  # the record's own device_id: list_by_liveness' sort key
    item[keys.LIST_BY_LIVENESS] = seen.liveness
    if seen.deadline is not None:
        item[keys.DUE_BY_DEADLINE] = keys.due_shard(seen.device_id)
        item[keys.DUE_AT] = keys.due_at(seen.deadline, seen.device_id)
    return item


def _condition(previous: Seen | None) -> tuple[str, dict[str, str], dict[str, Any]]:
    """A put's condition that the item is still ``previous`` (None: there is none)."""
    if previous is None:
        return f"attribute_not_exists({keys.PK})", {}, {}
    parts, names, values = [], {}, {}
    for number, field in enumerate(("liveness", "last_seen_at", "deadline")):
        names[f"#s{number}"] = field
        value = getattr(previous, field)
        if value is None:
            parts.append(f"attribute_not_exists(#s{number})")
        else:
            parts.append(f"#s{number} = :s{number}")
            values[f":s{number}"] = value
    return " AND ".join(parts), names, values


def _seen_of(item: dict[str, Any]) -> Seen:
    return Seen.from_item(item)


class LivenessStore(TableStore):
    def seen_put(self, seen: Seen, previous: Seen | None) -> dict[str, Any]:
        """A transaction's Put of the sign-of-life item, if it is still ``previous``."""
        condition, names, values = _condition(previous)
        put: dict[str, Any] = {"TableName": self.table_name, "Item": _to_item(seen_item(seen))}
        put["ConditionExpression"] = condition
        if names:
            put["ExpressionAttributeNames"] = names
        if values:
            put["ExpressionAttributeValues"] = _to_item(values)
        return {"Put": put}

    def get_device_seen(self, device_id: str) -> tuple[Device | None, Seen | None]:
        """The device's state and its sign-of-life item, in one strongly consistent Query
        (``SEEN`` and ``STATE`` sort next to each other: nothing else lies between them)."""
        page = self._query(
            {},
            condition=f"{keys.PK} = :pk AND {keys.SK} BETWEEN :seen AND :state",
            values={":pk": keys.device_pk(device_id), ":seen": keys.SEEN_SK, ":state": keys.STATE_SK},
            limit=2,
            ascending=True,
            start_key=None,
            consistent=True,
        )
        device, seen = None, None
        for item in page.items:
            if item[keys.SK] == keys.STATE_SK:
                device = Device.from_item(upgraded(item))
            else:
                seen = _seen_of(item)
        return device, seen

    def get_seen(self, device_ids: Sequence[str], *, consistent: bool = False) -> dict[str, Seen]:
        """The sign-of-life items of these devices by id (absent: none stored), a BatchGetItem per
        100; throttled keys (UnprocessedKeys) are asked again."""
        found: dict[str, Seen] = {}
        for chunk in chunks(list(dict.fromkeys(device_ids)), BATCH_GET_KEYS):
            wanted = [_to_item(keys.seen_key(device_id)) for device_id in chunk]
            while wanted:
                request = {self.table_name: {"Keys": wanted, "ConsistentRead": consistent}}
                response = self._call(self.client.batch_get_item, RequestItems=request)
                for item in response.get("Responses", {}).get(self.table_name, []):
                    seen = _seen_of(_from_item(item))
                    found[seen.device_id] = seen
                wanted = response.get("UnprocessedKeys", {}).get(self.table_name, {}).get("Keys", [])
        return found

    def refresh_seen(self, seen: Seen, previous: Seen | None) -> bool:
        """A report's sign of life: one conditional PutItem of the small item (about 1 write unit,
        plus its ``due_by_deadline`` entry moving). False when it is no longer ``previous`` (another
        report refreshed it first, or the sweep found the device silent): the caller reads again."""
        request = self.seen_put(seen, previous)["Put"]
        try:
            self.client.put_item(**request)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise self._translate(error) from error
        return True

    def forget_due(self, device_id: str, due_at: str) -> None:
        """Take a device that is gone (deleted, or never stored) out of ``due_by_deadline``, unless
        it was awaited again meanwhile (a restore)."""
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key=_to_item(keys.seen_key(device_id)),
                UpdateExpression=f"REMOVE {keys.DUE_BY_DEADLINE}, {keys.DUE_AT}, deadline",
                ConditionExpression=f"{keys.DUE_AT} = :due",
                ExpressionAttributeValues=_to_item({":due": due_at}),
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise self._translate(error) from error

    def due(self, shard: str, now: str) -> Iterator[tuple[str, str]]:
        """``(device id, due_at key)`` of every device of the shard whose deadline is at or before
        ``now``, oldest first: Queries of the sparse keys-only index, reading only those entries."""
        start: dict[str, Any] | None = None
        while True:
            response = self._call(
                self.client.query,
                TableName=self.table_name,
                IndexName=keys.DUE_BY_DEADLINE,
                KeyConditionExpression=f"{keys.DUE_BY_DEADLINE} = :shard AND {keys.DUE_AT} <= :until",
                ExpressionAttributeValues=_to_item({":shard": shard, ":until": keys.due_until(now)}),
                Limit=DUE_PAGE,
                **exclusive_start(start),
            )
            for item in response.get("Items", []):
                values = _from_item(item)
                yield str(values[keys.PK]).removeprefix(keys.DEVICE_PREFIX), str(values[keys.DUE_AT])
            if "LastEvaluatedKey" not in response:
                return
            start = _from_item(response["LastEvaluatedKey"])
