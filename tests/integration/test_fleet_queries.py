"""Fleet queries (contract v2): ``GET /devices`` filtered by firmware, location, serial number,
IP address (any spelling), tag and name prefix, combined with AND with each other and with type,
status and MAC; pages in id order; bad filter values are 422 naming the parameter."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest


def listed(invoke: Any, **filters: Any) -> list[str]:
    """Every id the filters list, following next_cursor (pages of 2) to the end."""
    ids: list[str] = []
    cursor = None
    for _ in range(100):
        query = {**filters, "limit": 2, **({"cursor": cursor} if cursor else {})}
        response = invoke("list_devices", query=urlencode(query))
        assert response["statusCode"] == 200, response
        ids.extend(item["id"] for item in response["json"]["items"])
        cursor = response["json"]["next_cursor"]
        if cursor is None:
            return ids
    raise AssertionError("next_cursor never ended")


@pytest.fixture
def fleet(make_device: Any, invoke: Any) -> dict[str, str]:
    """Six devices, by short name, whose attributes overlap in every filter."""
    specs = {
        "a": {"name": "gw-berlin-1", "firmware_version": "2.0", "location": "Berlin", "tags": ["prod", "edge"]},
        "b": {"name": "gw-berlin-2", "firmware_version": "1.0", "location": "Berlin", "ip_address": "10.0.0.1"},
        "c": {"name": "gw-paris-1", "firmware_version": "2.0", "location": "Paris", "tags": ["prod"]},
        "d": {"name": "sensor-1", "firmware_version": "2.0", "location": "Berlin", "serial_number": "SN-1"},
        "e": {"name": "Gw-upper", "firmware_version": "2.0", "ip_address": "2001:db8::1", "tags": ["Prod"]},
        "f": {"name": "g", "device_type": "gateway", "firmware_version": "2.0", "location": "Berlin"},
    }
    ids = {short: make_device(**spec)["id"] for short, spec in specs.items()}
    invoke("put_status", f"/devices/{ids['a']}/status", body={"status": "online"})
    return ids


def _ids(fleet: dict[str, str], shorts: str) -> list[str]:
    return sorted(fleet[short] for short in shorts)


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"firmware_version": "2.0"}, "acdef"),
        ({"location": "Berlin"}, "abdf"),
        ({"serial_number": "SN-1"}, "d"),
        ({"ip_address": "10.0.0.1"}, "b"),
        ({"ip_address": "2001:DB8:0:0::1"}, "e"),  # any spelling, compared canonically
        ({"tag": "prod"}, "ace"),
        ({"tag": "PROD"}, "ace"),  # tags are lowercase
        ({"name_prefix": "g"}, "abcf"),  # an indexed length (1), case-sensitive
        ({"name_prefix": "gw"}, "abc"),  # 2
        ({"name_prefix": "gw-berlin-"}, "ab"),  # 10: served by the 8-character index, the rest compared
        ({"name_prefix": "gw-b"}, "ab"),  # 4
        ({"name_prefix": "x"}, ""),
        ({"firmware_version": "2.0", "location": "Berlin"}, "adf"),
        ({"firmware_version": "2.0", "location": "Berlin", "tag": "prod"}, "a"),
        ({"firmware_version": "2.0", "status": "online"}, "a"),
        ({"firmware_version": "2.0", "status": "unknown"}, "cdef"),
        ({"location": "Berlin", "device_type": "gateway"}, "f"),
        ({"tag": "prod", "name_prefix": "gw-"}, "ac"),
        ({"firmware_version": "2.0", "mac_address": "no-such"}, None),
        ({"firmware_version": "9.9"}, ""),
    ],
)
def test_each_filter_and_combination_lists_exactly_the_matching_devices_in_id_order(
    invoke: Any, fleet: dict[str, str], filters: dict[str, str], expected: str | None
) -> None:
    if expected is None:  # a malformed MAC among them: the whole request is 422
        assert invoke("list_devices", query=urlencode(filters))["statusCode"] == 422
        return
    assert listed(invoke, **filters) == _ids(fleet, expected)


def test_a_filter_with_the_mac_lists_that_device_only_if_the_rest_match(invoke: Any, make_device: Any) -> None:
    device = make_device(mac_address="02:00:00:00:12:34", firmware_version="2.0")
    assert listed(invoke, mac_address="02-00-00-00-12-34", firmware_version="2.0") == [device["id"]]
    assert listed(invoke, mac_address="02-00-00-00-12-34", firmware_version="1.0") == []


def test_lists_follow_changes_deletions_and_restores(invoke: Any, fleet: dict[str, str]) -> None:
    a = fleet["a"]
    changed = invoke("update_device", f"/devices/{a}", body={"firmware_version": "3.0", "tags": ["lab"]})
    assert changed["statusCode"] == 200
    assert listed(invoke, firmware_version="3.0") == [a] and a not in listed(invoke, firmware_version="2.0")
    assert listed(invoke, tag="lab") == [a] and a not in listed(invoke, tag="prod")
    assert invoke("delete_device", f"/devices/{a}")["statusCode"] == 204
    assert listed(invoke, tag="lab") == [] and listed(invoke, firmware_version="3.0") == []
    assert invoke("restore_device", f"/devices/{a}/restore", body={})["statusCode"] == 200
    assert listed(invoke, tag="lab") == [a] and listed(invoke, name_prefix="gw-berlin-1") == [a]


def test_a_status_change_keeps_the_device_in_every_lookup_list(invoke: Any, fleet: dict[str, str]) -> None:
    invoke("put_status", f"/devices/{fleet['c']}/status", body={"status": "maintenance"})
    assert listed(invoke, tag="prod", status="maintenance") == [fleet["c"]]
    assert fleet["c"] in listed(invoke, firmware_version="2.0")


@pytest.mark.parametrize(
    ("parameter", "value"),
    [
        ("ip_address", "10.0.0.256"),
        ("ip_address", "fe80::1%eth0"),
        ("name_prefix", "n" * 129),
        ("name_prefix", ""),
        ("tag", "has space"),
        ("tag", "t" * 65),
        ("firmware_version", "v" * 65),
        ("firmware_version", ""),
        ("location", "l" * 257),
        ("serial_number", "s" * 129),
    ],
)
def test_a_bad_filter_value_is_422_naming_the_parameter(invoke: Any, parameter: str, value: str) -> None:
    response = invoke("list_devices", query=urlencode({parameter: value}))
    assert response["statusCode"] == 422, response
    assert response["headers"]["Content-Type"] == "application/problem+json"
    assert [error["field"] for error in response["json"]["errors"]] == [parameter]


def test_an_unknown_query_parameter_is_ignored(invoke: Any, fleet: dict[str, str]) -> None:
    assert listed(invoke, site="Berlin") == sorted(fleet.values())


def test_a_page_of_several_filters_may_be_short_or_empty_with_a_cursor_and_following_it_finds_all(
    invoke: Any, make_device: Any
) -> None:
    # 30 devices named "Sensor …": the name prefix serves (it ranks above location), and only the
    # last is in Paris. A page of 2 reads at most 5 × 3 index entries.
    devices = [make_device(name=f"Sensor {n}", location="Berlin")["id"] for n in range(29)]
    paris = make_device(name="Sensor 29", location="Paris")["id"]
    first = invoke("list_devices", query="name_prefix=Sensor&location=Paris&limit=2")["json"]
    assert first["items"] == [] and first["next_cursor"] is not None
    assert listed(invoke, name_prefix="Sensor", location="Paris") == [paris]
    assert listed(invoke, name_prefix="Sensor", location="Berlin") == sorted(devices)


def test_a_filter_whose_index_is_not_deployed_yet_is_503_and_the_summary_filters_still_work(dynamodb: Any) -> None:
    """A stack gets its lookup indexes one deployment at a time (docs/deployment.md)."""
    import boto3

    from registry.devices.service import DeviceService
    from registry.domain.errors import ServiceUnavailable
    from registry.domain.fleet import FleetFilter
    from registry.storage import keys as table
    from registry.storage.devices import DeviceStore

    request = table.create_table_request("devices-without-lookups")
    request["GlobalSecondaryIndexes"] = [
        index for index in request["GlobalSecondaryIndexes"] if index["IndexName"] not in table.LOOKUP_INDEXES
    ]
    request["AttributeDefinitions"] = [
        attribute
        for attribute in request["AttributeDefinitions"]
        if attribute["AttributeName"] not in table.LOOKUP_INDEXES
    ]
    client = boto3.client("dynamodb")
    client.create_table(**request)
    service = DeviceService(DeviceStore(client, "devices-without-lookups"), sleep=lambda _: None)
    with pytest.raises(ServiceUnavailable):
        service.list_devices(limit=5, cursor=None, filters=FleetFilter(tag="prod"))
    assert service.list_devices(limit=5, cursor=None, filters=FleetFilter(status="online")) == ([], None)


def test_a_lookup_page_reads_of_each_device_only_its_summary_and_the_compared_fields(fleet, invoke):
    """The devices a lookup page examines are read with a projection (DynamoDB charges the whole
    items; the answer, which the function decodes, is the summary and the filtered fields): the
    page is the same as ever, and no attribute beyond those came back. Apart from them, the page
    reads the signs of life (liveness, last_seen_at) of the devices it answers, and of no other."""
    from registry import wiring
    from registry.storage import keys

    answered: list[dict[str, Any]] = []
    wiring.dynamodb_client().meta.events.register(
        "after-call.dynamodb.BatchGetItem",
        lambda parsed, **_: answered.extend(item for items in parsed["Responses"].values() for item in items),
    )
    assert listed(invoke, firmware_version="2.0", location="Berlin", tag="prod") == _ids(fleet, "a")
    seen = [item for item in answered if item.get(keys.SK, {}).get("S") == keys.SEEN_SK]
    devices = [set(item) for item in answered if item not in seen]
    summary = {"id", "name", "device_type", "mac_address", "status"}
    assert devices and all(
        summary <= names <= summary | {"deleted_at", "firmware_version", "location", "tags"} for names in devices
    )
    assert [item["device_id"]["S"] for item in seen] == _ids(fleet, "a")
