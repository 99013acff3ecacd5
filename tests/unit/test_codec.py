"""The item codec writes and reads exactly what boto3's TypeSerializer / TypeDeserializer do (it
replaces them so that route functions never import boto3): the same attribute values for every
value a store writes, the same values back, the same errors for what DynamoDB cannot hold."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from hypothesis import given
from hypothesis import strategies as st

from registry.storage.codec import decode, deserialize, encode, serialize

BOTO3_SERIALIZER = TypeSerializer()
BOTO3_DESERIALIZER = TypeDeserializer()

# Numbers DynamoDB holds: integers and decimals of at most 38 significant digits in its range.
numbers = st.one_of(
    st.integers(min_value=-(10**38) + 1, max_value=10**38 - 1),
    st.decimals(allow_nan=False, allow_infinity=False, places=6, min_value=-(10**20), max_value=10**20),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=20), st.binary(max_size=8))
sets = st.one_of(
    st.frozensets(st.text(max_size=5), max_size=4).map(set),
    st.frozensets(st.integers(-1000, 1000), max_size=4).map(set),
    st.frozensets(st.binary(min_size=1, max_size=4), min_size=1, max_size=3).map(set),
)
values = st.recursive(
    st.one_of(scalars, sets),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12,
)


def _unordered(attribute: dict[str, Any]) -> dict[str, Any]:
    """Sets become lists in attribute values, in the set's iteration order: compare them as sets."""
    [(kind, inner)] = attribute.items()
    if kind in ("SS", "NS", "BS"):
        return {kind: frozenset(inner)}
    if kind == "M":
        return {kind: {name: _unordered(member) for name, member in inner.items()}}
    if kind == "L":
        return {kind: [_unordered(member) for member in inner]}
    return attribute


@given(values)
def test_every_value_is_written_as_boto3_writes_it(value: Any) -> None:
    assert _unordered(serialize(value)) == _unordered(BOTO3_SERIALIZER.serialize(value))


@given(values)
def test_every_attribute_value_reads_back_as_boto3_reads_it(value: Any) -> None:
    attribute = BOTO3_SERIALIZER.serialize(value)
    assert deserialize(attribute) == BOTO3_DESERIALIZER.deserialize(attribute)


def _plain_as_before(value: Any) -> Any:
    """What the codec made of boto3's values: whole numbers as int, in maps and lists."""
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    if isinstance(value, dict):
        return {name: _plain_as_before(inner) for name, inner in value.items()}
    if isinstance(value, list):
        return [_plain_as_before(inner) for inner in value]
    return value


@given(st.dictionaries(st.text(min_size=1, max_size=8), values, max_size=5))
def test_an_item_reads_as_it_did_on_boto3_with_whole_numbers_as_int(item: dict[str, Any]) -> None:
    attributes = {name: BOTO3_SERIALIZER.serialize(value) for name, value in item.items()}
    assert encode(item) == attributes
    expected = {name: _plain_as_before(BOTO3_DESERIALIZER.deserialize(value)) for name, value in attributes.items()}
    assert decode(attributes) == expected


def test_the_values_a_store_writes() -> None:
    item = {
        "pk": "DEVICE#0b0e8c1e-6d4a-4c50-9d0e-2f6a9a3b1c00",
        "revision": 3,
        "ttl": Decimal("1764979200"),
        "ratio": Decimal("0.25"),
        "deleted": False,
        "note": None,
        "attributes": {"floor": "B1", "tags": ["a", "b"]},
        "credential_ids": {"c1"},
    }
    assert encode(item) == {name: BOTO3_SERIALIZER.serialize(value) for name, value in item.items()}
    assert decode(encode(item)) == {**item, "ttl": 1764979200}
    assert type(decode(encode(item))["revision"]) is int and type(decode(encode(item))["ratio"]) is Decimal


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (1.5, "Float types are not supported"),
        ({"a": [1.5]}, "Float types are not supported"),
        (Decimal("NaN"), "Infinity and NaN not supported"),
        (Decimal("Infinity"), "Infinity and NaN not supported"),
        (object(), "Unsupported type"),
        ({1, "a"}, "Unsupported type"),
    ],
)
def test_what_dynamodb_cannot_hold_is_refused_as_boto3_refuses_it(value: Any, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        BOTO3_SERIALIZER.serialize(value)
    with pytest.raises(TypeError, match=message):
        serialize(value)


def test_more_digits_than_dynamodb_keeps_is_refused_as_boto3_refuses_it() -> None:
    too_precise = Decimal("1." + "1" * 40)
    with pytest.raises(Exception) as boto3_error:
        BOTO3_SERIALIZER.serialize(too_precise)
    with pytest.raises(type(boto3_error.value)):
        serialize(too_precise)


@pytest.mark.parametrize("attribute", [{}, {"X": "1"}])
def test_an_unknown_attribute_type_is_refused(attribute: dict[str, Any]) -> None:
    with pytest.raises(TypeError):
        BOTO3_DESERIALIZER.deserialize(attribute)
    with pytest.raises(TypeError):
        deserialize(attribute)
