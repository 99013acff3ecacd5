"""DynamoDB requests per route, and items read per page, held at the minimum.

Counted with botocore event hooks on the handlers' own client. Each read route is one GetItem
or one Query; each write is one GetItem (the current version, to plan the change and its diff)
and one TransactWriteItems; nothing ever Scans. A page of ``limit`` items reads ``limit + 1``
items (the extra one says whether another page exists) whatever the fleet or history size.

Run with ``-s`` (or look at the terminal summary) for the figures."""

from __future__ import annotations

import importlib
import json
import math
import threading
from collections import Counter
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from benchmarks import bill, cost
from registry import wiring
from registry.devices.service import DeviceService
from registry.domain.liveness import LivenessRules
from registry.domain.values import format_timestamp, now_timestamp
from registry.http.routes import ROUTES
from registry.schemas import DeviceAttributes, StatusUpdate
from registry.storage import keys as table
from registry.storage.devices import DeviceStore
from tests.support import TABLE_NAME

READ = {"GetItem": 1}
QUERY = {"Query": 1}
WRITE = {"GetItem": 1, "TransactWriteItems": 1}
# A report reads the state and the sign of life in one Query (liveness); within the resolution it
# writes nothing more.
REPORT_READ = {"Query": 1}
REPORT = {"Query": 1, "TransactWriteItems": 1}
BATCH = {"BatchGetItem": 1}
REVERT = {"BatchGetItem": 1, "TransactWriteItems": 1}
REVERT_STATUS = {"BatchGetItem": 1, "Query": 1, "TransactWriteItems": 1}


def measure(invoke, calls, handler, *, status, **request):
    return measure_answer(invoke, calls, handler, status=status, **request)[0]


def measure_answer(invoke, calls, handler, *, status, **request):
    """The DynamoDB requests one call of ``handler`` made (never a Scan), and its answer."""
    calls.clear()
    response = invoke(handler, **request)
    assert response["statusCode"] == status, response
    assert "Scan" not in calls
    return dict(calls), response


_JOB = {"filter": {"location": "Roof"}, "patch": {"location": "Yard"}}


