"""The migrations' DynamoDB calls: the one module besides ``registry/storage/devices.py`` that speaks
DynamoDB, because it is the only code allowed to Scan the table (a migration must visit every
item; no request path ever Scans). Attribute-value JSON stays in here: the runner sees items
as the store's readers do.

Every rewrite is conditional on the whole item being what the migration read, attribute by
attribute, so a migration never overwrites a writer's change (it reads the item again and
decides anew) and never recreates an item deleted meanwhile."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.config import Config
from botocore.exceptions import ClientError

from registry.storage import keys
from registry.storage.codec import decode, encode
from registry.storage.migrations.ledger import LedgerEntry, State
from registry.storage.migrations.migration import Item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
else:
    DynamoDBClient = Any

# A batch job, not a request: its client waits out throttling rather than failing fast.
CLIENT_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 10})

_CONDITION_FAILED = "ConditionalCheckFailedException"


def _key(item: Item) -> dict[str, Any]:
    return {keys.PK: item[keys.PK], keys.SK: item[keys.SK]}


@dataclass(frozen=True)
class ScanPage:
    items: list[dict[str, Any]]  # the page's items, ledger items left out
    scanned: int  # items read, ledger items included
    last_key: dict[str, Any] | None  # where the next page starts; None: the table is done


class MigrationTable:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self.client = client
        self.table_name = table_name

    # -- items -------------------------------------------------------------------------

    def scan(self, start_key: dict[str, Any] | None, limit: int) -> ScanPage:
        """One page of the table. Strongly consistent: an item a writer changed just before the
        page is read as it is now, so the migration sees it (a page costs twice the read units)."""
        request: dict[str, Any] = {"TableName": self.table_name, "Limit": limit, "ConsistentRead": True}
        if start_key is not None:
            request["ExclusiveStartKey"] = encode(start_key)
        response = self.client.scan(**request)
        items = [decode(raw) for raw in response.get("Items", [])]
        last_key = response.get("LastEvaluatedKey")
        return ScanPage(
            items=[item for item in items if item[keys.PK] != keys.MIGRATIONS_PK],
            scanned=int(response.get("ScannedCount", len(items))),
            last_key=decode(last_key) if last_key else None,
        )

    def read(self, key: Item) -> dict[str, Any] | None:
        response = self.client.get_item(TableName=self.table_name, Key=encode(_key(key)), ConsistentRead=True)
        raw = response.get("Item")
        return decode(raw) if raw else None

    def rewrite(self, old: Item, new: Item) -> bool:
        """Turn ``old`` into ``new`` (same key) with one UpdateItem, if the stored item still is
        ``old`` in every attribute. False: it is not (changed or deleted meanwhile)."""
        expression = _Expression()
        # A NULL attribute value is compared by type: equality with NULL is not defined.
        condition = " AND ".join(
            f"attribute_type({expression.name(attribute)}, {expression.value('NULL')})"
            if value is None
            else f"{expression.name(attribute)} = {expression.value(value)}"
            for attribute, value in old.items()
        )
        changes = [
            f"{expression.name(attribute)} = {expression.value(value)}"
            for attribute, value in new.items()
            if attribute not in old or old[attribute] != value
        ]
        removed = [expression.name(attribute) for attribute in old if attribute not in new]
        clauses = [f"SET {', '.join(changes)}"] if changes else []
        clauses += [f"REMOVE {', '.join(removed)}"] if removed else []
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key=encode(_key(old)),
                UpdateExpression=" ".join(clauses),
                ConditionExpression=condition,
                ExpressionAttributeNames=expression.names,
                ExpressionAttributeValues=expression.values,
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == _CONDITION_FAILED:
                return False
            raise
        return True

    def history(self, pk: str) -> list[dict[str, Any]]:
        """Every history item (``REV#``) of one device partition: Query pages, strongly consistent."""
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "#pk = :pk AND begins_with(#sk, :rev)",
            "ExpressionAttributeNames": {"#pk": keys.PK, "#sk": keys.SK},
            "ExpressionAttributeValues": {":pk": {"S": pk}, ":rev": {"S": keys.REVISION_PREFIX}},
            "ConsistentRead": True,
        }
        items: list[dict[str, Any]] = []
        while True:
            response = self.client.query(**request)
            items += [decode(raw) for raw in response.get("Items", [])]
            if "LastEvaluatedKey" not in response:
                return items
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def put_derived(self, item: Item, *, if_absent: bool = False) -> bool:
        """Put a derived item unless one with an ``until`` (a closed interval) is stored under its
        key — or, ``if_absent``, unless any item is. False: there is one, and it is kept."""
        exists = "#pk" if if_absent else "#until"
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=encode(dict(item)),
                ConditionExpression=f"attribute_not_exists({exists})",
                ExpressionAttributeNames={exists: keys.PK if if_absent else "until"},
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == _CONDITION_FAILED:
                return False
            raise
        return True

    # -- the ledger --------------------------------------------------------------------

    def ledger(self, number: int) -> LedgerEntry | None:
        item = self.read(keys.migration_key(number))
        return _entry(item) if item else None

    def ledgers(self) -> list[LedgerEntry]:
        """Every ledger entry, registered migrations or not, in number order."""
        return [_entry(item) for item in self._ledger_items()]

    def _ledger_items(self) -> Iterator[dict[str, Any]]:
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "#pk = :pk",
            "ExpressionAttributeNames": {"#pk": keys.PK},
            "ExpressionAttributeValues": {":pk": {"S": keys.MIGRATIONS_PK}},
            "ConsistentRead": True,
        }
        while True:
            response = self.client.query(**request)
            yield from (decode(raw) for raw in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def save(self, entry: LedgerEntry) -> bool:
        """Record ``entry``, unless the ledger says the migration is done (another run finished
        it): a done migration is never reopened. False: it was done."""
        fields = {name: value for name, value in entry.as_json().items() if value is not None}
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=encode({**fields, **keys.migration_key(entry.number)}),
                ConditionExpression="attribute_not_exists(#pk) OR #state <> :done",
                ExpressionAttributeNames={"#pk": keys.PK, "#state": "state"},
                ExpressionAttributeValues={":done": {"S": State.DONE.value}},
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == _CONDITION_FAILED:
                return False
            raise
        return True


class _Expression:
    """Placeholders for the attribute names and values of one request's expressions."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.values: dict[str, Any] = {}
        self._by_attribute: dict[str, str] = {}

    def name(self, attribute: str) -> str:
        if attribute not in self._by_attribute:
            self._by_attribute[attribute] = placeholder = f"#a{len(self._by_attribute)}"
            self.names[placeholder] = attribute
        return self._by_attribute[attribute]

    def value(self, value: Any) -> str:
        placeholder = f":v{len(self.values)}"
        self.values[placeholder] = encode({"v": value})["v"]
        return placeholder


def _entry(item: Item) -> LedgerEntry:
    return LedgerEntry(
        number=int(item["number"]),
        name=str(item["name"]),
        state=State(item["state"]),
        started_at=str(item["started_at"]),
        finished_at=item.get("finished_at"),
        runs=int(item["runs"]),
        pages=int(item["pages"]),
        scanned=int(item["scanned"]),
        updated=int(item["updated"]),
        resume_from=item.get("resume_from"),
    )
