"""moto's Query without its scan of the whole table. moto 5 keeps a table's items in
``Table.items`` (partition key → sort key → ``Item``) and answers every Query, on the table or an
index, from ``Table.all_items()``: every item of the table, sorted, then matched one by one
against the partition key. At 10,000 devices (~80,000 items) that is ~0.4 s for one device's
history and seconds for a filtered list page.

Here ``all_items()`` is narrowed, for the duration of one Query, to the items that can match its
partition key: the base table's partition (``Table.items[value]``), or, on an index, the items
whose index partition attribute has that value, from a map kept per table (attribute → value →
keys of the items holding it), updated by every write moto makes (put, delete, update — the
batch and transaction paths all go through those). moto's own Query code does everything else
(sort-key conditions, order, Limit, ExclusiveStartKey, filters, projections, LastEvaluatedKey,
counts) on that subset, in the same order: an item the narrowing leaves out is one moto itself
would have dropped for its partition key, so every answer is the one moto gives
(tests/reliability/test_moto_indexes.py checks it against unpatched moto). On a keys-only or
INCLUDE index the subset is the partition as the index projects it, so moto measures and copies
lookup entries, not whole devices; the one answer that differs is where a page ends once it
holds 1 MB: at 1 MB of entries, as in DynamoDB, where moto counts whole items.

GetItem and BatchGetItem already are dictionary lookups in moto; Scan stays O(table), as it is
in DynamoDB."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterable
from typing import Any, cast

from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
from moto.dynamodb.models.table import SecondaryIndex, Table

type _Key = tuple[DynamoType, DynamoType | None]

_ORIGINAL: dict[str, Any] = {
    "all_items": Table.all_items,
    "query": Table.query,
    "put_item": Table.put_item,
    "delete_item": Table.delete_item,
    "update_item": DynamoDBBackend.update_item,
    "project": Item.project,
    "sorted_items": Table.sorted_items,
    "index_project": SecondaryIndex.project,
}


class _Partitions:
    """For one table: for each attribute that is an index's partition key, its value → the keys
    of the items holding that value. Built from the table's items the first time an index is
    queried (or the table gained an index on another attribute), then kept up to date by writes."""

    def __init__(self, table: Table, attributes: frozenset[str]) -> None:
        self.attributes = attributes
        self.keys: dict[str, dict[DynamoType, set[_Key]]] = {name: {} for name in attributes}
        self.placed: dict[_Key, dict[str, DynamoType]] = {}  # an item's key → where it is placed
        # (attribute, value) → its items in all_items() order, until a write places an item there
        # or takes one away (the list_all partition is every device: sorting it per page was O(table)).
        self.ordered: dict[tuple[str, DynamoType], list[Item]] = {}
        # The same partition as a keys-only or INCLUDE index holds it (index name → entries), kept
        # and dropped with ``ordered``.
        self.projected: dict[tuple[str, DynamoType], dict[str, list[Item]]] = {}
        for item in _ORIGINAL["all_items"](table):
            self.place((item.hash_key, item.range_key), item)

    def place(self, key: _Key, item: Item | None) -> None:
        """Where the item with ``key`` now is (``None``: deleted)."""
        for name, value in self.placed.pop(key, {}).items():
            self.ordered.pop((name, value), None)
            self.projected.pop((name, value), None)
            holders = self.keys[name][value]
            holders.discard(key)
            if not holders:
                del self.keys[name][value]
        if item is None:
            return
        placed: dict[str, DynamoType] = {}
        for name in self.attributes:
            if name not in item.attrs:
                continue
            value = item.attrs[name]
            try:
                self.keys[name].setdefault(value, set()).add(key)
            except TypeError:  # a list or map value: never equal to a (string, number, binary) key
                continue
            self.ordered.pop((name, value), None)
            self.projected.pop((name, value), None)
            placed[name] = value
        if placed:
            self.placed[key] = placed

    def holding(self, name: str, value: DynamoType) -> set[_Key]:
        try:
            return self.keys[name].get(value, set())
        except TypeError:
            return set()


_partitions: weakref.WeakKeyDictionary[Table, _Partitions] = weakref.WeakKeyDictionary()
_narrowed = threading.local()  # the (table, items) a Query in this thread reads instead of all_items()


def _index_attributes(table: Table) -> frozenset[str]:
    return frozenset(
        key["AttributeName"] for index in table.all_indexes() for key in index.schema if key["KeyType"] == "HASH"
    )


def _partitions_of(table: Table) -> _Partitions:
    attributes = _index_attributes(table)
    partitions = _partitions.get(table)
    if partitions is None or partitions.attributes != attributes:
        partitions = _partitions[table] = _Partitions(table, attributes)
    return partitions


def _item(table: Table, key: _Key) -> Item | None:
    hash_key, range_key = key
    if table.range_key_attr is None:
        found = table.items.get(hash_key)
        return found if isinstance(found, Item) else None
    partition = table.items.get(hash_key)
    return partition.get(range_key) if partition is not None else None


def _sorted(items: Iterable[Item]) -> list[Item]:
    """In ``Table.all_items()``'s order; string keys compared as the strings they are (what
    DynamoType compares for ``S`` values), not through DynamoType's ``cast_value`` at every
    comparison (~0.2 s for the 1,400 devices of one firmware version)."""
    listed = list(items)
    ranged = {item.range_key is not None for item in listed}
    if len(ranged) <= 1 and all(_plain_key(item) for item in listed):
        return sorted(listed, key=lambda x: (x.hash_key.value, x.range_key.value) if x.range_key else x.hash_key.value)
    return sorted(listed, key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)


def _plain_key(item: Item) -> bool:
    """The item's key is strings: a string partition key and, if it has one, a string sort key."""
    return item.hash_key.type == "S" and (item.range_key is None or item.range_key.type == "S")


