"""The embedded DynamoDB's Query (local/moto_indexes.py: one partition read, not the whole table),
item answers (local/moto_answers.py: items encoded straight to JSON) and item sizes and copies
(local/moto_items.py) answer exactly what moto
as it ships answers. The same writes (put, update, delete, batch, transaction) and then the same
reads (base-table, global- and local-index Queries with every key condition, both directions,
Limit, ExclusiveStartKey, FilterExpression, ProjectionExpression, every page; GetItem,
BatchGetItem) run on patched and on unpatched moto, and every answer must be equal, counts and
LastEvaluatedKey included (pages under 1 MB: over it, a keys-only index page ends at 1 MB of
entries, as in DynamoDB, not of whole items, as in moto). And no such read looks at the whole
table any more."""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import boto3
import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

import local.dynamodb  # noqa: F401 - installs the patches, as the local server does
from local import moto_answers, moto_indexes, moto_items

TABLE = "differential"
# Few partition values and many writes: partitions of several items, which Limit and paging cut.
PARTITIONS = ("p1", "p2")
GROUPS = ("a", "b")
SORTS = tuple(f"{n}" for n in range(6))

CREATE = {
    "TableName": TABLE,
    "BillingMode": "PAY_PER_REQUEST",
    "AttributeDefinitions": [{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "g", "r", "l")],
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    "LocalSecondaryIndexes": [
        {
            "IndexName": "by_l",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "l", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "ALL"},
        }
    ],
    "GlobalSecondaryIndexes": [
        {
            "IndexName": "by_g_keys",
            "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}, {"AttributeName": "r", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "KEYS_ONLY"},
        },
        {
            "IndexName": "by_g_include",
            "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}, {"AttributeName": "r", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["n", "tags"]},
        },
        {
            "IndexName": "by_r",
            "KeySchema": [{"AttributeName": "r", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "ALL"},
        },
    ],
}

values = st.one_of(
    st.builds(lambda s: {"S": s}, st.sampled_from(["", "x", "é", "01"])),
    st.builds(lambda n: {"N": n}, st.sampled_from(["1", "01", "2.50", "-3"])),
    st.builds(lambda b: {"BOOL": b}, st.booleans()),
    st.just({"NULL": True}),
    st.builds(lambda s: {"SS": s}, st.lists(st.sampled_from("xyz"), min_size=1, max_size=3, unique=True)),
    st.just({"L": [{"S": "x"}, {"N": "2"}, {"M": {"k": {"S": "v"}}}]}),
    st.just({"M": {"k": {"S": "v"}, "n": {"N": "1"}}}),
    st.just({"B": b"\x00\x01"}),
)
keys = st.fixed_dictionaries({"pk": st.sampled_from(PARTITIONS), "sk": st.sampled_from(SORTS)})


def _item(key: dict[str, str], g: str | None, r: str | None, lsi: str | None, n: str, extra: Any) -> dict[str, Any]:
    item: dict[str, Any] = {"pk": {"S": key["pk"]}, "sk": {"S": key["sk"]}, "n": {"N": n}, "v": extra}
    for name, value in (("g", g), ("r", r), ("l", lsi)):
        if value is not None:
            item[name] = {"S": value}
    return item


optional = st.none() | st.sampled_from(SORTS)
puts = st.builds(
    lambda key, g, r, lsi, n, extra: ("put", _item(key, g, r, lsi, n, extra)),
    keys,
    st.none() | st.sampled_from(GROUPS),
    optional,
    optional,
    st.sampled_from(["1", "2", "3"]),
    values,
)
updates = st.builds(lambda key, g, r: ("update", key, g, r), keys, st.none() | st.sampled_from(GROUPS), optional)
deletes = st.builds(lambda key: ("delete", key), keys)
batches = st.builds(lambda ops: ("batch", ops), st.lists(puts | deletes, min_size=1, max_size=4))
transactions = st.builds(lambda ops: ("transact", ops), st.lists(puts | updates | deletes, min_size=1, max_size=4))
writes = st.lists(puts | puts | updates | deletes | batches | transactions, min_size=4, max_size=40)