def test_each_route_makes_the_fewest_dynamodb_requests(invoke, make_device, dynamodb_calls, cost_figures):
    device = make_device(mac_address="00:00:00:00:00:01")
    path = f"/devices/{device['id']}"
    invoke("put_status", f"{path}/status", body={"status": "online"})
    now = now_timestamp()
    other = make_device()
    invoke("put_status", f"/devices/{other['id']}/status", body={"status": "unknown"})  # its first report: reporting
    keyed = dict(status=201, body=_new("00:00:00:00:00:03"), headers={"Idempotency-Key": "cost-1"})
    taken = dict(status=409, body=_new("00:00:00:00:00:01"), headers={"Idempotency-Key": "cost-2"})
    two_new = {"devices": [_new("00:00:00:00:00:04"), _new("00:00:00:00:00:05")]}
    statuses = [{"device_id": device["id"], "status": "maintenance"}, {"device_id": other["id"], "status": "unknown"}]
    reports = dict(status=200, body={"reports": statuses})
    _online = {"status": "online", "reason": "from the device"}
    credentials = f"{path}/credentials"
    credential = invoke("create_credential", credentials, body={})["json"]["credential_id"]
    as_device = {"device_id": device["id"], "credential_id": credential, "principalId": f"device:{credential}"}
    # (route, what, expected requests, the call)
    cases = [
        ("create_device", "201", {"TransactWriteItems": 1}, dict(status=201, body={**_new(), "name": "n"})),
        # The page's signs of life (liveness, last_seen_at): one BatchGetItem more.
        ("list_devices", "200", {"Query": 1, "BatchGetItem": 1}, dict(status=200, query="limit=10&device_type=sensor")),
        ("get_device", "200", READ, dict(path=path, status=200)),
        # Time travel: as of a time, one Query reading one entry of a history index.
        ("get_device", "200 as_of", QUERY, dict(path=path, status=200, query=f"as_of={now}")),
        # ... and for a status, one more for the liveness transition then in force.
        ("get_status", "200 as_of", {"Query": 2}, dict(path=f"{path}/status", status=200, query=f"as_of={now}")),
        ("get_device", "422 as_of in the future", {}, dict(path=path, status=422, query=f"as_of={_FUTURE}")),
        # A diff reads both revisions (the device for the latest), and a Query for each status
        # revision's attributes then in force: four at most.
        ("diff_device", "200 to the latest", {"GetItem": 2}, dict(path=f"{path}/diff", status=200, query="from=1")),
        (
            "diff_device",
            "200 two status revisions",
            _DIFF_MOST,
            dict(path=f"{path}/diff", status=200, query="from=2&to=2"),
        ),
        ("diff_device", "404 no such revision", {"GetItem": 2}, dict(path=f"{path}/diff", status=404, query="from=99")),
        ("update_device", "200", WRITE, dict(path=path, status=200, body={"location": "Roof"})),
        ("get_status", "200", REPORT_READ, dict(path=f"{path}/status", status=200)),
        ("put_status", "200", REPORT, dict(path=f"{path}/status", status=200, body={"status": "offline"})),
        ("list_history", "200", QUERY, dict(path=f"{path}/history", status=200, query="kind=status&limit=5")),
        ("get_history_entry", "200", READ, dict(path=f"{path}/history/2", status=200)),
        # A revert reads the device and the revision in one batch; a status revision costs one
        # Query more, for the config entry then in force.
        (
            "revert_device",
            "200 to a status revision",
            REVERT_STATUS,
            dict(path=f"{path}/revert", status=200, body={"to_revision": 2}),
        ),
        (
            "revert_device",
            "200 nothing to change",
            BATCH,
            dict(path=f"{path}/revert", status=200, body={"to_revision": 1}),
        ),
        (
            "revert_device",
            "200 to a config revision",
            REVERT,
            dict(path=f"{path}/revert", status=200, body={"to_revision": 4}),
        ),
        (
            "revert_device",
            "404 no such revision",
            BATCH,
            dict(path=f"{path}/revert", status=404, body={"to_revision": 99}),
        ),
        # A deletion also reads the device's credential set, to revoke them in its transaction.
        (
            "delete_device",
            "204",
            {"GetItem": 2, "TransactWriteItems": 1},
            dict(path=f"/devices/{other['id']}", status=204),
        ),
        ("swagger", "200", {}, dict(status=200, query="format=json")),
        # Holders: one Query of the address's interval items, whatever the spelling asked.
        ("list_mac_holders", "200", QUERY, dict(path="/mac-addresses/00-00-00-00-00-01/holders", status=200)),
        ("list_ip_holders", "200", QUERY, dict(path="/ip-addresses/192.0.2.1/holders", status=200)),
        # Fleet statistics: one BatchGetItem of the counter shards, whatever the fleet size.
        ("device_stats", "200", {"BatchGetItem": 1}, dict(path="/devices/stats", status=200)),
        ("list_mac_holders", "422 bad MAC", {}, dict(path="/mac-addresses/00:00:00:00:00:0g/holders", status=422)),
        # Answers that stop early cost no more; the only extra read is documented below.
        ("create_device", "409 MAC taken", {"TransactWriteItems": 1}, dict(status=409, body=_new("000000000001"))),
        ("get_device", "404", READ, dict(path=f"/devices/{other['id']}", status=404)),
        # Restore reads the tombstone and writes one transaction (device, entry, MAC claim).
        ("restore_device", "200", WRITE, dict(path=f"/devices/{other['id']}/restore", status=200, body={})),
        ("restore_device", "409 not deleted", READ, dict(path=f"/devices/{other['id']}/restore", status=409, body={})),
        (
            "update_device",
            "412",
            READ,
            dict(path=path, status=412, body={"location": "x"}, headers={"If-Match": '"9"'}),
        ),
        (
            "put_status",
            "200 unchanged",
            REPORT_READ,
            dict(path=f"{path}/status", status=200, body={"status": "offline"}),
        ),
        ("get_device", "422 bad id", {}, dict(path="/devices/nope", status=422)),
        # An empty first history page reads the device once more to tell 404 from "no entries".
        (
            "list_history",
            "200 empty page",
            {"Query": 1, "GetItem": 1},
            dict(path=f"{path}/history", status=200, query="since=2099-01-01T00:00:00Z"),
        ),
        ("list_history", "404", {"Query": 1, "GetItem": 1}, dict(path=f"/devices/{_UNKNOWN}/history", status=404)),
        # Idempotency-Key adds the idempotency table's own record: claim, then save (or drop) the answer.
        ("create_device", "201 with Idempotency-Key", {"PutItem": 1, "TransactWriteItems": 1, "UpdateItem": 1}, keyed),
        ("create_device", "201 replayed", {"PutItem": 1}, keyed),
        ("create_device", "409 with Idempotency-Key", {"PutItem": 1, "TransactWriteItems": 1, "DeleteItem": 1}, taken),
        # A batch: one transaction per device registered; the reports' devices in one BatchGetItem,
        # then one transaction per device whose status changes.
        ("create_devices", "200, two devices", {"TransactWriteItems": 2}, dict(status=200, body=two_new)),
        # The reports' signs of life in one more BatchGetItem; one seen within the resolution writes nothing.
        ("report_statuses", "200, one change, one the same", {"BatchGetItem": 2, "TransactWriteItems": 1}, reports),
        # Device credentials: an operator creates and revokes one in a transaction (the credential
        # and the device's credential set); a list reads the device and its set, then the credentials.
        ("create_credential", "201", {"TransactWriteItems": 1}, dict(path=credentials, status=201, body={})),
        ("list_credentials", "200", {"BatchGetItem": 2}, dict(path=credentials, status=200)),
        ("delete_credential", "204", {"TransactWriteItems": 1}, dict(path=f"{credentials}/{credential}", status=204)),
        # The device itself (as the device authorizer passes it): the operator routes' requests.
        ("get_own_device", "200", READ, dict(path="/device", status=200, authorizer=as_device)),
        ("get_own_status", "200", REPORT_READ, dict(path="/device/status", status=200, authorizer=as_device)),
        ("put_own_status", "200", REPORT, dict(path="/device/status", status=200, body=_online, authorizer=as_device)),
        # Fleet jobs: the routes touch the job's items only (the worker changes the devices, below).
        ("create_job", "202", {"PutItem": 1}, dict(status=202, body=_JOB)),
        ("list_jobs", "200", QUERY, dict(path="/jobs", status=200)),
        ("get_job", "404", READ, dict(path=f"/jobs/{_UNKNOWN}", status=404)),
        ("list_job_results", "404", READ, dict(path=f"/jobs/{_UNKNOWN}/results", status=404)),
        # A refused cancel reads the job to say 404 or 409.
        (
            "cancel_job",
            "404",
            {"UpdateItem": 1, "GetItem": 1},
            dict(path=f"/jobs/{_UNKNOWN}/cancel", status=404, body={}),
        ),
        ("rollback_job", "404", READ, dict(path=f"/jobs/{_UNKNOWN}/rollback", status=404, body={})),
    ]
    job = invoke("create_job", body=_JOB)["json"]["id"]
    cases += [
        ("get_job", "200", READ, dict(path=f"/jobs/{job}", status=200)),
        ("list_job_results", "200", {"GetItem": 1, "Query": 1}, dict(path=f"/jobs/{job}/results", status=200)),
        ("cancel_job", "202", {"UpdateItem": 1}, dict(path=f"/jobs/{job}/cancel", status=202, body={})),
        ("rollback_job", "409 not finished", READ, dict(path=f"/jobs/{job}/rollback", status=409, body={})),
    ]
    rows = []
    for handler, what, expected, call in cases:
        counted = measure(invoke, dynamodb_calls, handler, **call)
        assert counted == expected, (handler, what, counted)
        rows.append((f"{_route(handler)} → {what}", _format(counted)))
    assert {handler for handler, *_ in cases} == {route.handler for route in ROUTES}
    _report(cost_figures, "DynamoDB requests per API call", ("route → answer", "requests"), rows)


