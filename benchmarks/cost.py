"""DynamoDB cost per route: requests, items read, bytes and capacity units, at 100 and 100,000
devices and at 10 and 10,000 history entries, on moto in-process.

moto reports a constant ``ConsumedCapacity`` whatever the item sizes, so capacity is computed
here from the items each request actually read or wrote, with DynamoDB's documented rules:
reads in 4 KB units (halved when eventually consistent, summed over a Query's items), writes in
1 KB units per item, doubled inside a transaction. The tables are seeded by handing moto's
backend the very items our store would write (built by the real service and store), which
takes seconds instead of the minutes 300,000 API calls would."""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest.mock import patch

from benchmarks.fixtures import IDEMPOTENCY_TABLE_NAME, TABLE_NAME, device_body, expected_status
from registry.devices.service import DeviceService
from registry.domain import cursors
from registry.domain.records import Device
from registry.domain.vocabulary import StatusValue
from registry.schemas import DeviceAttributes, StatusUpdate
from registry.storage import keys
from registry.storage.codec import decode as _from_item
from registry.storage.device_writes import _Operation
from registry.storage.devices import DeviceStore

SIZES = {"small": (100, 10), "large": (100_000, 10_000)}  # (devices, history entries)
DEVICE_TYPES = ("sensor", "gateway", "camera", "meter")


def fleet_attributes(n: int) -> dict[str, Any]:
    """Device n's filterable attributes: a firmware version shared by a quarter of the fleet, ten
    sites, seven tag groups plus one tag on every device, a serial number and an IP each its own."""
    return {
        "name": f"Device {n}",
        "firmware_version": ("1.4.2", "1.5.0", "2.0.0", "2.1.0")[n % 4],
        "location": f"Site {n % 10}",
        "serial_number": f"SN-{n:06d}",
        "ip_address": f"10.{n // 65536}.{n // 256 % 256}.{n % 256}",
        "tags": [f"batch-{n % 7}", "fleet"],
    }


# Fleet queries measured (label → query string): each filter alone, then combinations, which read
# at most 5 × (limit + 1) index entries and may answer a short page.
FLEET_QUERIES = {
    "firmware_version (¼ of the fleet)": "firmware_version=1.4.2",
    "location (1/10)": "location=Site%203",
    "serial_number (one device)": "serial_number=SN-000042",
    "ip_address (one device)": "ip_address=10.0.0.42",
    "tag (1/7)": "tag=batch-3",
    "tag on every device": "tag=fleet",
    "name_prefix, indexed length (4)": "name_prefix=Devi",
    "name_prefix, 9 characters (level 8 + compare)": "name_prefix=Device%2012",
    "firmware_version + location": "firmware_version=1.4.2&location=Site%204",
    "tag + status": "tag=batch-3&status=unknown",
    "firmware_version + location + tag": "firmware_version=1.4.2&location=Site%204&tag=fleet",
    "location + device_type": "location=Site%205&device_type=gateway",
}


def attribute_size(value: dict[str, Any]) -> int:
    """Bytes of one attribute value, as DynamoDB counts them."""
    ((kind, inner),) = value.items()
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        digits = inner.lstrip("-").replace(".", "").strip("0") or "0"
        return math.ceil(len(digits) / 2) + 1
    if kind == "B":
        return len(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + attribute_size(v) + 1 for k, v in inner.items())
    if kind == "L":
        return 3 + sum(attribute_size(v) + 1 for v in inner)
    return sum(len(str(v)) for v in inner)  # sets


def item_size(item: dict[str, Any]) -> int:
    return sum(len(name.encode()) + attribute_size(value) for name, value in item.items())


@dataclass
class Cost:
    requests: dict[str, int] = field(default_factory=dict)
    items_read: int = 0
    bytes_read: int = 0
    rcu: float = 0.0
    wcu: float = 0.0
    index_writes: int = 0
    status: int = 0

    @property
    def request_summary(self) -> str:
        return " + ".join(f"{n} {op}" if n > 1 else op for op, n in self.requests.items()) or "none"


class Meter:
    """botocore hooks on the handlers' client: what each request asked for and read."""

    def __init__(self, indexes: list[tuple[str, str]]) -> None:
        self.cost = Cost()
        self.indexes = indexes  # (index name, attribute that places an item in it)

    def before(self, model: Any, params: dict[str, Any], context: Any, **_: Any) -> None:
        context["bench_params"] = dict(params)
        self.cost.requests[model.name] = self.cost.requests.get(model.name, 0) + 1
        for operation in params.get("TransactItems", []):
            ((kind, body),) = operation.items()
            if kind == "Put":
                self.cost.wcu += 2 * math.ceil(item_size(body["Item"]) / 1024)
                self.cost.index_writes += sum(1 for _, attribute in self.indexes if attribute in body["Item"])
            else:  # Delete / ConditionCheck of a MAC claim (~0.1 KB)
                self.cost.wcu += 2

    def after(self, model: Any, parsed: dict[str, Any], context: Any, **_: Any) -> None:
        params = context.get("bench_params", {})
        if model.name == "GetItem":
            self._read([parsed["Item"]] if "Item" in parsed else [], 1 if "Item" in parsed else 0, params)
        elif model.name == "Query":
            self._read(parsed.get("Items", []), parsed.get("ScannedCount", parsed.get("Count", 0)), params)
        elif model.name == "BatchGetItem":  # a fleet query's devices, named by a lookup index
            for name, request in params.get("RequestItems", {}).items():
                items = parsed.get("Responses", {}).get(name, [])
                self._read(items, len(items), request, units=sum(max(1, math.ceil(item_size(i) / 4096)) for i in items))

    def _read(self, items: list[dict[str, Any]], scanned: int, params: dict[str, Any], units: int = 0) -> None:
        size = sum(item_size(item) for item in items)
        units = units or max(1, math.ceil(size / 4096))
        self.cost.items_read += int(scanned)
        self.cost.bytes_read += size
        self.cost.rcu += units if params.get("ConsistentRead") else units / 2