COMPARISONS = ("=", "<", "<=", ">", ">=", "BETWEEN", "begins_with")


@st.composite
def queries(draw: st.DrawFn) -> dict[str, Any]:
    index = draw(st.sampled_from([None, "by_l", "by_g_keys", "by_g_include", "by_r"]))
    hash_name, range_name, hash_values = {
        None: ("pk", "sk", PARTITIONS),
        "by_l": ("pk", "l", PARTITIONS),
        "by_g_keys": ("g", "r", GROUPS),
        "by_g_include": ("g", "r", GROUPS),
        "by_r": ("r", "sk", SORTS),
    }[index]
    request: dict[str, Any] = {"TableName": TABLE, "ExpressionAttributeNames": {"#h": hash_name}}
    names, bound = request["ExpressionAttributeNames"], {":h": {"S": draw(st.sampled_from(hash_values))}}
    condition = "#h = :h"
    comparison = draw(st.none() | st.sampled_from(COMPARISONS))
    if comparison is not None:
        names["#r"] = range_name
        low, high = sorted(draw(st.lists(st.sampled_from(SORTS), min_size=2, max_size=2)))
        bound[":a"] = {"S": low}
        if comparison == "BETWEEN":
            bound[":b"] = {"S": high}
            condition += " AND #r BETWEEN :a AND :b"
        elif comparison == "begins_with":
            condition += " AND begins_with(#r, :a)"
        else:
            condition += f" AND #r {comparison} :a"
    if index is not None:
        request["IndexName"] = index
    if draw(st.booleans()):
        bound[":n"] = {"N": draw(st.sampled_from(["1", "2"]))}
        request["FilterExpression"] = draw(st.sampled_from(["n >= :n", "attribute_exists(v) AND n <> :n"]))
    if draw(st.booleans()):
        request["ProjectionExpression"] = draw(st.sampled_from(["pk, sk", "#h, n", "v", "pk, v.k, sk"]))
    if draw(st.booleans()):
        request["Limit"] = draw(st.integers(1, 4))
    request["ScanIndexForward"] = draw(st.booleans())
    if index in (None, "by_l") and draw(st.booleans()):
        request["ConsistentRead"] = True
    request["KeyConditionExpression"] = condition
    request["ExpressionAttributeValues"] = bound
    used = " ".join([condition, request.get("FilterExpression", ""), request.get("ProjectionExpression", "")])
    request["ExpressionAttributeNames"] = {k: v for k, v in names.items() if k in used}
    request["ExpressionAttributeValues"] = {k: v for k, v in bound.items() if k in used}
    if not request["ExpressionAttributeNames"]:
        del request["ExpressionAttributeNames"]
    return request


def _write(client: Any, write: tuple[Any, ...]) -> None:
    kind = write[0]
    if kind == "put":
        client.put_item(TableName=TABLE, Item=write[1])
    elif kind == "update":
        client.update_item(TableName=TABLE, **_update(write[1], write[2], write[3]))
    elif kind == "delete":
        client.delete_item(TableName=TABLE, Key=_key(write[1]))
    elif kind == "batch":
        unique = {_name(op): op for op in write[1]}  # a batch may not name one key twice
        requests = [
            {"PutRequest": {"Item": op[1]}} if op[0] == "put" else {"DeleteRequest": {"Key": _key(op[1])}}
            for op in unique.values()
        ]
        client.batch_write_item(RequestItems={TABLE: requests})
    else:
        unique = {_name(op): op for op in write[1]}
        items = [_transaction_item(op) for op in unique.values()]
        client.transact_write_items(TransactItems=items)


def _name(op: tuple[Any, ...]) -> tuple[str, str]:
    key = op[1] if op[0] != "put" else {"pk": op[1]["pk"]["S"], "sk": op[1]["sk"]["S"]}
    return key["pk"], key["sk"]