# -- items read per page, at two fleet and history sizes ---------------------------------

_UNKNOWN = "0190f5e2-7a3b-7c1d-9e2f-3a4b5c6d7e8f"
SMALL_FLEET, LARGE_FLEET = 30, 600
SHORT_HISTORY, LONG_HISTORY = 12, 300
LIST_LIMIT, HISTORY_LIMIT = 5, 5


class Seeder:
    """Writes big tables fast. moto copies every table on each transaction (to roll back), so
    hundreds of transactions would take minutes: this service's client turns each transaction
    the store builds into plain batch writes instead (the same items, no conditions), buffered
    until 25 items are pending or the service reads."""

    def __init__(self) -> None:
        client, self.writer = boto3.client("dynamodb"), boto3.client("dynamodb")
        self.pending: list[dict] = []
        client.meta.events.register("before-call.dynamodb.TransactWriteItems", self._buffer)
        client.meta.events.register("before-call.dynamodb.GetItem", lambda **_: self.flush())
        self.service = DeviceService(DeviceStore(client, TABLE_NAME), sleep=lambda _: None)

    def _buffer(self, params, **_):
        operations = json.loads(params["body"])["TransactItems"]
        assert all("Put" in operation for operation in operations)
        self.pending += [operation["Put"]["Item"] for operation in operations]
        if len(self.pending) >= 25:
            self.flush()
        return AWSResponse("https://dynamodb.us-east-1.amazonaws.com/", 200, {}, None), {}

    def flush(self) -> None:
        while self.pending:
            batch, self.pending = self.pending[:25], self.pending[25:]
            self.writer.batch_write_item(RequestItems={TABLE_NAME: [{"PutRequest": {"Item": item}} for item in batch]})


@pytest.fixture
def seeder(dynamodb):
    return Seeder()


@pytest.fixture
def query_reads(dynamodb_calls):
    """(ScannedCount, Count) of each Query the handlers make: the items DynamoDB read for it."""
    reads: list[tuple[int, int]] = []

    def record(parsed, **_):
        reads.append((parsed["ScannedCount"], parsed["Count"]))

    wiring.dynamodb_client().meta.events.register("after-call.dynamodb.Query", record)
    return reads


def grow_fleet(seeder, start, stop):
    for n in range(start, stop):
        device_type = ("sensor", "gateway", "camera")[n % 3]
        mac = f"02:00:00:00:{n // 256:02x}:{n % 256:02x}"
        seeder.service.register(DeviceAttributes(name=f"Device {n}", device_type=device_type, mac_address=mac), "s")
    seeder.flush()


def grow_history(seeder, device_id, entries):
    """Alternate status and config changes until the device has ``entries`` history entries."""
    service = seeder.service
    for n in range(service.get(device_id).revision, entries):
        if n % 2:
            service.set_status(
                device_id, StatusUpdate(status="online", reason=f"beat {n}"), expected=None, principal="s"
            )
        else:
            service.update(device_id, {"location": f"Room {n}"}, expected=None, principal="s")
    seeder.flush()


def page_reads(invoke, reads, handler, path, query):
    """Items read by the Query of one page, and the items that page answered."""
    reads.clear()
    response = invoke(handler, path, query=query)
    assert response["statusCode"] == 200, response
    [(scanned, _count)] = reads
    return scanned, len(response["json"]["items"])


def list_pages(invoke):
    """Name → query string of the device-list pages measured."""
    second = invoke("list_devices", query=f"limit={LIST_LIMIT}")["json"]["next_cursor"]
    queries = {
        f"list, first page (limit={LIST_LIMIT})": "",
        "list, next page (cursor)": f"cursor={second}",
        "list ?device_type=gateway": "device_type=gateway",
        "list ?status=unknown": "status=unknown",
        "list ?device_type=camera&status=unknown": "device_type=camera&status=unknown",
        "list ?mac_address=…&status=unknown": "mac_address=02:00:00:00:00:07&status=unknown",
    }
    return {name: f"limit={LIST_LIMIT}&{query}" for name, query in queries.items()}


