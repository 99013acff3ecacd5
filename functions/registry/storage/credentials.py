"""Device credentials in DynamoDB (keys in ``registry.storage.keys``; records in ``registry.domain.credentials``).

Beside ``registry.storage.devices`` rather than in it: the device authorizer uses only the two reads at
the top (:meth:`CredentialStore.get_credential`, :meth:`CredentialStore.touch_credential`), and
imports this module without the device store's records, models and pydantic.

* create: one transaction — the device is live (condition check), its credential set has fewer
  than ``MAX_ACTIVE`` ids (ADD the new one), the credential item is new;
* revoke: one transaction — delete the credential item if it is this device's, drop its id;
* a device's deletion: :func:`revocations` adds to the deletion's own transaction the deletion
  of every credential item and of the set, on condition that the set is still as read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from registry.domain.credentials import MAX_ACTIVE, StoredCredential
from registry.domain.errors import (
    ConcurrentUpdate,
    CredentialNotFound,
    DeviceNotFound,
    ServiceUnavailable,
    TooManyCredentials,
)
from registry.storage import keys
from registry.storage.codec import decode, encode

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
else:
    DynamoDBClient = Any

logger = Logger(child=True)

_IDS = "ids"  # the device's set of active credential ids
_VERSION = "version"  # +1 per change of the set: what a device deletion's condition compares
_RECORD_FIELDS = ("credential_id", "device_id", "created_at", "salt", "hash", "n", "r", "p", "last_used_at")


def _record(item: dict[str, Any]) -> StoredCredential:
    values = decode(item)
    return StoredCredential(**{name: values[name] for name in _RECORD_FIELDS if name in values})


def _unavailable(error: Exception) -> ServiceUnavailable:
    logger.warning("dynamodb unavailable", extra={"error": type(error).__name__})
    return ServiceUnavailable("The device store is busy or unreachable; retry shortly.")


def _not_touched(credential_id: str, error: str) -> None:
    logger.warning("last_used_at not updated", extra={"credential_id": credential_id, "error": error})


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class CredentialStore:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self.client = client
        self.table_name = table_name

    # -- the authorizer's two calls ----------------------------------------------------

    def get_credential(self, credential_id: str) -> StoredCredential | None:
        """One GetItem (eventually consistent: half the read cost, on every authorizer cache
        miss; a write shows within about a second, well inside the cache's 60 s)."""
        try:
            response = self.client.get_item(TableName=self.table_name, Key=encode(keys.credential_key(credential_id)))
        except (ClientError, BotoCoreError) as error:
            raise _unavailable(error) from error
        item = response.get("Item")
        return _record(item) if item else None

    def touch_credential(self, credential_id: str, at: str, *, if_unused_since: str) -> None:
        """Set ``last_used_at`` unless another request already did since ``if_unused_since``. A
        failure changes nothing a device sees: it is logged (the id, never a secret), not raised."""
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key=encode(keys.credential_key(credential_id)),
                UpdateExpression="SET last_used_at = :at",
                ConditionExpression=(
                    f"attribute_exists({keys.PK}) AND (attribute_not_exists(last_used_at) OR last_used_at < :cutoff)"
                ),
                ExpressionAttributeValues=encode({":at": at, ":cutoff": if_unused_since}),
            )
        except ClientError as error:
            if _code(error) != "ConditionalCheckFailedException":
                logger.warning(
                    "last_used_at not updated", extra={"credential_id": credential_id, "error": _code(error)}
                )
        except BotoCoreError as error:
            logger.warning("last_used_at not updated", extra={"credential_id": credential_id, "error": str(error)})

    # -- the operators' routes ---------------------------------------------------------

    def create(self, record: StoredCredential) -> None:
        device_id = record.device_id
        item = {**keys.credential_key(record.credential_id), **_item_values(record)}
        operations = [
            {
                "ConditionCheck": {
                    "TableName": self.table_name,
                    "Key": encode(keys.device_key(device_id)),
                    # A live device: a tombstone's deleted_at is a timestamp, a live one's null or absent.
                    "ConditionExpression": f"attribute_exists({keys.PK}) AND NOT attribute_type(deleted_at, :string)",
                    "ExpressionAttributeValues": encode({":string": "S"}),
                }
            },
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": encode(keys.device_credentials_key(device_id)),
                    "UpdateExpression": f"ADD {_IDS} :id, {_VERSION} :one",
                    "ConditionExpression": f"attribute_not_exists({_IDS}) OR size({_IDS}) < :max",
                    "ExpressionAttributeValues": {
                        ":id": {"SS": [record.credential_id]},
                        **encode({":one": 1, ":max": MAX_ACTIVE}),
                    },
                }
            },
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": encode(item),
                    "ConditionExpression": f"attribute_not_exists({keys.PK})",
                }
            },
        ]
        failed = self._transact(operations)
        if failed == 0:
            raise DeviceNotFound(device_id)
        if failed == 1:
            raise TooManyCredentials(device_id, MAX_ACTIVE)
        if failed is not None:
            raise ConcurrentUpdate("The credential could not be created (a concurrent change); retry.")

    def of_device(self, device_id: str) -> list[StoredCredential]:
        """The live device's credentials, oldest first: one BatchGetItem of the device and its
        credential set, one of the (at most ``MAX_ACTIVE``) credential items."""
        device, credentials = self._batch_get([keys.device_key(device_id), keys.device_credentials_key(device_id)])
        if device is None or decode(device).get("deleted_at"):
            raise DeviceNotFound(device_id)
        ids = sorted(decode(credentials or {}).get(_IDS, set()))
        if not ids:
            return []
        items = [item for item in self._batch_get([keys.credential_key(id_) for id_ in ids]) if item]
        return sorted((_record(item) for item in items), key=lambda record: (record.created_at, record.credential_id))

    def revoke(self, device_id: str, credential_id: str) -> None:
        operations = [
            {
                "Delete": {
                    "TableName": self.table_name,
                    "Key": encode(keys.credential_key(credential_id)),
                    "ConditionExpression": "device_id = :device",
                    "ExpressionAttributeValues": encode({":device": device_id}),
                }
            },
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": encode(keys.device_credentials_key(device_id)),
                    "UpdateExpression": f"DELETE {_IDS} :id ADD {_VERSION} :one",
                    "ExpressionAttributeValues": {":id": {"SS": [credential_id]}, **encode({":one": 1})},
                }
            },
        ]
        failed = self._transact(operations)
        if failed == 0:
            raise CredentialNotFound(device_id, credential_id)
        if failed is not None:
            raise ConcurrentUpdate("The credential could not be revoked (a concurrent change); retry.")

    # -- helpers -----------------------------------------------------------------------

    def _batch_get(self, wanted: list[dict[str, str]]) -> list[dict[str, Any] | None]:
        """The items of ``keys`` (strongly consistent), in their order; None where there is none."""
        try:
            response = self.client.batch_get_item(
                RequestItems={self.table_name: {"Keys": [encode(key) for key in wanted], "ConsistentRead": True}}
            )
        except (ClientError, BotoCoreError) as error:
            raise _unavailable(error) from error
        if response.get("UnprocessedKeys"):
            # A few small items go unprocessed only when the table is throttled: busy, retry shortly.
            raise _unavailable(RuntimeError("BatchGetItem left keys unprocessed"))
        found = {(item[keys.PK]["S"], item[keys.SK]["S"]): item for item in response["Responses"][self.table_name]}
        return [found.get((key[keys.PK], key[keys.SK])) for key in wanted]

    def _transact(self, operations: list[dict[str, Any]]) -> int | None:
        """None when it committed; else the index of the first operation whose condition failed
        (-1: cancelled for another reason, e.g. a conflicting transaction)."""
        try:
            self.client.transact_write_items(TransactItems=operations)
            return None
        except ClientError as error:
            if _code(error) != "TransactionCanceledException":
                raise _unavailable(error) from error
            codes = [reason.get("Code", "None") for reason in error.response.get("CancellationReasons", [])]
            if "ConditionalCheckFailed" in codes:
                return codes.index("ConditionalCheckFailed")
            if "TransactionConflict" in codes:
                return -1
            raise _unavailable(error) from error
        except BotoCoreError as error:
            raise _unavailable(error) from error

    def revocations(self, device_id: str) -> list[dict[str, Any]]:
        """What a device's deletion adds to its own transaction: delete each of its credential items
        and its credential set, provided the set is still as read here (a credential created in
        between fails the condition, and the deletion is planned again from a fresh read)."""
        key = keys.device_credentials_key(device_id)
        try:
            response = self.client.get_item(TableName=self.table_name, Key=encode(key), ConsistentRead=True)
        except (ClientError, BotoCoreError) as error:
            raise _unavailable(error) from error
        current = decode(response.get("Item") or {})
        if _VERSION in current:
            condition = {
                "ConditionExpression": f"{_VERSION} = :v",
                "ExpressionAttributeValues": encode({":v": current[_VERSION]}),
            }
        else:
            condition = {"ConditionExpression": f"attribute_not_exists({keys.PK})"}
        operations: list[dict[str, Any]] = [{"Delete": {"TableName": self.table_name, "Key": encode(key), **condition}}]
        for credential_id in sorted(current.get(_IDS, set())):
            operations.append(
                {"Delete": {"TableName": self.table_name, "Key": encode(keys.credential_key(credential_id))}}
            )
        return operations


def _item_values(record: StoredCredential) -> dict[str, Any]:
    values = {name: getattr(record, name) for name in _RECORD_FIELDS}
    return {name: value for name, value in values.items() if value is not None}
