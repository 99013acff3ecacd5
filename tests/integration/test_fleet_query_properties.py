"""The pagination invariant of fleet queries, for random fleets and random filter sets: following
``next_cursor`` from the first page returns every matching live device exactly once, in id
order, and no other — however short the pages a combination of filters answers."""

from __future__ import annotations

import itertools
from typing import Any

import boto3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry.devices.service import DeviceService
from registry.domain.fleet import FleetFilter
from registry.schemas import DeviceAttributes, StatusUpdate
from registry.storage import keys as table
from registry.storage.devices import DeviceStore

_tables = itertools.count()
# Small alphabets, so filters often match several devices and combinations often match none.
_names = st.sampled_from(["a", "ab", "abc", "abcd", "abcde", "abcdefgh", "abcdefghij", "b", "ba"])
_devices = st.lists(
    st.fixed_dictionaries(
        {
            "name": _names,
            "device_type": st.sampled_from(["sensor", "gateway"]),
            "firmware_version": st.sampled_from(["1.0", "2.0", None]),
            "location": st.sampled_from(["north", "south", None]),
            "serial_number": st.sampled_from(["s1", "s2", None]),
            "ip_address": st.sampled_from(["10.0.0.1", "10.0.0.2", None]),
            "tags": st.lists(st.sampled_from(["x", "y", "z"]), max_size=2),
            "status": st.sampled_from(["unknown", "online"]),
            "deleted": st.booleans(),
        }
    ),
    max_size=9,
)
_filters = st.fixed_dictionaries(
    {},
    optional={
        "device_type": st.sampled_from(["sensor", "gateway"]),
        "status": st.sampled_from(["unknown", "online"]),
        "firmware_version": st.sampled_from(["1.0", "2.0"]),
        "location": st.sampled_from(["north", "south"]),
        "serial_number": st.sampled_from(["s1", "s2"]),
        "ip_address": st.sampled_from(["10.0.0.1", "10.0.0.2"]),
        "tag": st.sampled_from(["x", "y", "z"]),
        "name_prefix": _names,
    },
)


def _expected(device: dict[str, Any], filters: dict[str, str]) -> bool:
    for name, value in filters.items():
        if name == "tag":
            ok = value in device["tags"]
        elif name == "name_prefix":
            ok = device["name"].startswith(value)
        else:
            ok = device[name] == value
        if not ok:
            return False
    return not device["deleted"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(devices=_devices, filters=_filters, limit=st.integers(min_value=1, max_value=3))
def test_following_next_cursor_lists_every_matching_device_once_in_id_order(
    dynamodb: Any, devices: list[dict[str, Any]], filters: dict[str, str], limit: int
) -> None:
    name = f"devices-fleet-{next(_tables)}"
    client = boto3.client("dynamodb")
    client.create_table(**table.create_table_request(name))
    service = DeviceService(DeviceStore(client, name), sleep=lambda _: None)
    ids = {}
    for n, device in enumerate(devices):
        attributes = {k: v for k, v in device.items() if k not in ("status", "deleted")}
        registered = service.register(
            DeviceAttributes.model_validate({**attributes, "mac_address": f"02:00:00:00:00:{n:02x}"}), "t"
        )
        ids[registered.id] = device
        if device["status"] != "unknown":
            service.set_status(registered.id, StatusUpdate(status=device["status"]), expected=None, principal="t")
        if device["deleted"]:
            service.delete(registered.id, expected=None, principal="t")

    listed: list[str] = []
    cursor = None
    for _ in range(len(devices) * 5 + 2):  # a bound: every page moves on by at least one entry
        items, cursor = service.list_devices(limit=limit, cursor=cursor, filters=FleetFilter(**filters))
        assert len(items) <= limit
        listed.extend(item.id for item in items)
        if cursor is None:
            break
    assert cursor is None, "next_cursor never ended"
    assert listed == sorted(device_id for device_id, device in ids.items() if _expected(device, filters))
    client.delete_table(TableName=name)