def _candidates(
    table: Table,
    hash_key: DynamoType | None,
    index_name: str | None,
    hash_key_conditions: list[tuple[str, DynamoType]] | None,
    filter_kwargs: dict[str, Any],
) -> list[Item] | None:
    """The items a Query can match, in ``all_items()``'s order; None: not narrowed (moto reads
    every item, and answers or refuses the request as it always does). On a keys-only or INCLUDE
    index, the items as the index projects them (see :func:`_entries`)."""
    if index_name is None:
        if hash_key is None:
            return None
        partition: Any = table.items.get(hash_key)  # sort key → item; the item itself without a sort key
        if partition is None:
            return []
        return _sorted(partition.values() if table.range_key_attr is not None else [partition])
    index = next((i for i in table.all_indexes() if i.name == index_name), None)
    if index is None or not hash_key_conditions:
        return None  # moto's own answer: an invalid index, or no partition key condition
    hash_names = [key["AttributeName"] for key in index.schema if key["KeyType"] == "HASH"]
    conditions = dict(hash_key_conditions)
    name = hash_names[0] if hash_names else None
    if name is None or name not in conditions:
        return None
    partitions = _partitions_of(table)
    value = conditions[name]
    try:
        ordered = partitions.ordered.get((name, value))
    except TypeError:  # an unhashable value: no item holds it
        return []
    if ordered is None:
        items = (_item(table, key) for key in partitions.holding(name, value))
        ordered = partitions.ordered[(name, value)] = _sorted(item for item in items if item is not None)
    return _entries(partitions, index, (name, value), ordered, filter_kwargs)


def _entries(
    partitions: _Partitions,
    index: Any,
    partition: tuple[str, DynamoType],
    ordered: list[Item],
    filter_kwargs: dict[str, Any],
) -> list[Item]:
    """A keys-only or INCLUDE index's partition as that index holds it: each item projected once
    (``SecondaryIndex.project``, what moto applies to every item it returns anyway), until a write
    changes the partition. moto measures (for its 1 MB page) and deep-copies each item it reads
    before projecting it: ~40 attributes of a device where a lookup entry has 5. Every key
    attribute stays (projections keep the table's and the index's keys), so matching, order,
    ExclusiveStartKey, LastEvaluatedKey and a FilterExpression (which moto evaluates after the
    projection) are unchanged; a page ends at 1 MB of entries, not of whole items — as in
    DynamoDB, which reads the index's entries, not the items. A legacy QueryFilter (evaluated
    on the whole item by moto) is left to moto."""
    projection = (getattr(index, "projection", None) or {}).get("ProjectionType")
    if projection not in ("KEYS_ONLY", "INCLUDE") or filter_kwargs:
        return ordered
    by_index = partitions.projected.setdefault(partition, {})
    entries = by_index.get(index.name)
    if entries is None:
        entries = by_index[index.name] = [index.project(item) for item in ordered]
    return entries


def _sort_attributes(table: Table, index_name: str | None) -> list[str]:
    """The attributes moto orders a Query's items by, built as ``Table.query`` builds them."""
    if index_name is None:
        return table._generate_attr_to_sort_by([table.hash_key_attr], [table.range_key_attr])
    schema = table.get_index(index_name).schema
    hashes = [k["AttributeName"] for k in schema if k["KeyType"] == "HASH"]
    ranges: list[str | None] = [k["AttributeName"] for k in schema if k["KeyType"] == "RANGE"]
    if not ranges:  # the table's sort key (or its partition key) stands in, as in moto
        ranges = [table.range_key_attr or table.hash_key_attr]
    return table._generate_attr_to_sort_by([*hashes, table.hash_key_attr], [*ranges, table.range_key_attr])