def history_pages(invoke, path):
    """Name → query string of the history pages measured."""
    second = invoke("list_history", path, query=f"limit={HISTORY_LIMIT}")["json"]["next_cursor"]
    third_entry = invoke("list_history", path, query="order=asc&limit=3")["json"]["items"][2]["at"]
    queries = {
        f"history, first page (limit={HISTORY_LIMIT})": "",
        "history, next page (cursor)": f"cursor={second}",
        "history ?order=asc": "order=asc",
        "history ?kind=status": "kind=status",
        "history ?kind=config&order=asc": "kind=config&order=asc",
        "history ?since=(3rd entry)&order=asc": f"since={third_entry}&order=asc",
    }
    return {name: f"limit={HISTORY_LIMIT}&{query}" for name, query in queries.items()}


def test_page_reads_do_not_grow_with_the_fleet_or_the_history(invoke, seeder, query_reads, cost_figures):
    measured: dict[str, list[tuple[int, int]]] = {}

    def measure_all(handler, path, pages):
        for name, query in pages.items():
            scanned, answered = page_reads(invoke, query_reads, handler, path, query)
            measured.setdefault(name, []).append((scanned, answered))

    register = seeder.service.register
    short = register(DeviceAttributes(name="Short", device_type="meter", mac_address="02:00:01:00:00:01"), "s")
    long = register(DeviceAttributes(name="Long", device_type="meter", mac_address="02:00:01:00:00:02"), "s")
    grow_fleet(seeder, 2, SMALL_FLEET)  # with the two above: SMALL_FLEET devices
    grow_history(seeder, short.id, SHORT_HISTORY)
    measure_all("list_devices", None, list_pages(invoke))
    history = f"/devices/{short.id}/history"
    measure_all("list_history", history, history_pages(invoke, history))

    grow_fleet(seeder, SMALL_FLEET, LARGE_FLEET)
    grow_history(seeder, long.id, LONG_HISTORY)
    measure_all("list_devices", None, list_pages(invoke))
    history = f"/devices/{long.id}/history"
    measure_all("list_history", history, history_pages(invoke, history))

    rows = []
    for name, ((small_read, small_items), (large_read, large_items)) in measured.items():
        assert (small_read, small_items) == (large_read, large_items), name
        assert small_read <= (small_items + 1), name
        rows.append((name, f"{small_read} / {small_items}", f"{large_read} / {large_items}"))
    _report(
        cost_figures,
        "Items read / items answered per page",
        ("page", f"{SMALL_FLEET} devices, {SHORT_HISTORY} entries", f"{LARGE_FLEET} devices, {LONG_HISTORY} entries"),
        rows,
    )


# -- holder intervals: what they add to writes, and what a page reads -------------------

HOLDER_LIMIT = 5


# -- fleet queries: index entries and devices read per page, at two fleet sizes -------------


@pytest.fixture
def fleet_reads(dynamodb_calls):
    """Per page: the lookup index entries its Query read (ScannedCount), the devices' items its
    BatchGetItem calls read, and apart from them the page's signs of life (liveness)."""
    reads = {"index": 0, "devices": 0, "seen": 0}

    def query(parsed, **_):
        reads["index"] += parsed["ScannedCount"]

    def batch(parsed, **_):
        for items in parsed.get("Responses", {}).values():
            for item in items:
                # A device's item comes projected (no keys), a sign of life whole.
                reads["seen" if item.get(table.SK, {}).get("S") == table.SEEN_SK else "devices"] += 1

    events = wiring.dynamodb_client().meta.events
    events.register("after-call.dynamodb.Query", query)
    events.register("after-call.dynamodb.BatchGetItem", batch)
    return reads


def grow_filtered_fleet(seeder, start, stop):
    for n in range(start, stop):
        mac = f"02:00:02:00:{n // 256:02x}:{n % 256:02x}"
        body = {**cost.fleet_attributes(n), "device_type": "sensor", "mac_address": mac}
        seeder.service.register(DeviceAttributes.model_validate(body), "s")
    seeder.flush()


def test_fleet_query_pages_read_a_bounded_number_of_items_whatever_the_fleet(invoke, seeder, fleet_reads, cost_figures):
    measured: dict[str, list[tuple[int, int, int]]] = {}
    for start, stop in ((0, SMALL_FLEET), (SMALL_FLEET, LARGE_FLEET)):
        grow_filtered_fleet(seeder, start, stop)
        for name, query in cost.FLEET_QUERIES.items():
            fleet_reads.update(index=0, devices=0, seen=0)
            response = invoke("list_devices", query=f"limit={LIST_LIMIT}&{query}")
            assert response["statusCode"] == 200, response
            page = response["json"]
            measured.setdefault(name, []).append((fleet_reads["index"], fleet_reads["devices"], len(page["items"])))
            one_filter = query.count("=") == 1 and not name.startswith("name_prefix, 9")
            bound = LIST_LIMIT + 1 if one_filter else 5 * (LIST_LIMIT + 1)
            assert fleet_reads["index"] <= bound and fleet_reads["devices"] <= bound, (name, fleet_reads)
            assert fleet_reads["seen"] <= LIST_LIMIT, (name, fleet_reads)  # the page's own, no more
            if one_filter and page["next_cursor"] is not None:
                assert len(page["items"]) == LIST_LIMIT, name  # one filter: a full page unless the last
    rows = [
        (name, *(f"{index} + {devices} / {items}" for index, devices, items in sizes))
        for name, sizes in measured.items()
    ]
    _report(
        cost_figures,
        f"Fleet queries: index entries + devices read / answered (limit={LIST_LIMIT})",
        ("filters", f"{SMALL_FLEET} devices", f"{LARGE_FLEET} devices"),
        rows,
    )


