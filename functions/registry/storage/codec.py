"""DynamoDB's attribute-value JSON to plain values and back, for the two modules that speak
DynamoDB (the store, and the migrations' Scan). Whole numbers read as ``int``; other numbers
stay ``Decimal``, so an item read and written back is unchanged."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    if isinstance(value, dict):
        return {name: _plain(inner) for name, inner in value.items()}
    if isinstance(value, list):
        return [_plain(inner) for inner in value]
    return value


def encode(values: Mapping[str, Any]) -> dict[str, Any]:
    """``{"revision": 3}`` → ``{"revision": {"N": "3"}}``."""
    return {name: _serializer.serialize(value) for name, value in values.items()}


def decode(item: Mapping[str, Any]) -> dict[str, Any]:
    """``{"revision": {"N": "3"}}`` → ``{"revision": 3}``."""
    return {name: _plain(_deserializer.deserialize(value)) for name, value in item.items()}