def _string_key(item: Item, names: list[str]) -> tuple[str, ...] | None:
    """The item's sort position as strings (what DynamoType compares for ``S`` values); None if
    it lacks one of the attributes (moto leaves it out of an index Query) or one is not a string."""
    values = []
    for name in names:
        value = item.attrs.get(name)
        if value is None or value.type != "S":
            return None
        values.append(value.value)
    return tuple(values)


def _after_start(
    table: Table, index_name: str | None, candidates: list[Item], start: dict[str, Any] | None, forward: bool
) -> list[Item]:
    """The candidates moto would not skip as being at or before ``ExclusiveStartKey``
    (``Table._item_comes_before_dct``: compared attribute by attribute, in sort order), found by
    comparing strings once instead of walking the whole partition again for every page. Keys
    of other types are left to moto."""
    names = _sort_attributes(table, index_name)
    if not start or not all(isinstance(start.get(name), dict) and set(start[name]) == {"S"} for name in names):
        return candidates
    bound = tuple(str(start[name]["S"]) for name in names)
    kept: list[Item] = []
    for item in candidates:
        position = _string_key(item, names)
        if position is None:
            if all(name in item.attrs for name in names):
                return candidates  # a key of another type: moto compares it
            kept.append(item)  # moto leaves it out of the Query anyway
        elif (position > bound) if forward else (position < bound):
            kept.append(item)
    return kept


def _sorted_items(
    self: Table, hash_key_attrs: list[str], range_key_attrs: list[str | None], items: list[Item]
) -> list[Item]:
    """``Table.sorted_items`` comparing plain strings when every sort attribute is one (the same
    order: DynamoType compares ``S`` values as strings), not DynamoType objects."""
    names = self._generate_attr_to_sort_by(hash_key_attrs, range_key_attrs)
    positions = [_string_key(item, names) for item in items]
    if any(position is None for position in positions):
        original: Callable[..., list[Item]] = _ORIGINAL["sorted_items"]
        return original(self, hash_key_attrs, range_key_attrs, items)
    order = sorted(range(len(items)), key=lambda n: positions[n])  # type: ignore[arg-type, return-value]
    items[:] = [items[n] for n in order]
    return items


def _all_items(self: Table) -> list[Item]:
    narrowed = getattr(_narrowed, "value", None)
    if narrowed is not None and narrowed[0] is self:
        return list(narrowed[1])
    return _ORIGINAL["all_items"](self)


def _query(
    self: Table,
    hash_key: DynamoType | None,
    range_comparison: str | None,
    range_objs: list[DynamoType],
    limit: int,
    exclusive_start_key: dict[str, Any],
    scan_index_forward: bool,
    projection_expressions: list[list[str]] | None,
    index_name: str | None = None,
    consistent_read: bool = False,
    filter_expression: Any = None,
    hash_key_conditions: list[tuple[str, DynamoType]] | None = None,
    range_key_conditions: list[tuple[str, str, list[DynamoType]]] | None = None,
    **filter_kwargs: Any,
) -> tuple[list[Item], int, dict[str, Any] | None]:
    def query() -> tuple[list[Item], int, dict[str, Any] | None]:
        original: Callable[..., tuple[list[Item], int, dict[str, Any] | None]] = _ORIGINAL["query"]
        return original(
            self,
            hash_key,
            range_comparison,
            range_objs,
            limit,
            exclusive_start_key,
            scan_index_forward,
            projection_expressions,
            index_name,
            consistent_read,
            filter_expression,
            hash_key_conditions=hash_key_conditions,
            range_key_conditions=range_key_conditions,
            **filter_kwargs,
        )

    candidates = _candidates(self, hash_key, index_name, hash_key_conditions, filter_kwargs)
    if candidates is None:
        return query()
    candidates = _after_start(self, index_name, candidates, exclusive_start_key, scan_index_forward is not False)
    outer = getattr(_narrowed, "value", None)
    _narrowed.value = (self, candidates)
    try:
        return query()
    finally:
        _narrowed.value = outer


def placed(table: Table, hash_key: DynamoType, range_key: DynamoType | None) -> None:
    """Tell the map that the item with this key was written, replaced or removed by a path that
    is not moto's put, delete or update (local/dynamodb.py's transaction roll-back)."""
    partitions = _partitions.get(table)
    if partitions is not None:
        key = (hash_key, range_key if table.range_key_attr is not None else None)
        partitions.place(key, _item(table, key))