def _key(key: dict[str, str]) -> dict[str, Any]:
    return {"pk": {"S": key["pk"]}, "sk": {"S": key["sk"]}}


def _update(key: dict[str, str], g: str | None, r: str | None) -> dict[str, Any]:
    """Moves the item between index partitions (REMOVE takes it out of them), or creates it."""
    sets, removes, bound = [], [], {}
    for name, value in (("g", g), ("r", r)):
        if value is None:
            removes.append(name)
        else:
            sets.append(f"{name} = :{name}")
            bound[f":{name}"] = {"S": value}
    expression = " ".join(
        filter(None, ["SET " + ", ".join(sets) if sets else "", "REMOVE " + ", ".join(removes) if removes else ""])
    )
    request: dict[str, Any] = {"Key": _key(key), "UpdateExpression": expression}
    if bound:
        request["ExpressionAttributeValues"] = bound
    return request


def _transaction_item(op: tuple[Any, ...]) -> dict[str, Any]:
    if op[0] == "put":
        return {"Put": {"TableName": TABLE, "Item": op[1]}}
    if op[0] == "delete":
        return {"Delete": {"TableName": TABLE, "Key": _key(op[1])}}
    return {"Update": {"TableName": TABLE, **_update(op[1], op[2], op[3])}}


def _answer(call: Callable[[], dict[str, Any]]) -> Any:
    try:
        response = call()
    except ClientError as error:
        return ("error", error.response["Error"]["Code"], error.response["Error"]["Message"])
    except Exception as error:  # moto's own failures (a nested projection through NULL) must be the same too
        return ("crash", type(error).__name__)
    response.pop("ResponseMetadata", None)
    return response


def _every_page(client: Any, request: dict[str, Any]) -> list[Any]:
    pages: list[Any] = []
    start: dict[str, Any] | None = None
    while len(pages) < 50:
        paged = {**request, **({"ExclusiveStartKey": start} if start else {})}
        page = _answer(lambda paged=paged: client.query(**paged))
        pages.append(page)
        if not isinstance(page, dict) or "LastEvaluatedKey" not in page:
            return pages
        start = page["LastEvaluatedKey"]
    return pages


def _reads(client: Any, requests: list[dict[str, Any]], gets: list[dict[str, str]]) -> list[Any]:
    answers: list[Any] = [_every_page(client, request) for request in requests]
    for key in gets:
        answers.append(_answer(lambda key=key: client.get_item(TableName=TABLE, Key=_key(key))))
    if gets:
        unique = [_key(dict(zip(("pk", "sk"), k, strict=True))) for k in {(g["pk"], g["sk"]) for g in gets}]
        for projection in ({}, {"ProjectionExpression": "v, pk, g"}, {"ProjectionExpression": "v.k, sk"}):
            request = {TABLE: {"Keys": unique, **projection}}
            batch = _answer(lambda request=request: client.batch_get_item(RequestItems=request))
            if isinstance(batch, dict):  # BatchGetItem's order is unspecified (moto's too): compared as sets
                batch["Responses"] = {t: sorted(items, key=repr) for t, items in batch["Responses"].items()}
            answers.append(batch)
    return answers


@pytest.fixture(scope="module")
def moto_client() -> Iterator[Any]:
    """One moto and one client for the module: starting them is most of what a run of
    ``_moto`` would cost (~0.3 s, twice per example), so each run only creates its table."""
    with mock.patch.dict(os.environ, {"AWS_DEFAULT_REGION": "us-east-1"}), mock_aws():
        yield boto3.client("dynamodb", region_name="us-east-1")


