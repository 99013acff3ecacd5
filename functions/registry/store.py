"""The only module that speaks DynamoDB.

It takes and returns plain dicts (no attribute-value JSON leaves it), writes every change as
one conditional transaction, and turns DynamoDB failures into domain errors."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from registry import table
from registry.errors import DeviceNotFound, MacAddressTaken, ServiceUnavailable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
else:
    DynamoDBClient = Any

logger = Logger(child=True)  # structured, with the request's correlation id

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

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


class StaleRevision(Exception):
    """Another writer changed the device between our read and our write: read again."""


def device_key(device_id: str) -> dict[str, str]:
    return {table.PK: f"DEVICE#{device_id}", table.SK: table.STATE_SK}


def revision_sk(revision: int) -> str:
    return f"{table.REVISION_PREFIX}{revision:0{table.REVISION_DIGITS}d}"


def _to_item(values: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _serializer.serialize(value) for name, value in values.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: _plain(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_plain(inner) for inner in value]
    return value


def _from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _plain(_deserializer.deserialize(value)) for name, value in item.items()}


_KEY_ATTRIBUTES = frozenset(table.string_attributes())


def _domain(item: Mapping[str, Any]) -> dict[str, Any]:
    """An item without the attributes that only serve as table or index keys."""
    return {name: value for name, value in _from_item(item).items() if name not in _KEY_ATTRIBUTES}


def _list_index_attributes(state: Mapping[str, Any]) -> dict[str, str]:
    """Where a live device appears in the sparse list indexes (a tombstone has none)."""
    if state.get("deleted_at"):
        return {}
    device_type, status = state["device_type"], state["status"]
    return {
        table.LIST_SORT: state["id"],
        table.LIST_ALL: "DEVICE",
        table.LIST_BY_TYPE: device_type,
        table.LIST_BY_STATUS: status,
        table.LIST_BY_TYPE_STATUS: f"{device_type}#{status}",
        table.LIST_BY_MAC: state["mac_address"],
    }


def _unavailable(error: Exception) -> ServiceUnavailable:
    logger.warning("dynamodb unavailable", extra={"error": type(error).__name__})
    return ServiceUnavailable("The device store is busy or unreachable; retry shortly.")


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    has_more: bool


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

    def get_device(self, device_id: str) -> dict[str, Any] | None:
        """The device's current item (a tombstone too), or None if it never existed."""
        response = self._call(
            self.client.get_item,
            TableName=self.table_name,
            Key=_to_item(device_key(device_id)),
            ConsistentRead=True,
        )
        item = response.get("Item")
        return _domain(item) if item else None

    def get_history_entry(self, device_id: str, revision: int) -> dict[str, Any] | None:
        key = {table.PK: f"DEVICE#{device_id}", table.SK: revision_sk(revision)}
        response = self._call(self.client.get_item, TableName=self.table_name, Key=_to_item(key))
        item = response.get("Item")
        return _domain(item) if item else None

    def query_history(self, query: HistoryQuery) -> Page:
        pk = f"DEVICE#{query.device_id}"
        values: dict[str, Any] = {":pk": pk}
        start_key: dict[str, Any] | None = None
        request: dict[str, Any] = {}
        if query.group is None and query.since is None and query.until is None:
            condition = f"{table.PK} = :pk AND begins_with({table.SK}, :prefix)"
            values[":prefix"] = table.REVISION_PREFIX
        else:
            if query.group is None:
                index, sort_attr, prefix = table.HISTORY_BY_TIME, table.HISTORY_AT, ""
            else:
                index, sort_attr, prefix = table.HISTORY_BY_KIND, table.HISTORY_KIND_AT, f"{query.group}#"
            request["IndexName"] = index
            condition = f"{table.PK} = :pk AND {sort_attr} BETWEEN :low AND :high"
            # "<at>#<rev>" sorts after "<at>", so `until` as the upper bound is exclusive.
            values[":low"] = prefix + (query.since or _MIN_TIMESTAMP)
            values[":high"] = prefix + (query.until or _MAX_TIMESTAMP)
        if query.after is not None:
            revision, at = query.after
            start_key = {table.PK: pk, table.SK: revision_sk(revision)}
            if "IndexName" in request:
                sort_attr = table.HISTORY_AT if query.group is None else table.HISTORY_KIND_AT
                prefix = "" if query.group is None else f"{query.group}#"
                start_key[sort_attr] = f"{prefix}{at}#{revision:0{table.REVISION_DIGITS}d}"
        return self._query(
            request,
            condition=condition,
            values=values,
            limit=query.limit,
            ascending=query.ascending,
            start_key=start_key,
            consistent=True,
        )

    def list_devices(
        self,
        *,
        device_type: str | None,
        status: str | None,
        mac_address: str | None,
        limit: int,
        after_id: str | None,
    ) -> Page:
        """One Query on the sparse list index that matches the filters."""
        filters: dict[str, str] = {}
        if mac_address is not None:
            index, value = table.LIST_BY_MAC, mac_address
            filters = {k: v for k, v in (("device_type", device_type), ("status", status)) if v is not None}
        elif device_type is not None and status is not None:
            index, value = table.LIST_BY_TYPE_STATUS, f"{device_type}#{status}"
        elif device_type is not None:
            index, value = table.LIST_BY_TYPE, device_type
        elif status is not None:
            index, value = table.LIST_BY_STATUS, status
        else:
            index, value = table.LIST_ALL, "DEVICE"
        request: dict[str, Any] = {"IndexName": index}
        values: dict[str, Any] = {":v": value}
        if filters:
            request["FilterExpression"] = " AND ".join(f"#f{i} = :f{i}" for i in range(len(filters)))
            request["ExpressionAttributeNames"] = {f"#f{i}": name for i, name in enumerate(filters)}
            values.update({f":f{i}": v for i, v in enumerate(filters.values())})
        start_key = None
        if after_id is not None:
            start_key = {**device_key(after_id), index: value, table.LIST_SORT: after_id}
        return self._query(
            request,
            condition=f"{index} = :v",
            values=values,
            limit=limit,
            ascending=True,
            start_key=start_key,
            consistent=False,  # global indexes are eventually consistent
        )

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
    ) -> Page:
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
        if start_key is not None:
            request["ExclusiveStartKey"] = _to_item(start_key)
        response = self._call(self.client.query, **request)
        items = [_domain(item) for item in response.get("Items", [])]
        return Page(items=items[:limit], has_more=len(items) > limit)

    # -- writes ------------------------------------------------------------------------

    def create_device(self, state: Mapping[str, Any], history: Mapping[str, Any]) -> None:
        """Device, MAC claim and first history entry, all or nothing."""
        device_id, mac = state["id"], state["mac_address"]
        self._transact(
            [
                self._put(device_key(device_id), {**state, **_list_index_attributes(state)}, new=True),
                self._claim(mac, device_id),
                self._put_history(device_id, history),
            ],
            device_id=device_id,
            macs=[None, mac, None],
        )

    def commit(
        self,
        state: Mapping[str, Any],
        *,
        expected_revision: int,
        history: Mapping[str, Any],
        claim_mac: str | None = None,
        release_mac: str | None = None,
    ) -> None:
        """Replace the device's item if its revision is still ``expected_revision``, append
        the history entry, and move the MAC claim when the address changes or the device goes.
        Raises :class:`StaleRevision` if another writer got there first."""
        device_id = state["id"]
        state_put = self._put(device_key(device_id), {**state, **_list_index_attributes(state)}, new=False)
        state_put["Put"]["ConditionExpression"] = "revision = :expected"
        state_put["Put"]["ExpressionAttributeValues"] = _to_item({":expected": expected_revision})
        operations = [state_put, self._put_history(device_id, history)]
        macs: list[str | None] = [None, None]
        if claim_mac is not None:
            operations.append(self._claim(claim_mac, device_id))
            macs.append(claim_mac)
        if release_mac is not None:
            operations.append(
                {
                    "Delete": {
                        "TableName": self.table_name,
                        "Key": _to_item({table.PK: f"MAC#{release_mac}", table.SK: table.CLAIM_SK}),
                        "ConditionExpression": "device_id = :id",
                        "ExpressionAttributeValues": _to_item({":id": device_id}),
                    }
                }
            )
            macs.append(None)
        self._transact(operations, device_id=device_id, macs=macs)

    def _put(self, key: Mapping[str, str], values: Mapping[str, Any], *, new: bool) -> dict[str, Any]:
        put: dict[str, Any] = {"TableName": self.table_name, "Item": _to_item({**values, **key})}
        if new:
            put["ConditionExpression"] = f"attribute_not_exists({table.PK})"
        return {"Put": put}

    def _claim(self, mac: str, device_id: str) -> dict[str, Any]:
        operation = self._put(
            {table.PK: f"MAC#{mac}", table.SK: table.CLAIM_SK},
            {"device_id": device_id, "mac_address": mac},
            new=True,
        )
        # Return the holder's item on failure, so the 409 can name the device that has it.
        operation["Put"]["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        return operation

    def _put_history(self, device_id: str, history: Mapping[str, Any]) -> dict[str, Any]:
        revision, at = history["revision"], history["at"]
        group = "status" if history["kind"] == "status" else "config"
        rev = f"{revision:0{table.REVISION_DIGITS}d}"
        key = {table.PK: f"DEVICE#{device_id}", table.SK: revision_sk(revision)}
        indexed = {
            **history,
            table.HISTORY_AT: f"{at}#{rev}",
            table.HISTORY_KIND_AT: f"{group}#{at}#{rev}",
        }
        # History entries are immutable: a put that would overwrite one fails.
        return self._put(key, indexed, new=True)

    def _transact(self, operations: list[dict[str, Any]], *, device_id: str, macs: list[str | None]) -> None:
        try:
            self.client.transact_write_items(TransactItems=operations)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code != "TransactionCanceledException":
                raise self._translate(error) from error
            reasons = error.response.get("CancellationReasons", [])
            self._raise_for_cancellation(reasons, device_id=device_id, macs=macs, error=error)
        except BotoCoreError as error:
            raise _unavailable(error) from error

    def _raise_for_cancellation(
        self, reasons: list[dict[str, Any]], *, device_id: str, macs: list[str | None], error: ClientError
    ) -> None:
        codes = [reason.get("Code", "None") for reason in reasons]
        for position, code in enumerate(codes):
            mac = macs[position] if position < len(macs) else None
            if code == "ConditionalCheckFailed" and mac is not None:
                holder = _from_item(reasons[position].get("Item", {})).get("device_id")
                if holder != device_id:
                    raise MacAddressTaken(mac, holder or self._claim_holder(mac)) from error
        if "ConditionalCheckFailed" in codes or "TransactionConflict" in codes:
            raise StaleRevision from error
        raise _unavailable(error) from error

    def _claim_holder(self, mac: str) -> str:
        key = {table.PK: f"MAC#{mac}", table.SK: table.CLAIM_SK}
        response = self._call(self.client.get_item, TableName=self.table_name, Key=_to_item(key))
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
        if code in _UNAVAILABLE_CODES:
            return _unavailable(error)
        return error


def ensure_exists(item: dict[str, Any] | None, device_id: str) -> dict[str, Any]:
    """The live device's item, or :class:`DeviceNotFound` (never existed or deleted)."""
    if item is None or item.get("deleted_at"):
        raise DeviceNotFound(device_id)
    return item