@dataclass
class Case:
    route: str
    label: str
    path: str
    query: str = ""
    body: Any = None
    content_type: str = "application/json"


def _cases(ids: dict[str, str], macs: dict[str, str], cursors: dict[str, str], revision: int) -> list[Case]:
    history = f"/devices/{ids['history']}/history"
    return [
        Case("create_device", "register a device", "/devices", body=device_body()),
        Case("list_devices", "first page (50)", "/devices"),
        Case("list_devices", "next page, by cursor", "/devices", f"cursor={cursors['devices']}"),
        Case("list_devices", "type + status filter", "/devices", "device_type=camera&status=unknown"),
        Case("list_devices", "first 5 (limit=5)", "/devices", "limit=5"),
        Case("list_devices", "one MAC address", "/devices", f"mac_address={macs['target']}"),
        *(Case("list_devices", label, "/devices", query) for label, query in FLEET_QUERIES.items()),
        Case("get_device", "one device", f"/devices/{ids['history']}"),
        Case(
            "update_device",
            "change location",
            f"/devices/{ids['target']}",
            body={"location": "Hall 7"},
            content_type="application/merge-patch+json",
        ),
        Case("get_status", "one status", f"/devices/{ids['history']}/status"),
        Case("put_status", "status change", f"/devices/{ids['target']}/status", body={"status": "offline"}),
        Case("list_history", "newest 50", history),
        Case("list_history", "next page, by cursor", history, f"cursor={cursors['history']}"),
        Case("list_history", "kind=status", history, "kind=status"),
        Case("list_history", "since a time", history, f"since={cursors['since']}"),
        Case("list_history", "newest 5 (limit=5)", history, "limit=5"),
        Case("get_history_entry", f"revision {revision}", f"/devices/{ids['history']}/history/{revision}"),
        Case("delete_device", "delete a device", f"/devices/{ids['victim']}"),
    ]


def measure(progress: bool = True) -> dict[str, Any]:
    import boto3
    from moto import mock_aws

    from local.proxy_events import LambdaContext, proxy_event
    from registry import wiring
    from registry.http.routes import route_for

    with mock_aws(), _fast_moto():
        client = boto3.client("dynamodb")
        client.create_table(**keys.create_table_request(TABLE_NAME))
        client.create_table(**keys.create_idempotency_table_request(IDEMPOTENCY_TABLE_NAME))
        indexes = [(i.name, i.partition_key if not i.local else i.sort_key) for i in keys.INDEXES]
        seeder = Seeder()
        results: dict[str, Any] = {"cases": [], "seed_seconds": {}, "small": SIZES["small"], "large": SIZES["large"]}
        handler_client = wiring.dynamodb_client()
        meter = Meter(indexes)
        events = handler_client.meta.events  # type: ignore[attr-defined]
        events.register("before-parameter-build.dynamodb", meter.before)
        events.register("after-call.dynamodb", meter.after)
        for size, (devices, entries) in SIZES.items():
            started = time.perf_counter()
            seeder.grow_fleet(devices)
            seeder.grow_history(entries)
            results["seed_seconds"][size] = round(time.perf_counter() - started, 1)
            if progress:
                print(f"  dynamodb cost: seeded {size} ({devices:,} devices, history {entries:,})", file=sys.stderr)
            ids = {"history": seeder.ids[0], "target": seeder.ids[-2], "victim": seeder.ids[-1]}
            macs = {"target": seeder.macs[-2]}
            cursors = seeder.cursors(handler_client)
            for case in _cases(ids, macs, cursors, revision=5):
                meter.cost = Cost()
                route = route_for(case.route)
                headers = {"Content-Type": case.content_type} if case.body is not None else None
                event = proxy_event(
                    route,
                    path=case.path,
                    path_parameters=route.match(case.path),
                    query=case.query,
                    headers=headers,
                    body=json.dumps(case.body) if case.body is not None else None,
                )
                handler = __import__(f"handlers.{case.route}", fromlist=["lambda_handler"]).lambda_handler
                meter.cost.status = handler(event, LambdaContext())["statusCode"]
                if meter.cost.status != expected_status(case.route):
                    raise RuntimeError(f"{case.route} {case.label} answered {meter.cost.status}")
                results["cases"].append({"size": size, "route": case.route, "label": case.label, **_dump(meter.cost)})
        return results


