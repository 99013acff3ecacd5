"""Migration 1 (address holders) on a table written by the code before holder intervals: every
device's intervals are derived from its history, equal to what today's writes would have stored,
and the holders routes answer for old devices as for new ones. The previous shape is made by
writing through today's code and taking away what only today's code writes (the holder items,
the device item's ``*_since`` attributes)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from registry.domain.liveness import LivenessRules
from registry.storage import keys as table
from registry.storage.migrations.catalog import MIGRATIONS
from registry.storage.migrations.dynamodb import MigrationTable
from registry.storage.migrations.m0001_address_holders import MIGRATION
from registry.storage.migrations.migration import Derivation
from registry.storage.migrations.runner import Runner, RunOptions, Status
from tests.support import TABLE_NAME

_SINCE = ("mac_since", "mac_since_revision", "ip_since", "ip_since_revision")
_HOLDER = tuple(table.HOLDER_PREFIXES.values())


def _is_holder(item: dict[str, Any]) -> bool:
    return str(item[table.PK]).startswith(_HOLDER)


def _key(item: dict[str, Any]) -> dict[str, Any]:
    return {name: {"S": item[name]} for name in (table.PK, table.SK)}


def to_previous_shape(dynamodb: Any, items: list[dict[str, Any]]) -> None:
    for item in items:
        if _is_holder(item):
            dynamodb.delete_item(TableName=TABLE_NAME, Key=_key(item))
        elif item[table.SK] == table.STATE_SK and str(item[table.PK]).startswith(table.DEVICE_PREFIX):
            dynamodb.update_item(TableName=TABLE_NAME, Key=_key(item), UpdateExpression=f"REMOVE {', '.join(_SINCE)}")


def run_migration(**options: Any) -> Any:
    runner = Runner(MigrationTable(boto3.client("dynamodb"), TABLE_NAME), sleep=lambda _: None)
    return runner.run([MIGRATION], RunOptions(page_size=options.get("page_size", 7)))


@pytest.fixture
def history_of_moves(invoke: Any) -> list[str]:
    """Devices that took, moved, freed and took again MAC and IP addresses, through the handlers."""

    def create(name: str, mac: str, ip: str | None = None) -> str:
        body = {"name": name, "device_type": "sensor", "mac_address": mac, "ip_address": ip}
        response = invoke("create_device", body=body)
        assert response["statusCode"] == 201, response
        return str(response["json"]["id"])

    def call(handler: str, path: str, body: Any = None) -> None:
        response = invoke(handler, path, body=body)
        assert response["statusCode"] in (200, 204), response

    a = create("A", "02:00:07:00:00:01", "10.0.0.1")
    b = create("B", "02:00:07:00:00:02", "10.0.0.1")  # an IP held by two devices at once
    c = create("C", "02:00:07:00:00:03")
    call("put_status", f"/devices/{a}/status", {"status": "online"})
    call("update_device", f"/devices/{a}", {"mac_address": "02:00:07:00:00:09", "ip_address": "2001:db8::7"})
    call("update_device", f"/devices/{a}", {"location": "Roof"})
    call("delete_device", f"/devices/{b}")
    call("update_device", f"/devices/{c}", {"mac_address": "02:00:07:00:00:02", "ip_address": "10.0.0.1"})
    call("revert_device", f"/devices/{a}/revert", {"to_revision": 1})
    call("delete_device", f"/devices/{c}")
    call("restore_device", f"/devices/{b}/restore", {})
    return [a, b, c]


def test_the_migration_is_registered() -> None:
    assert MIGRATION in MIGRATIONS


def test_the_migration_derives_exactly_the_intervals_todays_writes_store(
    dynamodb: Any, history_of_moves: list[str], table_items: Any, invoke: Any
) -> None:
    written = table_items()
    assert sum(map(_is_holder, written)) >= 10
    to_previous_shape(dynamodb, written)
    old = table_items()
    assert not any(map(_is_holder, old)) and not any(name in item for item in old for name in _SINCE)
    empty = invoke("list_mac_holders", "/mac-addresses/02:00:07:00:00:01/holders")["json"]
    assert empty == {"items": [], "next_cursor": None}  # what an old table answers before the run

    report = run_migration()

    (outcome,) = report.outcomes
    assert report.complete and outcome.status is Status.DONE
    migrated = [item for item in table_items() if item[table.PK] != table.MIGRATIONS_PK]
    assert migrated == written  # holder items and the device items' *_since: as if written live
    page = invoke("list_ip_holders", "/ip-addresses/10.0.0.1/holders")["json"]
    # A and B from registration (closed by A's PATCH and B's delete), C (closed by its delete),
    # A again (its revert to revision 1), B again (restored): 5, two of them open.
    assert len(page["items"]) == 5 and sum(item["until"] is None for item in page["items"]) == 2

    again = run_migration()  # a second run: the ledger says done
    assert again.outcomes[0].status is Status.ALREADY_DONE
    assert [item for item in table_items() if item[table.PK] != table.MIGRATIONS_PK] == written


def test_a_rerun_after_an_interruption_and_writes_before_the_run_never_reopen_an_interval(
    dynamodb: Any, history_of_moves: list[str], table_items: Any, invoke: Any
) -> None:
    a = history_of_moves[0]
    to_previous_shape(dynamodb, table_items())
    # A write on an old device before the migration runs: its new interval is written, the old
    # one (whose start the item does not know) is left to the migration.
    assert invoke("update_device", f"/devices/{a}", body={"mac_address": "02:00:07:00:00:0a"})["statusCode"] == 200
    assert invoke("update_device", f"/devices/{a}", body={"mac_address": "02:00:07:00:00:0b"})["statusCode"] == 200
    # The derive step runs twice over the device (a resumed page), then the whole migration.
    store = MigrationTable(boto3.client("dynamodb"), TABLE_NAME)
    state = store.read(table.device_key(a))
    assert state is not None
    for _ in range(2):
        derivation = Derivation(history=store.history, now="2026-12-07T12:00:00.000Z", liveness=LivenessRules())
        derived, _new = MIGRATION.derive(state, derivation)  # type: ignore[misc]
        for item in derived:
            store.put_derived(item)
    assert run_migration(page_size=3).complete

    def spans(mac: str) -> list[tuple[str, bool]]:
        items = invoke("list_mac_holders", f"/mac-addresses/{mac}/holders")["json"]["items"]
        return [(item["device_id"], item["until"] is None) for item in items]

    assert spans("02:00:07:00:00:0a") == [(a, False)]
    assert spans("02:00:07:00:00:0b") == [(a, True)]
    assert spans("02:00:07:00:00:01")[0] == (a, False)
    # The device item knows its open interval, so the next move closes it in its transaction.
    assert invoke("update_device", f"/devices/{a}", body={"mac_address": "02:00:07:00:00:0c"})["statusCode"] == 200
    assert spans("02:00:07:00:00:0b") == [(a, False)]
    assert spans("02:00:07:00:00:0c") == [(a, True)]


def test_a_dry_run_counts_every_device_and_writes_nothing(
    dynamodb: Any, history_of_moves: list[str], table_items: Any
) -> None:
    to_previous_shape(dynamodb, table_items())
    before = table_items()
    runner = Runner(MigrationTable(boto3.client("dynamodb"), TABLE_NAME), sleep=lambda _: None)
    (outcome,) = runner.run([MIGRATION], RunOptions(page_size=7, dry_run=True)).outcomes
    assert outcome.status is Status.WOULD_REWRITE and outcome.rewritten == len(history_of_moves)
    assert table_items() == before
