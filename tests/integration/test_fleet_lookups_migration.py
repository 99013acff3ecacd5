"""Migration 2 (fleet lookups) on a table written by the code before fleet queries: the devices
it registered are found by every new filter once the migration has run, and read with no tags
before and after. The previous shape is made by writing through today's code and taking away
what only today's code writes (``tags`` and the lookup index keys of the device's item)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import boto3

from registry.storage import keys as table
from registry.storage.migrations.catalog import MIGRATIONS
from registry.storage.migrations.dynamodb import MigrationTable
from registry.storage.migrations.m0002_fleet_lookups import MIGRATION
from registry.storage.migrations.runner import Runner, RunOptions
from tests.support import TABLE_NAME

_NEW_ATTRIBUTES = ("tags", *table.LOOKUP_INDEXES)


def to_previous_shape(dynamodb: Any, items: list[dict[str, Any]]) -> None:
    for item in items:
        if item[table.SK] == table.STATE_SK and str(item[table.PK]).startswith(table.DEVICE_PREFIX):
            key = {name: {"S": item[name]} for name in (table.PK, table.SK)}
            present = [name for name in _NEW_ATTRIBUTES if name in item]
            dynamodb.update_item(TableName=TABLE_NAME, Key=key, UpdateExpression=f"REMOVE {', '.join(present)}")


def _listed(invoke: Any, **filters: str) -> list[str]:
    response = invoke("list_devices", query=urlencode(filters))
    assert response["statusCode"] == 200, response
    return [item["id"] for item in response["json"]["items"]]


def test_the_migration_is_registered_after_the_holders_one() -> None:
    assert MIGRATIONS.index(MIGRATION) == 1


def test_devices_written_before_are_found_by_every_filter_once_migrated(
    dynamodb: Any, make_device: Any, invoke: Any, table_items: Any
) -> None:
    old = make_device(
        name="gw-berlin-7", firmware_version="2.0", location="Berlin", serial_number="SN-7", ip_address="10.0.0.7"
    )
    gone = make_device(name="gw-berlin-8", firmware_version="2.0")
    assert invoke("delete_device", f"/devices/{gone['id']}")["statusCode"] == 204
    to_previous_shape(dynamodb, table_items())
    filters = {
        "firmware_version": "2.0",
        "location": "Berlin",
        "serial_number": "SN-7",
        "ip_address": "10.0.0.7",
        "name_prefix": "gw-berlin-7",
    }
    assert all(_listed(invoke, **{name: value}) == [] for name, value in filters.items())  # the old shape
    assert invoke("get_device", f"/devices/{old['id']}")["json"]["tags"] == []  # read as migrated

    report = Runner(MigrationTable(boto3.client("dynamodb"), TABLE_NAME), sleep=lambda _: None).run(
        list(MIGRATIONS), RunOptions(page_size=3)
    )

    assert report.outcomes[1].rewritten == 2  # the live device and the tombstone
    for name, value in filters.items():
        assert _listed(invoke, **{name: value}) == [old["id"]], name
    assert _listed(invoke, **{**filters, "name_prefix": "gw"}) == [old["id"]]  # all at once
    states = {item["id"]: item for item in table_items() if item[table.SK] == table.STATE_SK and "id" in item}
    assert states[gone["id"]]["tags"] == [] and not set(table.LOOKUP_INDEXES) & set(states[gone["id"]])
    # What the migration wrote is what today's code writes for the same device.
    today = make_device(
        name="gw-berlin-7", firmware_version="2.0", location="Berlin", serial_number="SN-7", ip_address="10.0.0.8"
    )
    written = table_items()
    state_of = {item.get("id"): item for item in written if item[table.SK] == table.STATE_SK}
    lookups = {name for name in table.LOOKUP_INDEXES if name in state_of[old["id"]]}
    assert lookups == {name for name in table.LOOKUP_INDEXES if name in state_of[today["id"]]}