def _put_item(self: Table, *args: Any, **kwargs: Any) -> Item:
    item: Item = _ORIGINAL["put_item"](self, *args, **kwargs)
    placed(self, item.hash_key, item.range_key)
    return item


def _delete_item(self: Table, hash_key: DynamoType, range_key: DynamoType | None) -> Item | None:
    item: Item | None = _ORIGINAL["delete_item"](self, hash_key, range_key)
    placed(self, hash_key, range_key)
    return item


def _update_item(self: DynamoDBBackend, table_name: str, key: dict[str, Any], *args: Any, **kwargs: Any) -> Item:
    """moto updates an item in place (its index attributes may change), or creates it first."""
    try:
        return _ORIGINAL["update_item"](self, table_name, key, *args, **kwargs)  # type: ignore[no-any-return]
    finally:
        _after_update(self, table_name, key)


def _after_update(backend: DynamoDBBackend, table_name: str, key: dict[str, Any]) -> None:
    try:
        table = backend.get_table(table_name)
        hash_key = DynamoType(key[table.hash_key_attr])
        range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr in key else None
    except Exception:  # a request moto refused before it touched any item
        return
    placed(table, hash_key, range_key)


# The types whose round trip through boto3 leaves them as they are (a string, a boolean; any null
# comes back as NULL true), by the type of the value they hold.
_PLAIN: dict[str, tuple[type, ...]] = {"S": (str,), "BOOL": (bool,), "NULL": (object,)}


def _plain(value: DynamoType) -> bool:
    return value.type in _PLAIN and isinstance(value.value, _PLAIN[value.type])


def _project(self: Item, projection_expressions: list[list[str]]) -> Item:
    """``Item.project`` for top-level names of string, boolean and null attributes (an index's
    projection, a ProjectionExpression of summary fields) without its round trip of the whole
    item through boto3's deserializer once per name. Nested paths, or numbers, sets and the other
    types (which that round trip may rewrite: ``"01"`` becomes ``"1"``), are left to moto. The
    projection, a part of an item that passed moto's size check, is not measured again."""
    names = [path[0] for path in projection_expressions if len(path) == 1]
    if len(names) != len(projection_expressions) or any(
        name in self.attrs and not _plain(self.attrs[name]) for name in names
    ):
        original: Callable[[Item, list[list[str]]], Item] = _ORIGINAL["project"]
        return original(self, projection_expressions)
    projected = cast(Item, Item.__new__(Item))
    projected.hash_key, projected.range_key = self.hash_key, self.range_key
    attrs = LimitedSizeDict.__new__(LimitedSizeDict)
    for name in dict.fromkeys(names):
        if name in self.attrs:
            value = self.attrs[name]
            dict.__setitem__(attrs, name, DynamoType({value.type: True if value.type == "NULL" else value.value}))
    projected.attrs = attrs
    return projected


def _index_project(self: SecondaryIndex, item: Item) -> Item:
    """``SecondaryIndex.project`` for an entry already as the index holds it (what moto's Query
    does again to each entry :func:`_entries` gave it, after its copy): the entry as it is."""
    projection = self.projection or {}
    kind = projection.get("ProjectionType")
    if kind in ("KEYS_ONLY", "INCLUDE"):
        allowed = {*self.table_key_attrs, *(key["AttributeName"] for key in self.schema)}
        if kind == "INCLUDE":
            allowed.update(projection.get("NonKeyAttributes", []))
        if item.attrs.keys() <= allowed:
            return item
    original: Callable[[SecondaryIndex, Item], Item] = _ORIGINAL["index_project"]
    return original(self, item)


_PATCHES: dict[tuple[type, str], Callable[..., Any]] = {
    (Table, "all_items"): _all_items,
    (Table, "query"): _query,
    (Table, "put_item"): _put_item,
    (Table, "delete_item"): _delete_item,
    (DynamoDBBackend, "update_item"): _update_item,
    (Item, "project"): _project,
    (Table, "sorted_items"): _sorted_items,
    (SecondaryIndex, "project"): _index_project,
}


# moto's own methods, by the (class, name) each patch replaces (two classes have a ``project``).
_SHIPPED: dict[tuple[type, str], Callable[..., Any]] = {(owner, name): getattr(owner, name) for owner, name in _PATCHES}


def install() -> None:
    """Patch moto (idempotent): every Query after this reads only its partition."""
    for (owner, name), patched in _PATCHES.items():
        setattr(owner, name, patched)


def uninstall() -> None:
    """moto as it ships (the differential test compares the two)."""
    for (owner, name), shipped in _SHIPPED.items():
        setattr(owner, name, shipped)
    _partitions.clear()
