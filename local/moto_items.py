"""moto's item sizes and item copies without its per-value method dispatch. moto 5 measures an
item (``Item.size``: every value through ``DynamoType.size``, which tries ``is_number``,
``is_set``, ``is_list``, ``is_map`` in turn) for every item a Query, a Scan or a BatchGetItem
returns, twice (the 1 MB and 16 MB answer limits), and copies every item a Query returns
(``copy.deepcopy``: one dispatch per value) before projecting it on the index's few attributes.
A page of a lookup index (255 entries of full device items) spent most of its ~0.4 s there, and a
BatchGetItem of 100 devices most of its ~0.1 s.

Here the same two functions compute the same results with one type comparison per value: the same
size, counted the same way for every type (``N`` by its text, sets member by member, maps with
their keys); the same copy (moto's ``DynamoType.__deepcopy__`` returns the value itself, so a
copied item shares its values with the original; the copy is a new item with a new attribute
dict holding them, and the memo is left as moto leaves it). tests/reliability/test_moto_indexes.py
runs every read on patched and unpatched moto, and checks both functions against moto's on every
kind of value."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, cast

from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict

_ORIGINAL: dict[tuple[type, str], Callable[..., Any]] = {
    (DynamoType, "size"): DynamoType.size,
    (Item, "size"): Item.size,
    (Item, "__deepcopy__"): Item.__deepcopy__,
}
_SETS = ("SS", "NS", "BS")
_MISSING = object()


def _text_size(value: Any) -> int:
    return len(value if isinstance(value, bytes) else value.encode("utf-8"))


def _member_size(kind: str, value: Any) -> int:
    """``DynamoType({kind: value}).size()`` for a set member (never a list or a map)."""
    if kind == "N":
        return len(str(value))
    if isinstance(value, bool):
        return 1
    return _text_size(value)


def _size(self: DynamoType) -> int:
    """``DynamoType.size``: the same branches in the same order."""
    kind, value = self.type, self.value
    if kind == "N":
        return len(str(value))
    if kind in _SETS:
        member = kind[0]
        return sum(_member_size(member, v) for v in value)
    if kind == "L":
        return sum(_size(v) if type(v) is DynamoType else v.size() for v in value)
    if kind == "M":
        return sum(
            _text_size(k) + (_size(v) if type(v) is DynamoType else DynamoType(v).size()) for k, v in value.items()
        )
    if isinstance(value, bool):
        return 1
    return _text_size(value)


def _item_size(self: Item) -> int:
    return sum(_text_size(name) + (_size(v) if type(v) is DynamoType else v.size()) for name, v in self.attrs.items())


def _copied(value: Any, memo: dict[int, Any]) -> Any:
    """``copy.deepcopy(value, memo)`` for an attribute value: a DynamoType is itself (moto's
    ``__deepcopy__`` records a bare stand-in in the memo and returns the value); anything else
    goes through ``copy.deepcopy``."""
    if type(value) is not DynamoType:
        return copy.deepcopy(value, memo)
    known = memo.get(id(value), _MISSING)
    if known is not _MISSING:
        return known
    stand_in = DynamoType.__new__(DynamoType)
    stand_in.type = value.type
    memo[id(value)] = stand_in
    return value


def _item_deepcopy(self: Item, memo: dict[int, Any]) -> Item:
    """``Item.__deepcopy__``, with the values' copies made as ``copy.deepcopy`` makes them."""
    if id(self) in memo:  # pragma: no cover - DynamoDB data is acyclic, as in moto
        return cast(Item, memo[id(self)])
    result = cast(Item, self.__class__.__new__(self.__class__))
    memo[id(self)] = result
    result.hash_key = _copied(self.hash_key, memo)
    result.range_key = _copied(self.range_key, memo)
    attrs = LimitedSizeDict.__new__(LimitedSizeDict)
    dict.__init__(attrs)
    for name, value in self.attrs.items():
        dict.__setitem__(attrs, name, _copied(value, memo))
    result.attrs = attrs
    return result


_PATCHES: dict[tuple[type, str], Callable[..., Any]] = {
    (DynamoType, "size"): _size,
    (Item, "size"): _item_size,
    (Item, "__deepcopy__"): _item_deepcopy,
}


def _set(functions: dict[tuple[type, str], Callable[..., Any]]) -> None:
    for (owner, name), function in functions.items():
        setattr(owner, name, function)


def install() -> None:
    _set(_PATCHES)


def uninstall() -> None:
    """moto as it ships (the differential test compares the two)."""
    _set(_ORIGINAL)
