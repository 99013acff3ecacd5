"""What every store of the device table shares: its DynamoDB client and table, a Query that
pages, a put, and DynamoDB failures turned into domain errors (busy: 503 with Retry-After)."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from registry.domain.errors import InvalidCursor, ServiceUnavailable
from registry.storage import keys
from registry.storage.codec import decode as _from_item
from registry.storage.codec import encode as _to_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
else:
    DynamoDBClient = Any

logger = Logger(child=True)  # structured, with the request's correlation id

# Jitter from the operating system, not the module-level generator: every execution environment
# restored from one SnapStart snapshot starts with the same `random` state, so they would all
# back off by the same delays and collide again.
_JITTER = random.SystemRandom()


def backoff_delay(attempt: int) -> float:
    """Seconds to wait before retry ``attempt + 1``: full jitter, up to 50 ms doubled per attempt."""
    return _JITTER.uniform(0, 0.05 * 2**attempt)


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


def exclusive_start(start_key: Mapping[str, Any] | None) -> dict[str, Any]:
    """A Query's ``ExclusiveStartKey`` argument, if it has one."""
    return {} if start_key is None else {"ExclusiveStartKey": _to_item(start_key)}


def chunks[T](items: Sequence[T], size: int) -> list[Sequence[T]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


def unavailable(error: Exception) -> ServiceUnavailable:
    logger.warning("dynamodb unavailable", extra={"error": type(error).__name__})
    return ServiceUnavailable("The device store is busy or unreachable; retry shortly.")


@dataclass(frozen=True)
class Page[RecordT]:
    items: list[RecordT]
    has_more: bool


class TableStore:
    """A store of the device table: the calls its reads and writes have in common."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self.client = client
        self.table_name = table_name

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
        response = self._call(self.client.query, **request, **exclusive_start(start_key))
        items = [_from_item(item) for item in response.get("Items", [])]
        return Page(items=items[:limit], has_more=len(items) > limit)

    def _put(self, item: Mapping[str, Any], *, new: bool) -> dict[str, Any]:
        put: dict[str, Any] = {"TableName": self.table_name, "Item": _to_item(item)}
        if new:
            put["ConditionExpression"] = f"attribute_not_exists({keys.PK})"
        return {"Put": put}

    def _call(self, operation: Any, **request: Any) -> dict[str, Any]:
        try:
            return dict(operation(**request))
        except ClientError as error:
            raise self._translate(error) from error
        except BotoCoreError as error:
            raise unavailable(error) from error

    def _translate(self, error: ClientError) -> Exception:
        code = error.response.get("Error", {}).get("Code", "")
        if code in _UNAVAILABLE_CODES or index_not_there_yet(error):
            return unavailable(error)
        if _start_key_refused(error):  # a cursor no check above foresaw: still the client's 400
            return InvalidCursor(CURSOR_OUTSIDE)
        return error


def index_not_there_yet(error: ClientError) -> bool:
    """A Query of an index the table does not have (yet): a stack gets its lookup indexes one
    deployment at a time (docs/deployment.md), and a list needing one is busy until then."""
    details = error.response.get("Error", {})
    return details.get("Code") == "ValidationException" and "specified index" in str(details.get("Message", ""))


CURSOR_OUTSIDE = "The cursor belongs to another query (other since/until): resend that query, or start without it."


def within_bounds(start: str, low: str, high: str) -> None:
    """A history cursor names a position; reused with another ``since``/``until`` it can lie
    outside the Query's key condition, which DynamoDB refuses (a ValidationException, moto
    does not check). Refused here first, as a cursor the request cannot continue."""
    if not low <= start <= high:
        raise InvalidCursor(CURSOR_OUTSIDE)


def _start_key_refused(error: ClientError) -> bool:
    """DynamoDB's "The provided starting key is outside query boundaries …" or "… is invalid"."""
    details = error.response.get("Error", {})
    return details.get("Code") == "ValidationException" and "starting key" in str(details.get("Message", ""))
