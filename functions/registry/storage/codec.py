"""DynamoDB's attribute-value JSON to plain values and back, for the modules that speak DynamoDB
(the stores, the migrations' Scan, the stream consumers). Whole numbers read as ``int``; other
numbers stay ``Decimal``, so an item read and written back is unchanged.

The rules are boto3's ``TypeSerializer`` / ``TypeDeserializer`` (``boto3.dynamodb.types``), written
out here so that a route function never imports boto3: importing that module imports the
``boto3`` package and with it s3transfer and boto3's session, which a function that only speaks
to DynamoDB through a botocore client does not need (docs/performance.md). Same types in and out,
same errors for what DynamoDB cannot hold (``float``, ``NaN``, more than 38 digits);
``tests/unit/test_codec.py`` checks both directions against boto3's own output. The one
difference: binary values are ``bytes`` both ways, where boto3 also takes and gives its
``Binary`` wrapper (equal to the same ``bytes``); no item of ours holds one."""

from __future__ import annotations

from collections.abc import Mapping, Set
from decimal import Clamped, Context, Decimal, Inexact, Overflow, Rounded, Underflow
from typing import Any

# boto3.dynamodb.types.DYNAMODB_CONTEXT: DynamoDB's number range and precision, anything else an error.
DYNAMODB_CONTEXT = Context(Emin=-128, Emax=126, prec=38, traps=[Clamped, Overflow, Inexact, Rounded, Underflow])
_BINARY = (bytes, bytearray)


def _is_number(value: Any) -> bool:
    if isinstance(value, float):
        raise TypeError("Float types are not supported. Use Decimal types instead.")
    return isinstance(value, (int, Decimal))  # bool too, as boto3 (a bool alone is caught before)


def _number(value: int | Decimal) -> str:
    number = str(DYNAMODB_CONTEXT.create_decimal(value))
    if number in ("Infinity", "NaN"):
        raise TypeError("Infinity and NaN not supported")
    return number


def serialize(value: Any) -> dict[str, Any]:
    """One value as DynamoDB's attribute value, by boto3's rules in boto3's order of checks."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if _is_number(value):
        return {"N": _number(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, _BINARY):
        return {"B": value}
    if isinstance(value, Set):
        if all(_is_number(member) for member in value):
            return {"NS": [_number(member) for member in value]}
        if all(isinstance(member, str) for member in value):
            return {"SS": list(value)}
        if all(isinstance(member, _BINARY) for member in value):
            return {"BS": list(value)}
    if isinstance(value, Mapping):
        return {"M": {name: serialize(inner) for name, inner in value.items()}}
    if isinstance(value, (list, tuple)):
        return {"L": [serialize(inner) for inner in value]}
    raise TypeError(f'Unsupported type "{type(value)}" for value "{value}"')


def deserialize(value: Mapping[str, Any]) -> Any:
    """One attribute value as boto3 reads it (numbers as ``Decimal``, sets as ``set``)."""
    if not value:
        raise TypeError("Value must be a nonempty dictionary whose key is a valid dynamodb type.")
    kind = next(iter(value))
    inner = value[kind]
    if kind == "S":
        return inner
    if kind == "N":
        return DYNAMODB_CONTEXT.create_decimal(inner)
    if kind == "M":
        return {name: deserialize(member) for name, member in inner.items()}
    if kind == "L":
        return [deserialize(member) for member in inner]
    if kind == "BOOL":
        return inner
    if kind == "NULL":
        return None
    if kind == "SS":
        return set(inner)
    if kind == "NS":
        return {DYNAMODB_CONTEXT.create_decimal(member) for member in inner}
    if kind == "B":
        return inner
    if kind == "BS":
        return set(inner)
    raise TypeError(f"Dynamodb type {kind} is not supported")


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
    return {name: serialize(value) for name, value in values.items()}


def decode(item: Mapping[str, Any]) -> dict[str, Any]:
    """``{"revision": {"N": "3"}}`` → ``{"revision": 3}``."""
    return {name: _plain(deserialize(value)) for name, value in item.items()}