@pytest.fixture
def transaction_items(dynamodb_calls):
    """Item keys of each TransactWriteItems the handlers make."""
    written: list[list[str]] = []

    def record(params, **_):
        written.append(
            [next(iter(op.values()))["Key" if "Delete" in op else "Item"]["pk"]["S"] for op in params["TransactItems"]]
        )

    wiring.dynamodb_client().meta.events.register("provide-client-params.dynamodb.TransactWriteItems", record)
    return written


def test_holder_intervals_are_written_with_the_move_and_touch_no_shared_key(invoke, transaction_items, cost_figures):
    """Items per transaction: the device's item and its history entry, the MAC claim moves, and
    one holder item per interval opened or closed, under the address's own partition."""
    mac, ip = "02:00:02:00:00:01", "192.0.2.50"
    created = invoke("create_device", body={**_new(mac), "ip_address": ip})["json"]
    path = f"/devices/{created['id']}"
    steps = [
        ("register (MAC + IP)", None),
        ("status change", ("put_status", f"{path}/status", {"status": "online"}, "PUT")),
        ("PATCH location", ("update_device", path, {"location": "Roof"}, "PATCH")),
        ("PATCH mac_address", ("update_device", path, {"mac_address": "02:00:02:00:00:02"}, "PATCH")),
        ("PATCH ip_address", ("update_device", path, {"ip_address": "192.0.2.51"}, "PATCH")),
        ("revert to revision 1", ("revert_device", f"{path}/revert", {"to_revision": 1}, "POST")),
        ("delete", ("delete_device", path, None, "DELETE")),
        ("restore", ("restore_device", f"{path}/restore", {}, "POST")),
    ]
    rows = []
    for what, call in steps:
        if call is not None:
            transaction_items.clear()
            handler, call_path, body, _method = call
            response = invoke(handler, call_path, body=body)
            assert response["statusCode"] in (200, 204), response
        [keys] = transaction_items[-1:]
        holders = [key for key in keys if key.startswith(tuple(table.HOLDER_PREFIXES.values()))]
        prefixes = (table.DEVICE_PREFIX, table.MAC_PREFIX, *table.HOLDER_PREFIXES.values())
        assert all(key.startswith(prefixes) for key in keys)
        rows.append((what, str(len(keys)), str(len(holders)), str(2 * len(holders))))
    expected_holders = [2, 0, 0, 2, 2, 4, 2, 2]
    assert [int(row[2]) for row in rows] == expected_holders
    _report(cost_figures, "Holder items per write", ("write", "items", "holder items", "holder WCU"), rows)


def test_holder_pages_read_limit_plus_one_whatever_the_address_history(invoke, seeder, query_reads, cost_figures):
    ip, rows = "198.51.100.7", []
    for size in (12, 120):
        for n in range(size - (12 if size == 120 else 0)):
            mac = f"02:00:03:{size:02x}:{n // 256:02x}:{n % 256:02x}"
            attributes = DeviceAttributes(name="Shared", device_type="meter", mac_address=mac, ip_address=ip)
            seeder.service.register(attributes, "s")
        seeder.flush()
        path = f"/ip-addresses/{ip}/holders"
        first = invoke("list_ip_holders", path, query=f"limit={HOLDER_LIMIT}")["json"]
        assert len(first["items"]) == HOLDER_LIMIT and first["next_cursor"]
        for name, query in (("first page", ""), ("next page", f"cursor={first['next_cursor']}")):
            scanned, answered = page_reads(
                invoke, query_reads, "list_ip_holders", path, f"limit={HOLDER_LIMIT}&{query}"
            )
            assert (scanned, answered) == (HOLDER_LIMIT + 1, HOLDER_LIMIT), (size, name)
            rows.append((f"holders of an IP held {size} times, {name}", f"{scanned} / {answered}"))
    _report(cost_figures, "Items read / items answered per holders page", ("page", "read / answered"), rows)


# -- time travel over history entries written before they carried what it needs ---------

_FUTURE = "2999-01-01T00:00:00Z"
_DIFF_MOST = {"GetItem": 2, "Query": 2}


def test_time_travel_over_entries_written_before_stays_bounded(
    invoke, make_device, dynamodb, dynamodb_calls, cost_figures
):
    """Entries written before history entries carried ``created_at`` and ``status_then`` cost
    at most one or two requests more (docs/capacity.md): still bounded whatever the history."""
    device = make_device()
    path = f"/devices/{device['id']}"
    invoke("put_status", f"{path}/status", body={"status": "online"})
    invoke("update_device", path, body={"location": "Roof"})
    now = now_timestamp()
    for revision in (1, 2, 3, 4):  # created, status, liveness (its first report's), config
        key = {name: {"S": value} for name, value in table.revision_key(device["id"], revision).items()}
        dynamodb.update_item(TableName=TABLE_NAME, Key=key, UpdateExpression="REMOVE created_at, status_then")
    cases = [
        ("get_device", "200 as_of, old entry", {"GetItem": 1, "Query": 1}, dict(path=path, query=f"as_of={now}")),
        # ... and the liveness transition then in force (one Query more than for a device detail).
        ("get_status", "200 as_of, old entry", {"Query": 3}, dict(path=f"{path}/status", query=f"as_of={now}")),
        (
            "diff_device",
            "200 old created, config entries",
            {"GetItem": 2, "Query": 1},
            dict(path=f"{path}/diff", query="from=1&to=4"),  # 3 is the first report's liveness entry
        ),
    ]
    rows = []
    for handler, what, expected, call in cases:
        counted = measure(invoke, dynamodb_calls, handler, status=200, **call)
        assert counted == expected, (handler, what, counted)
        rows.append((f"{_route(handler)} → {what}", _format(counted)))
    _report(
        cost_figures, "DynamoDB requests per time-travel call over older entries", ("route → answer", "requests"), rows
    )