def _dump(cost: Cost) -> dict[str, Any]:
    return {
        "requests": cost.request_summary,
        "items_read": cost.items_read,
        "kb_read": round(cost.bytes_read / 1024, 1),
        "rcu": cost.rcu,
        "wcu": cost.wcu,
        "index_writes": cost.index_writes,
    }


class DirectStore(DeviceStore):
    """The real store, except that a transaction's items go straight into moto's backend
    (no request serialisation, no HTTP) and the device being seeded is read from memory."""

    def __init__(self, backend_table: Any) -> None:
        super().__init__(client=None, table_name=TABLE_NAME)
        self.backend_table = backend_table
        self.current: Device | None = None

    def get_device(self, device_id: str) -> Device | None:
        return self.current if self.current and self.current.id == device_id else None

    def _transact(self, operations: list[_Operation], **_: Any) -> None:
        for operation in operations:
            if "Put" in operation.request:
                item = operation.request["Put"]["Item"]
                _insert(self.backend_table, item)
                if item[keys.SK]["S"] == keys.STATE_SK:
                    self.current = Device.from_item(_from_item(item))


@contextmanager
def _fast_moto() -> Iterator[None]:
    """Three of moto's habits that cost minutes at 300,000 items, swapped for equivalents:

    * every Query sorts every item of the table, comparing generic ``DynamoType`` objects; all
      our key attributes are strings, so sorting on the strings gives the same order;
    * every TransactWriteItems deep-copies the whole table first, to roll back on failure; every
      transaction measured here must succeed (the route's status is checked), so no copy."""
    import copy

    from moto.dynamodb import models
    from moto.dynamodb.models.table import Table

    def all_items(self: Any) -> list[Any]:
        items = [item for partition in self.items.values() for item in partition.values()]
        return sorted(items, key=lambda item: (item.hash_key.value, item.range_key.value))

    def sorted_items(self: Any, hash_key_attrs: list[str], range_key_attrs: list[Any], items: list[Any]) -> list[Any]:
        names = self._generate_attr_to_sort_by(hash_key_attrs, range_key_attrs)
        items.sort(key=lambda item: tuple(item.attrs[name].value for name in names))
        return items

    class NoTableBackup:
        def __getattr__(self, name: str) -> Any:
            return getattr(copy, name)

        @staticmethod
        def deepcopy(value: Any, memo: Any = None) -> Any:
            return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    with (
        patch.object(Table, "all_items", all_items),
        patch.object(Table, "sorted_items", sorted_items),
        patch.object(models, "copy", NoTableBackup()),
    ):
        yield


def _insert(backend_table: Any, attributes: dict[str, Any]) -> None:
    """moto's ``Table.put_item`` without its per-attribute 400 KB re-check, which re-sizes the
    whole item on every attribute (most of the seeding time); our items are ~1 KB."""
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict

    item = Item.__new__(Item)
    item.hash_key, item.range_key = DynamoType(attributes[keys.PK]), DynamoType(attributes[keys.SK])
    item.attrs = LimitedSizeDict({name: DynamoType(value) for name, value in attributes.items()})
    backend_table.items[item.hash_key][item.range_key] = item


class Seeder:
    """A fleet of devices (types in rotation) and one device with a long history, written by the
    real service; the first device registered is the one whose history grows."""

    def __init__(self) -> None:
        from moto.dynamodb.models import dynamodb_backends

        backend = dynamodb_backends["123456789012"]["us-east-1"]
        self.store = DirectStore(backend.get_table(TABLE_NAME))
        self.service = DeviceService(self.store)
        self.ids: list[str] = []
        self.macs: list[str] = []
        self.history_state: Device | None = None

    def grow_fleet(self, devices: int) -> None:
        for n in range(len(self.ids), devices):
            body = device_body(device_type=DEVICE_TYPES[n % len(DEVICE_TYPES)], **fleet_attributes(n))
            state = self.service.register(DeviceAttributes.model_validate(body), "bench")
            self.ids.append(state.id)
            self.macs.append(state.mac_address)
            self.history_state = self.history_state or state

    def grow_history(self, entries: int) -> None:
        self.store.current = self.history_state
        while self.store.current is not None and self.store.current.revision < entries:
            status = StatusValue.OFFLINE if self.store.current.status == "online" else StatusValue.ONLINE
            self.service.set_status(self.ids[0], StatusUpdate(status=status), expected=None, principal="bench")
        self.history_state = self.store.current

    def cursors(self, client: Any) -> dict[str, str]:
        service = DeviceService(DeviceStore(client, TABLE_NAME))
        devices, _ = service.list_devices(limit=50, cursor=None)
        entries, _ = service.history(
            self.ids[0], kind=None, since=None, until=None, order="desc", limit=50, cursor=None
        )
        return {
            "devices": cursors.encode_device_cursor(devices[-1].id),
            "history": cursors.encode_history_cursor(entries[-1].revision, entries[-1].at),
            "since": self.history_state.created_at if self.history_state else "",
        }
