"""moto's answers to item reads, encoded without its generic serializer. moto 5 serializes every
answer by walking botocore's shape model value by value (name aliases tried at each step): a page of
250 device items costs ~1 s of the embedded DynamoDB's single request thread, the bulk of a
filtered list page at any fleet size.

For GetItem, Query, Scan and BatchGetItem the items themselves (AttributeValue maps: ``S``, ``N``,
``BOOL``, ``NULL``, ``SS``, ``NS``, ``L``, ``M``) are written straight to JSON here; everything
else in the answer (counts, ``LastEvaluatedKey``, ``ConsumedCapacity``, ``UnprocessedKeys``, the
headers) is still moto's own serialization of the same result without its items. An item holding a
binary value (``B``, ``BS``, which moto base64-encodes) is left entirely to moto.
tests/reliability/test_moto_indexes.py checks the two encodings give the same answers."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from moto.core.responses import ActionResult
from moto.dynamodb import responses
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.responses import DynamoHandler

type _Answer = tuple[int, dict[str, Any], Any]

# The operations whose answer is mostly items, and the member holding them.
ITEM_MEMBERS = {"GetItem": "Item", "Query": "Items", "Scan": "Items", "BatchGetItem": "Responses"}
_SCALARS = {"S": str, "N": str, "BOOL": bool, "NULL": bool}
_ORIGINAL: Callable[[DynamoHandler, ActionResult], _Answer] = DynamoHandler.serialized
_ORIGINAL_TO_DICT: Callable[[Any], Any] = responses.dynamo_to_dict
_PLAIN_VALUES = {"S": str, "N": str, "BOOL": bool, "NULL": bool}


class _NotPlain(Exception):
    """A value this module does not encode (binary, or a shape it does not know): moto's turn."""


def _value(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or len(value) != 1:
        raise _NotPlain
    ((kind, content),) = value.items()
    if kind in _SCALARS and type(content) is _SCALARS[kind]:
        return {kind: content}
    if kind in ("SS", "NS") and isinstance(content, list) and all(type(v) is str for v in content):
        return {kind: list(content)}
    if kind == "L" and isinstance(content, list):
        return {"L": [_value(v) for v in content]}
    if kind == "M" and isinstance(content, dict):
        return {"M": _item(content)}
    raise _NotPlain


def _item(item: Any) -> dict[str, Any]:
    if not isinstance(item, dict) or not all(type(name) is str for name in item):
        raise _NotPlain
    return {name: _value(value) for name, value in item.items()}


def _items(operation: str, payload: Any) -> Any:
    """The answer's items, encoded as moto would."""
    if operation == "GetItem":
        return _item(payload)
    if operation == "BatchGetItem":
        if not isinstance(payload, dict):
            raise _NotPlain
        return {table: _listed(items) for table, items in payload.items()}
    return _listed(payload)


def _listed(items: Any) -> list[dict[str, Any]]:
    if not isinstance(items, list):
        raise _NotPlain
    return [_item(item) for item in items]


def _emptied(operation: str, payload: Any) -> Any:
    """The member without its items: what moto serializes, the items then put in."""
    if operation == "GetItem":
        return {}
    if operation == "BatchGetItem":
        return {table: [] for table in payload}
    return []


def serialized(self: DynamoHandler, action_result: ActionResult) -> _Answer:
    operation = self._get_action()
    member = ITEM_MEMBERS.get(operation)
    result = action_result.result
    if member is None or not isinstance(result, dict) or not result.get(member):
        return _ORIGINAL(self, action_result)
    try:
        items = _items(operation, result[member])
    except _NotPlain:
        return _ORIGINAL(self, action_result)
    emptied = {**result, member: _emptied(operation, result[member])}
    status, headers, body = _ORIGINAL(self, ActionResult(emptied))
    answer = json.loads(body)
    answer[member] = items
    return status, headers, json.dumps(answer, separators=(",", ":"))


def to_dict(result: Any) -> Any:
    """``dynamo_to_dict`` (how moto turns every answer's ``DynamoType`` values into plain
    ``{type: value}`` maps before serializing it) for strings, numbers, booleans and nulls
    without its generic walk, which asks each value whether it is a datetime, has ``to_json``,
    is a dict or a list: ~6,000 values for a page of lookup entries. Anything else, moto's."""
    if type(result) is DynamoType:
        plain = _PLAIN_VALUES.get(result.type)
        if plain is not None and type(result.value) is plain:
            return {result.type: result.value}
        return _ORIGINAL_TO_DICT(result)
    if type(result) is dict:
        return {name: to_dict(value) for name, value in result.items()}
    if type(result) is list:
        return [to_dict(value) for value in result]
    return _ORIGINAL_TO_DICT(result)


def install() -> None:
    setattr(DynamoHandler, "serialized", serialized)  # noqa: B010 - moto's method, replaced
    setattr(responses, "dynamo_to_dict", to_dict)  # noqa: B010 - what DynamoResult calls


def uninstall() -> None:
    setattr(DynamoHandler, "serialized", _ORIGINAL)  # noqa: B010
    setattr(responses, "dynamo_to_dict", _ORIGINAL_TO_DICT)  # noqa: B010