# -- helpers -----------------------------------------------------------------------------


def _new(mac="00:00:00:00:00:02"):
    return {"name": "New", "device_type": "sensor", "mac_address": mac}


def _route(handler):
    route = next(route for route in ROUTES if route.handler == handler)
    return f"{route.method} {route.path}"


def _format(calls):
    return " + ".join(f"{n} {operation}" for operation, n in sorted(Counter(calls).items())) or "none"


def _report(cost_figures, title, header, rows):
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    lines = [title, "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    lines += ["  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    text = "\n".join(lines)
    print(f"\n{text}")
    cost_figures.append(text)


# -- capacity units per device, the figures docs/cost.md prices ------------------------------------
#
# moto reports no true ConsumedCapacity, so the units are computed from the items each request read
# or wrote, by DynamoDB's billing rules: a read 1 unit per 4 KB (at least 1, per item in a
# BatchGetItem, half when eventually consistent); a write 1 unit per KB, doubled inside a
# transaction; an index entry 1 unit per KB of what it projects, written only when the entry
# appears, goes or changes (a key change is a delete and a put), never doubled.

DEVICES_PER_BATCH = 10  # devices per batch here: each device's units do not depend on it (only the requests do)


class CapacityMeter:
    """Read and write units of the requests the handlers' client makes, from the items involved
    (the items a write replaces are read beforehand on the test's own, unmetered client)."""

    def __init__(self, client, reader) -> None:
        self.reader = reader
        self.rru = self.wru = 0.0
        self.lock = threading.Lock()  # a batch's items are written from several threads
        client.meta.events.register("before-parameter-build.dynamodb", self._before)
        client.meta.events.register("after-call.dynamodb", self._after)

    def reset(self) -> None:
        self.rru = self.wru = 0.0

    def _before(self, model, params, context, **_) -> None:
        context["metered_params"] = dict(params)
        units = 0
        if model.name == "TransactWriteItems":
            for operation in params["TransactItems"]:
                ((kind, body),) = operation.items()
                old = self._stored(body["TableName"], body.get("Key") or _key(body["Item"]))
                new = body.get("Item") if kind == "Put" else None
                units += 2 * _kb(new or old or {})
                if body["TableName"] == TABLE_NAME:
                    units += sum(_index_units(index, old, new) for index in table.INDEXES)
        elif model.name in ("PutItem", "UpdateItem", "DeleteItem"):  # the idempotency record
            # billed on the item written: the answer an UpdateItem stores, for replays, included
            written = {**params.get("Key", {}), **params.get("Item", {}), **params.get("ExpressionAttributeValues", {})}
            units = max(1, _kb(written))
            if model.name == "PutItem" and params["TableName"] == TABLE_NAME:  # a sign of life (liveness)
                old = self._stored(TABLE_NAME, _key(params["Item"]))
                units += sum(_index_units(index, old, params["Item"]) for index in table.INDEXES)
        with self.lock:
            self.wru += units

    def _after(self, model, parsed, context, **_) -> None:
        params = context.get("metered_params", {})
        consistent = 1 if params.get("ConsistentRead") else 0.5
        units = 0.0
        if model.name == "GetItem":
            units = consistent * max(1, _four_kb(parsed.get("Item", {})))
        elif model.name == "BatchGetItem":
            for name, request in params["RequestItems"].items():
                found = parsed.get("Responses", {}).get(name, [])
                weight = 1 if request.get("ConsistentRead") else 0.5
                missing = len(request["Keys"]) - len(found)
                units += weight * (sum(max(1, _four_kb(item)) for item in found) + missing)
        elif model.name == "Query":
            size = sum(cost.item_size(item) for item in parsed.get("Items", []))
            units = consistent * max(1, math.ceil(size / 4096))
        with self.lock:
            self.rru += units

    def _stored(self, table_name, key):
        if table_name != TABLE_NAME:
            return None
        return self.reader.get_item(TableName=table_name, Key=key, ConsistentRead=True).get("Item")


def _key(item):
    return {name: item[name] for name in (table.PK, table.SK)}


def _kb(item) -> int:
    return math.ceil(cost.item_size(item) / 1024)


def _four_kb(item) -> int:
    return math.ceil(cost.item_size(item) / 4096)


def _index_units(index, old, new) -> int:
    """Units an index's entry costs when ``old`` becomes ``new`` (either may be None)."""

    def entry(item):
        if item is None or index.partition_key not in item or index.sort_key not in item:
            return None
        keys = {table.PK, table.SK, index.partition_key, index.sort_key}
        kept = None if index.projection is None else keys | set(index.projection)
        return {name: value for name, value in item.items() if kept is None or name in kept}

    before, after = entry(old), entry(new)
    if before == after:
        return 0
    if before is None or after is None:
        return _kb(before or after)
    moved = any(before[name] != after[name] for name in (index.partition_key, index.sort_key))
    return _kb(before) + _kb(after) if moved else _kb(after)


@pytest.fixture
def capacity(dynamodb):
    return CapacityMeter(wiring.dynamodb_client(), boto3.client("dynamodb"))


@contextmanager
def _later_clock(seconds: int):
    """put_status on a service whose clock is ``seconds`` ahead of the machine's."""
    app = importlib.import_module("handlers.put_status").app
    ahead = lambda: format_timestamp(datetime.now(UTC) + timedelta(seconds=seconds))  # noqa: E731
    app.dependency_overrides[wiring.get_service] = lambda: DeviceService(
        DeviceStore(wiring.dynamodb_client(), TABLE_NAME), clock=ahead
    )
    try:
        yield
    finally:
        app.dependency_overrides.pop(wiring.get_service, None)


def test_units_per_device_of_single_and_batched_writes_are_those_docs_cost_md_prices(invoke, capacity, cost_figures):
    """The per-device units of each operation the monthly bill counts: the same whether a device
    is registered or reported on alone or in a batch (a batch saves requests, not units), and
    exactly the figures of docs/cost.md's units table."""
    fields = {"ip_address": "192.0.2.10", "firmware_version": "1.4.2", "location": "Building A, boiler room"}
    body = lambda n: {**_new(f"02:c0:57:00:00:{n:02x}"), **fields, "attributes": {"floor": "B1", "vendor": "Acme"}}  # noqa: E731
    measured: dict[str, tuple[float, float]] = {}

    def measure_units(operation, devices, call):
        capacity.reset()
        response = call()
        assert response["statusCode"] in (200, 201), response
        measured[operation] = (capacity.rru / devices, capacity.wru / devices)
        return response

    single = measure_units("register", 1, lambda: invoke("create_device", body=body(0)))["json"]
    batch = measure_units(
        "register_batched",
        DEVICES_PER_BATCH,
        lambda: invoke("create_devices", body={"devices": [body(n) for n in range(1, 1 + DEVICES_PER_BATCH)]}),
    )["json"]
    keyed = {"devices": [body(n) for n in range(20, 20 + DEVICES_PER_BATCH)]}
    measure_units(
        "register_batched_keyed",
        DEVICES_PER_BATCH,
        lambda: invoke("create_devices", body=keyed, headers={"Idempotency-Key": "cost-batch"}),
    )
    path = f"/devices/{single['id']}"
    measure_units("read_device", 1, lambda: invoke("get_device", path))
    measure_units("attribute_change", 1, lambda: invoke("update_device", path, body={"location": "Roof"}))
    # Its first report: the status change, then its sign of life as a liveness revision (pending → reporting).
    measure_units("first_report", 1, lambda: invoke("put_status", f"{path}/status", body={"status": "maintenance"}))
    measure_units("status_change", 1, lambda: invoke("put_status", f"{path}/status", body={"status": "online"}))
    measure_units("status_unchanged", 1, lambda: invoke("put_status", f"{path}/status", body={"status": "online"}))
    with _later_clock(LivenessRules().resolution_s):  # one resolution on: the report refreshes last_seen_at
        measure_units(
            "status_unchanged_refresh", 1, lambda: invoke("put_status", f"{path}/status", body={"status": "online"})
        )
    ids = [result["device"]["id"] for result in batch["results"]]
    first_reports = {"reports": [{"device_id": device_id, "status": "maintenance"} for device_id in ids]}
    assert invoke("report_statuses", body=first_reports)["json"]["failed"] == 0  # their first: measured above
    for operation, status in (("status_change_batched", "online"), ("status_unchanged_batched", "online")):
        reports = {"reports": [{"device_id": device_id, "status": status} for device_id in ids]}
        answer = measure_units(operation, DEVICES_PER_BATCH, lambda: invoke("report_statuses", body=reports))["json"]  # noqa: B023
        assert answer["failed"] == 0

    rounded = {name: (round(rru, 2), round(wru, 2)) for name, (rru, wru) in measured.items()}
    rows = [(name, f"{rru:g}", f"{wru:g}") for name, (rru, wru) in rounded.items()]
    _report(cost_figures, "Capacity units per device", ("operation", "RRU", "WRU"), rows)
    documented = {name: (units.rru, units.wru) for name, units in bill.units().items()}
    assert rounded == documented, "docs/cost.md's units table differs from the code: update it"
    # A batch changes the requests, never a device's units.
    assert measured["register"] == measured["register_batched"]
    assert measured["status_change"][1] == measured["status_change_batched"][1]


def test_docs_cost_md_bills_are_what_its_units_workload_and_prices_give():
    assert bill.current(), "docs/cost.md: run .venv/bin/python -m benchmarks.bill --write"


def test_a_status_change_costs_the_same_whatever_lookup_indexes_the_device_is_in(invoke, capacity, cost_figures):
    """The fleet-query lookup indexes hold neither status nor a summary field: a status change of
    a device in every one of them (and with tags) writes exactly what it writes for a device in
    none. Registrations and attribute changes pay for the lookups they touch, shown per write."""
    bare = {"name": "N", "device_type": "sensor"}  # a 1-character name: one name-prefix level
    full = {
        "name": "gw-berlin-0001",
        "device_type": "sensor",
        "firmware_version": "1.4.2",
        "location": "Berlin",
        "serial_number": "SN-1",
        "ip_address": "192.0.2.10",
        "tags": ["edge", "prod"],
    }
    units: dict[str, float] = {}

    def measure(label, handler, path=None, body=None):
        capacity.reset()
        response = invoke(handler, path, body=body)
        assert response["statusCode"] in (200, 201), response
        units[label] = capacity.wru
        return response.get("json")

    plain = measure(
        "register: no optional attribute", "create_device", body={**bare, "mac_address": "02:00:03:00:00:01"}
    )
    rich = measure(
        "register: every filter + 2 tags", "create_device", body={**full, "mac_address": "02:00:03:00:00:02"}
    )
    for label, device in (("plain", plain), ("rich", rich)):
        measure(f"status change ({label})", "put_status", f"/devices/{device['id']}/status", {"status": "online"})
    path = f"/devices/{rich['id']}"
    measure("PATCH firmware_version", "update_device", path, {"firmware_version": "1.5.0"})
    measure("PATCH attributes only (no lookup)", "update_device", path, {"attributes": {"rack": "7"}})
    measure("PATCH tags: one replaced", "update_device", path, {"tags": ["edge", "lab"]})
    measure("PATCH name (4 prefix levels move)", "update_device", path, {"name": "cam-paris-0001"})

    assert units["status change (plain)"] == units["status change (rich)"]
    _report(
        cost_figures,
        "WRU per write with fleet-query lookups",
        ("write", "WRU"),
        [(k, f"{v:g}") for k, v in units.items()],
    )


def test_a_detail_page_is_its_summary_page_and_one_batched_read_whatever_the_fleet(
    invoke, seeder, dynamodb_calls, cost_figures
):
    """``view=detail``: the summary page's requests, then one BatchGetItem of the page's STATE
    items (strongly consistent), at any fleet size and with any filter."""
    keys: list[int] = []
    wiring.dynamodb_client().meta.events.register(
        "provide-client-params.dynamodb.BatchGetItem",
        lambda params, **_: keys.append(len(params["RequestItems"][TABLE_NAME]["Keys"])),
    )
    rows = []
    for start, stop in ((0, SMALL_FLEET), (SMALL_FLEET, LARGE_FLEET)):
        grow_filtered_fleet(seeder, start, stop)
        for name, query in {"no filter": "", "device_type": "device_type=sensor", **cost.FLEET_QUERIES}.items():
            page_query = f"limit={LIST_LIMIT}&{query}"
            summary = measure(invoke, dynamodb_calls, "list_devices", status=200, query=page_query)
            keys.clear()
            detail, answer = measure_answer(
                invoke, dynamodb_calls, "list_devices", status=200, query=f"{page_query}&view=detail"
            )
            items = len(answer["json"]["items"])
            extra = Counter(detail) - Counter(summary)
            assert extra == (Counter({"BatchGetItem": 1}) if items else Counter()), (name, summary, detail)
            assert keys[-1:] == ([items] if items else keys[-1:]), name  # the page's devices, no more
            rows.append((name, stop, _calls(summary), _calls(detail)))
    _report(
        cost_figures,
        f"GET /devices?view=detail: requests per page (limit={LIST_LIMIT})",
        ("filters", "devices", "summary page", "detail page"),
        rows,
    )


def _calls(calls: dict[str, int]) -> str:
    return " + ".join(f"{count} {name}" for name, count in sorted(calls.items()))


# -- a fleet job's units per device (docs/cost.md, "A fleet job") ------------------------------------

JOB_DEVICES = 50  # two chunks of 25: the per-chunk reads and writes are shared as a real job shares them
JOB_UNITS = (3.2, 10.2)  # RRU, WRU per device: docs/cost.md's figures


def test_units_per_device_of_a_fleet_job_are_those_docs_cost_md_prices(invoke, capacity, cost_figures):
    """Every DynamoDB request a job over 50 devices makes (its creation, the resolution's fleet query
    and pages, each device's read, revision and result, the counts), per device changed."""
    from registry.domain.jobs import JobMessage

    fields = {"ip_address": "192.0.2.10", "firmware_version": "1.4.2", "location": "Building A, boiler room"}
    for n in range(JOB_DEVICES):
        body = {**_new(f"02:c0:58:00:00:{n:02x}"), **fields, "attributes": {"floor": "B1", "vendor": "Acme"}}
        assert invoke("create_device", body=body)["statusCode"] == 201
    sqs, worker = boto3.client("sqs"), wiring.get_job_worker()
    capacity.reset()

    job = invoke("create_job", body={"filter": {"location": fields["location"]}, "patch": {"location": "Roof"}})
    for _ in range(10):
        messages = sqs.receive_message(QueueUrl=worker.queue.queue_url).get("Messages", [])  # type: ignore[attr-defined]
        for message in messages:
            worker.handle(JobMessage.from_body(json.loads(message["Body"])))
            sqs.delete_message(QueueUrl=worker.queue.queue_url, ReceiptHandle=message["ReceiptHandle"])  # type: ignore[attr-defined]
    finished = invoke("get_job", f"/jobs/{job['json']['id']}")["json"]
    per_device = (round(capacity.rru / JOB_DEVICES, 1), round(capacity.wru / JOB_DEVICES, 1))
    _report(cost_figures, "A fleet job, units per device changed", ("RRU", "WRU"), [per_device])

    assert finished["counts"]["changed"] == JOB_DEVICES
    assert per_device == JOB_UNITS