@contextmanager
def _moto(client: Any, patched: bool) -> Iterator[Any]:
    """A new table (a new moto ``Table``, whose partition map starts empty) on patched or on
    moto as it ships, gone afterwards."""
    if not patched:
        moto_indexes.uninstall()
        moto_answers.uninstall()
        moto_items.uninstall()
    try:
        client.create_table(**CREATE)
        try:
            yield client
        finally:
            client.delete_table(TableName=TABLE)
    finally:
        moto_indexes.install()
        moto_answers.install()
        moto_items.install()


def _run(
    client: Any, patched: bool, history: list[Any], requests: list[dict[str, Any]], gets: list[dict[str, str]]
) -> list[Any]:
    with _moto(client, patched):
        outcomes = [_answer(lambda w=write: _write(client, w) or {}) for write in history]
        return [outcomes, *_reads(client, requests, gets)]


@settings(
    max_examples=int(os.environ.get("MOTO_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(history=writes, requests=st.lists(queries(), min_size=1, max_size=6), gets=st.lists(keys, max_size=4))
def test_patched_moto_answers_every_read_as_moto_does(moto_client, history, requests, gets):
    assert _run(moto_client, True, history, requests, gets) == _run(moto_client, False, history, requests, gets)


def test_queries_and_item_reads_never_look_at_the_whole_table(moto_client):
    """After the map is built, a Query reads only its partition: the table-wide listing moto
    reads every item from is never called again, whatever the table holds."""
    with _moto(moto_client, True) as client:
        for n in range(30):
            key = {"pk": ("p1", "p2", "p3")[n % 3], "sk": SORTS[n % 6] + str(n)}
            client.put_item(TableName=TABLE, Item=_item(key, "abc"[n % 3], SORTS[n % 6], SORTS[n % 5], "1", {"S": "x"}))
        client.query(
            TableName=TABLE,
            IndexName="by_g_keys",
            KeyConditionExpression="g = :g",
            ExpressionAttributeValues={":g": {"S": "a"}},
        )

        def whole_table(_: Any) -> Any:
            raise AssertionError("a read listed every item of the table")

        with mock.patch.dict(moto_indexes._ORIGINAL, {"all_items": whole_table}):
            client.update_item(TableName=TABLE, **_update({"pk": "p1", "sk": "0"}, "b", "1"))
            client.delete_item(TableName=TABLE, Key=_key({"pk": "p2", "sk": "11"}))
            for index, name, value in (
                (None, "pk", "p1"),
                ("by_l", "pk", "p2"),
                ("by_g_keys", "g", "b"),
                ("by_r", "r", "1"),
            ):
                request = {"IndexName": index} if index else {}
                page = client.query(
                    TableName=TABLE,
                    KeyConditionExpression="#h = :v",
                    ExpressionAttributeNames={"#h": name},
                    ExpressionAttributeValues={":v": {"S": value}},
                    **request,
                )
                assert page["Count"] > 0, (index, page)
            assert "Item" in client.get_item(TableName=TABLE, Key=_key({"pk": "p1", "sk": "00"}))
            keys = [_key({"pk": "p1", "sk": "00"}), _key({"pk": "p2", "sk": "11"})]
            assert len(client.batch_get_item(RequestItems={TABLE: {"Keys": keys}})["Responses"][TABLE]) == 1


@pytest.mark.parametrize("patched", [True, False])
def test_a_query_sees_an_item_moved_to_its_partition_at_once(moto_client, patched):
    """The map follows writes: an item updated into an index partition is in the next Query."""
    with _moto(moto_client, patched) as client:
        client.put_item(TableName=TABLE, Item=_item({"pk": "p1", "sk": "0"}, "a", "1", None, "1", {"S": "x"}))
        query = {"TableName": TABLE, "IndexName": "by_g_keys", "KeyConditionExpression": "g = :g"}
        assert client.query(**query, ExpressionAttributeValues={":g": {"S": "b"}})["Count"] == 0
        client.update_item(TableName=TABLE, **_update({"pk": "p1", "sk": "0"}, "b", "1"))
        assert client.query(**query, ExpressionAttributeValues={":g": {"S": "a"}})["Count"] == 0
        assert client.query(**query, ExpressionAttributeValues={":g": {"S": "b"}})["Items"] == [
            {"pk": {"S": "p1"}, "sk": {"S": "0"}, "g": {"S": "b"}, "r": {"S": "1"}}
        ]


@pytest.mark.parametrize("patched", [True, False])
def test_an_include_index_answers_an_included_attribute_changed_in_place_at_once(moto_client, patched):
    """The entries kept as the index projects them follow a write that changes only an included
    attribute (moto updates the item in place, its index keys unchanged)."""
    with _moto(moto_client, patched) as client:
        client.put_item(TableName=TABLE, Item=_item({"pk": "p1", "sk": "0"}, "a", "1", None, "1", {"S": "x"}))
        query = {"TableName": TABLE, "IndexName": "by_g_include", "KeyConditionExpression": "g = :g"}
        query["ExpressionAttributeValues"] = {":g": {"S": "a"}}
        assert [item["n"] for item in client.query(**query)["Items"]] == [{"N": "1"}]
        client.update_item(
            TableName=TABLE,
            Key=_key({"pk": "p1", "sk": "0"}),
            UpdateExpression="SET n = :n, v = :v",
            ExpressionAttributeValues={":n": {"N": "2"}, ":v": {"S": "y"}},
        )
        [entry] = client.query(**query)["Items"]
        assert (entry["n"], "v" in entry) == ({"N": "2"}, False)


def test_a_keys_only_page_ends_at_1_mb_of_entries_as_in_dynamodb(moto_client):
    """Where moto as it ships ends a keys-only index page at 1 MB of whole items, the embedded
    DynamoDB ends it at 1 MB of index entries, as DynamoDB does: 30 items of 100 KB each (3 MB)
    are one page of 30 small entries here, ten pages of whole items in moto."""
    pages = {}
    for patched in (True, False):
        with _moto(moto_client, patched) as client:
            for n in range(30):
                key = {"pk": "p1", "sk": f"{n:02d}"}
                client.put_item(TableName=TABLE, Item=_item(key, "a", "1", None, "1", {"S": "x" * 100_000}))
            request = {"TableName": TABLE, "IndexName": "by_g_keys", "KeyConditionExpression": "g = :g"}
            request["ExpressionAttributeValues"] = {":g": {"S": "a"}}
            counts = []
            while True:
                page = client.query(**request)
                counts.append(page["Count"])
                if "LastEvaluatedKey" not in page:
                    break
                request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
            pages[patched] = counts
    assert pages[True] == [30]
    assert sum(pages[False]) == 30 and len(pages[False]) >= 3


nested = st.recursive(
    values,
    lambda inner: (
        st.builds(lambda vs: {"L": vs}, st.lists(inner, max_size=3))
        | st.builds(lambda vs: {"M": vs}, st.dictionaries(st.sampled_from(["k", "é", "n"]), inner, max_size=3))
    ),
    max_leaves=8,
)


@given(
    attrs=st.dictionaries(
        st.sampled_from(["a", "é", "long name"]),
        nested | st.just({"NS": ["1", "02.5"]}) | st.just({"BS": [b"\\x00", b"ab"]}),
        max_size=5,
    )
)
def test_item_sizes_and_copies_are_moto_s(attrs):
    """Every kind of value, nested: the same size, and a copy equal to moto's that shares its
    values with the original as moto's does."""
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    item = Item(DynamoType({"S": "p"}), DynamoType({"S": "s"}), attrs)
    ours_size, ours_copy = item.size(), copy.deepcopy([item])[0]
    moto_items.uninstall()
    try:
        moto_size, moto_copy = item.size(), copy.deepcopy([item])[0]
    finally:
        moto_items.install()
    assert ours_size == moto_size
    assert ours_copy == moto_copy and ours_copy is not item and ours_copy.attrs is not item.attrs
    assert all(ours_copy.attrs[name] is value for name, value in item.attrs.items())
