"""Schema migrations on a table written by today's code (the shape before the migration):
readers tolerate its items before the run, the run rewrites exactly the items that need it,
an interrupted run resumes where the ledger says, a second run rewrites nothing, and a writer's
change made under the migration is neither lost nor overwritten.

The migrations here are the kind the next features bring (a ``labels`` attribute on every device,
derived from what the item holds). The catalog's own (holder intervals) has its test in
test_holders_migration.py; here, a hypothetical one registered after it is ``LABELS_AFTER``."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from local.dynamodb import EmbeddedDynamoDB, create_tables, migrate
from registry.storage import keys as table
from registry.storage.migrations import MIGRATIONS, Migration
from registry.storage.migrations.__main__ import main as migrate_command
from registry.storage.migrations.dynamodb import MigrationTable
from registry.storage.migrations.ledger import State
from registry.storage.migrations.migration import upgrade
from registry.storage.migrations.runner import MigrationError, Report, Runner, RunOptions, Status
from tests.support import IDEMPOTENCY_TABLE_NAME, TABLE_NAME, python_path

PAGE_SIZE = 5
DEVICES = 12

LABELS = Migration(
    1,
    "device_labels",
    applies_to=lambda item: item[table.SK] == table.STATE_SK and "labels" not in item,
    transform=lambda item: {**item, "labels": [f"type:{item['device_type']}"]},
)
TAG_COUNT = Migration(
    2,
    "label_count",
    applies_to=lambda item: item[table.SK] == table.STATE_SK and "label_count" not in item,
    transform=lambda item: {**item, "label_count": len(item["labels"])},
)
# LABELS as the next migration after the registered catalog.
LABELS_AFTER = dataclasses.replace(LABELS, number=len(MIGRATIONS) + 1)
CLAIM_KIND = Migration(
    1,
    "claim_kind",
    applies_to=lambda item: item[table.SK] == table.CLAIM_SK and "kind" not in item,
    transform=lambda item: {**item, "kind": "mac"},
)

Items = Callable[[], list[dict[str, Any]]]


class Crash(Exception):
    """The migration's process dies (killed, out of time, a network failure)."""


@pytest.fixture
def fleet(make_device: Callable[..., dict[str, Any]], invoke: Any) -> list[dict[str, Any]]:
    """Devices registered through the handlers of today's code, a third with a status change."""
    devices = [make_device(device_type=("sensor", "gateway", "camera")[n % 3]) for n in range(DEVICES)]
    for device in devices[::3]:
        response = invoke("put_status", f"/devices/{device['id']}/status", body={"status": "maintenance"})
        assert response["statusCode"] == 200, response
    return devices


@pytest.fixture
def client(dynamodb: Any) -> Any:
    """The migration's own client: its calls are counted, and faults injected, apart from the API's."""
    return boto3.client("dynamodb")


@pytest.fixture
def calls(client: Any) -> list[tuple[str, dict[str, Any], bool]]:
    """(operation, parameters, succeeded) of every call the migration's client makes."""
    made: list[tuple[str, dict[str, Any], bool]] = []
    pending: list[tuple[str, dict[str, Any]]] = []

    def before(params: dict[str, Any], model: Any, **_: Any) -> None:
        pending.append((model.name, dict(params)))

    def after(http_response: Any, model: Any, **_: Any) -> None:
        name, params = pending.pop()
        made.append((name, params, http_response.status_code == 200))

    client.meta.events.register("before-parameter-build.dynamodb", before)
    client.meta.events.register("after-call.dynamodb", after)
    return made


def _count(calls: list[tuple[str, dict[str, Any], bool]], operation: str, *, succeeded: bool | None = None) -> int:
    return sum(1 for name, _, ok in calls if name == operation and (succeeded is None or ok == succeeded))


@pytest.fixture
def run(client: Any) -> Callable[..., Report]:
    def run_migrations(migrations: list[Migration], **runner: Any) -> Report:
        options = runner.pop("options", RunOptions(page_size=PAGE_SIZE))
        runner.setdefault("sleep", lambda seconds: None)
        return Runner(MigrationTable(client, TABLE_NAME), **runner).run(migrations, options)

    return run_migrations


def _states(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [item for item in items if item[table.SK] == table.STATE_SK]


def _without_ledger(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [item for item in items if item[table.PK] != table.MIGRATIONS_PK]


def _ledger(client: Any, number: int = 1) -> Any:
    return MigrationTable(client, TABLE_NAME).ledger(number)


def _crash_on(client: Any, operation: str, call_number: int) -> None:
    seen = Counter[str]()

    def crash(**_: Any) -> None:
        seen[operation] += 1
        if seen[operation] == call_number:
            raise Crash(f"{operation} #{call_number}")

    client.meta.events.register(f"before-call.dynamodb.{operation}", crash)


def test_items_written_before_the_migration_read_as_migrated_and_the_run_rewrites_only_them(
    fleet: list[dict[str, Any]], table_items: Items, run: Callable[..., Report], invoke: Any, client: Any
) -> None:
    before = table_items()
    assert len(_states(before)) == DEVICES and not any("labels" in item for item in before)  # the old shape
    for state in _states(before):  # a reader that calls upgrade() sees the new shape already
        assert upgrade(state, [LABELS]) == {**state, "labels": [f"type:{state['device_type']}"]}

    report = run([LABELS])

    after = _without_ledger(table_items())
    assert [{k: v for k, v in item.items() if k != "labels"} for item in after] == before
    assert all(item["labels"] == [f"type:{item['device_type']}"] for item in _states(after))
    assert not any("labels" in item for item in after if item[table.SK] != table.STATE_SK)
    assert all(upgrade(item, [LABELS]) is item for item in after)  # nothing left for readers to do
    (outcome,) = report.outcomes
    assert report.complete and outcome.status is Status.DONE and outcome.rewritten == DEVICES
    ledger = _ledger(client)
    assert (ledger.state, ledger.updated, ledger.scanned, ledger.runs) == (State.DONE, DEVICES, len(before) + 1, 1)
    assert ledger.finished_at is not None and ledger.resume_from is None
    for device in fleet:  # today's API still serves the migrated items
        assert invoke("get_device", f"/devices/{device['id']}")["statusCode"] == 200
        assert invoke("list_history", f"/devices/{device['id']}/history")["statusCode"] == 200
    assert len(invoke("list_devices", query="limit=100")["json"]["items"]) == DEVICES


@pytest.mark.parametrize(
    ("operation", "call_number", "pages_recorded"),
    [
        pytest.param("Scan", 3, 2, id="scan-of-page-3-fails"),
        # Page 2 was rewritten but the ledger never heard of it: the resume reads it again.
        pytest.param("PutItem", 3, 1, id="ledger-write-after-page-2-fails"),
    ],
)
def test_an_interrupted_run_resumes_from_the_last_page_recorded_and_rewrites_each_item_once(
    fleet: list[dict[str, Any]],
    table_items: Items,
    run: Callable[..., Report],
    client: Any,
    calls: list[tuple[str, dict[str, Any], bool]],
    operation: str,
    call_number: int,
    pages_recorded: int,
) -> None:
    _crash_on(client, operation, call_number)
    with pytest.raises(Crash):
        run([LABELS])

    interrupted = _ledger(client)
    assert (interrupted.state, interrupted.pages) == (State.RUNNING, pages_recorded)
    assert interrupted.resume_from is not None
    halfway = _states(table_items())
    assert 0 < sum("labels" in state for state in halfway) < DEVICES
    assert all("labels" in upgrade(state, [LABELS]) for state in halfway)  # readers tolerate the mix
    calls_before_resume = len(calls)

    report = run([LABELS])

    assert report.complete
    first_scan_of_resume = next(params for name, params, _ in calls[calls_before_resume:] if name == "Scan")
    assert first_scan_of_resume["ExclusiveStartKey"] == {
        name: {"S": value} for name, value in interrupted.resume_from.items()
    }
    assert _count(calls, "UpdateItem", succeeded=True) == DEVICES  # each device rewritten exactly once
    assert all("labels" in state for state in _states(table_items()))
    ledger = _ledger(client)
    assert (ledger.state, ledger.runs, ledger.updated <= DEVICES) == (State.DONE, 2, True)


def test_a_finished_migration_is_skipped_and_running_its_transform_again_rewrites_nothing(
    fleet: list[dict[str, Any]],
    table_items: Items,
    run: Callable[..., Report],
    client: Any,
    calls: list[tuple[str, dict[str, Any], bool]],
) -> None:
    run([LABELS])
    migrated = table_items()
    calls.clear()

    again = run([LABELS])

    assert [outcome.status for outcome in again.outcomes] == [Status.ALREADY_DONE]
    assert [name for name, _, _ in calls] == ["GetItem"]  # the ledger, nothing else
    client.delete_item(TableName=TABLE_NAME, Key={k: {"S": v} for k, v in table.migration_key(1).items()})
    calls.clear()

    forgotten = run([LABELS])  # as if the ledger were lost: every item is read, none rewritten

    (outcome,) = forgotten.outcomes
    assert outcome.status is Status.DONE and outcome.rewritten == 0 and outcome.scanned > 0
    assert _count(calls, "UpdateItem") == 0
    assert _without_ledger(table_items()) == _without_ledger(migrated)


def test_a_change_a_writer_makes_under_the_migration_is_kept_and_the_item_decided_again(
    fleet: list[dict[str, Any]],
    table_items: Items,
    run: Callable[..., Report],
    client: Any,
    calls: list[tuple[str, dict[str, Any], bool]],
    invoke: Any,
) -> None:
    target = fleet[0]
    assert target["device_type"] == "sensor"
    before = next(item for item in _states(table_items()) if item["id"] == target["id"])
    target_pk = before[table.PK]
    changed: list[int] = []

    def writer_gets_there_first(params: dict[str, Any], **_: Any) -> None:
        if params["Key"][table.PK] == {"S": target_pk} and not changed:
            response = invoke(
                "update_device",
                f"/devices/{target['id']}",
                body={"device_type": "gateway"},
                headers={"Content-Type": "application/merge-patch+json"},
            )
            changed.append(response["statusCode"])

    client.meta.events.register("before-parameter-build.dynamodb.UpdateItem", writer_gets_there_first)

    run([LABELS])

    assert changed == [200]
    state = next(item for item in _states(table_items()) if item["id"] == target["id"])
    assert (state["device_type"], state["labels"]) == ("gateway", ["type:gateway"])
    assert state["revision"] == before["revision"] + 1  # the writer's change is there
    target_updates = [
        ok for name, params, ok in calls if name == "UpdateItem" and params["Key"][table.PK] == {"S": target_pk}
    ]
    assert target_updates == [False, True]  # refused on the stale image, then done on the new one


def test_an_item_deleted_under_the_migration_is_not_recreated(
    fleet: list[dict[str, Any]], table_items: Items, run: Callable[..., Report], client: Any, invoke: Any
) -> None:
    deleted: list[int] = []

    def device_deleted_first(params: dict[str, Any], **_: Any) -> None:
        if params["Key"][table.SK] == {"S": table.CLAIM_SK} and not deleted:
            holder = next(c for c in table_items() if c[table.PK] == params["Key"][table.PK]["S"])["device_id"]
            deleted.append(invoke("delete_device", f"/devices/{holder}")["statusCode"])

    client.meta.events.register("before-parameter-build.dynamodb.UpdateItem", device_deleted_first)

    report = run([CLAIM_KIND])

    assert deleted == [204] and report.complete
    claims = [item for item in table_items() if item[table.SK] == table.CLAIM_SK]
    assert len(claims) == DEVICES - 1 and all(claim["kind"] == "mac" for claim in claims)
    assert all(set(claim) == {table.PK, table.SK, "device_id", "mac_address", "kind"} for claim in claims)
    assert report.outcomes[0].rewritten == DEVICES - 1


def test_a_dry_run_counts_what_would_be_rewritten_through_the_pending_migrations_and_writes_nothing(
    fleet: list[dict[str, Any]],
    table_items: Items,
    run: Callable[..., Report],
    client: Any,
    calls: list[tuple[str, dict[str, Any], bool]],
) -> None:
    before = table_items()

    report = run([LABELS, TAG_COUNT], options=RunOptions(page_size=PAGE_SIZE, dry_run=True))

    assert [(o.status, o.rewritten) for o in report.outcomes] == [(Status.WOULD_REWRITE, DEVICES)] * 2
    assert {name for name, _, _ in calls} == {"GetItem", "Scan"}
    assert table_items() == before and _ledger(client) is None


def test_a_run_told_to_stop_stops_between_pages_and_the_next_run_finishes_in_number_order(
    fleet: list[dict[str, Any]], table_items: Items, run: Callable[..., Report], client: Any
) -> None:
    pages: list[int] = []

    first = run([LABELS, TAG_COUNT], should_stop=lambda: len(pages) >= 2, progress=lambda entry: pages.append(1))

    assert [o.status for o in first.outcomes] == [Status.STOPPED, Status.NOT_STARTED] and not first.complete
    assert _ledger(client).pages == 2 and _ledger(client, 2) is None

    second = run([LABELS, TAG_COUNT])

    assert [o.status for o in second.outcomes] == [Status.DONE, Status.DONE] and second.complete
    assert all(state["label_count"] == 1 for state in _states(table_items()))


def test_a_run_that_finds_another_run_finished_the_migration_stops_and_never_reopens_it(
    fleet: list[dict[str, Any]], run: Callable[..., Report], client: Any
) -> None:
    others: list[Report] = []

    def another_run_finishes_it(entry: Any) -> None:
        if not others:
            others.append(run([LABELS]))

    slow = run([LABELS], progress=another_run_finishes_it)

    assert others[0].outcomes[0].status is Status.DONE
    assert slow.outcomes[0].status is Status.ALREADY_DONE
    ledger = _ledger(client)
    assert ledger.state is State.DONE and ledger == others[0].outcomes[0].ledger


def test_the_scan_reads_pages_of_the_page_size_at_the_rate(
    fleet: list[dict[str, Any]], run: Callable[..., Report], calls: list[tuple[str, dict[str, Any], bool]]
) -> None:
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    report = run([LABELS], options=RunOptions(page_size=4, rate=8), monotonic=lambda: now[0], sleep=sleep)

    scans = [params for name, params, _ in calls if name == "Scan"]
    assert {params["Limit"] for params in scans} == {4} and all(params["ConsistentRead"] for params in scans)
    scanned = report.outcomes[0].scanned
    assert (scanned - 4) / 8 <= now[0] <= scanned / 8  # every page but the last waited its share


def test_a_transform_that_would_move_an_item_is_refused_before_anything_is_written(
    fleet: list[dict[str, Any]], run: Callable[..., Report], calls: list[tuple[str, dict[str, Any], bool]]
) -> None:
    moving = Migration(1, "moving", LABELS.applies_to, lambda item: {**item, table.SK: "ELSEWHERE"})

    with pytest.raises(MigrationError, match="changes the key"):
        run([moving])

    assert _count(calls, "UpdateItem") == 0


def test_the_command_lists_the_ledger_and_runs_what_is_registered(
    fleet: list[dict[str, Any]], run: Callable[..., Report], capsys: pytest.CaptureFixture[str]
) -> None:
    run([*MIGRATIONS, LABELS_AFTER])

    assert migrate_command(["--table", TABLE_NAME, "--list"]) == 0
    listed = capsys.readouterr().out
    assert "0001_address_holders: done: " in listed
    assert f"{LABELS_AFTER.label} (no longer registered): done: " in listed
    assert migrate_command(["--table", TABLE_NAME]) == 0  # the catalog: nothing pending any more
    assert capsys.readouterr().out == "".join(f"{migration.label}: already done\n" for migration in MIGRATIONS)


def test_the_local_server_migrates_its_data_at_start_and_the_command_reaches_it_from_another_process(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from registry.devices.service import DeviceService
    from registry.schemas import DeviceAttributes
    from registry.storage.devices import DeviceStore

    server = EmbeddedDynamoDB().start()
    try:
        create_tables(server.endpoint, TABLE_NAME, IDEMPOTENCY_TABLE_NAME)
        endpoint_client = boto3.client("dynamodb", endpoint_url=server.endpoint)
        service = DeviceService(DeviceStore(endpoint_client, TABLE_NAME))
        service.register(DeviceAttributes(name="Old", device_type="sensor", mac_address="02:00:00:00:0a:01"), "t")

        migrate(server.endpoint, TABLE_NAME, [*MIGRATIONS, LABELS_AFTER])

        # The registered migrations find nothing to rewrite: the device was written by today's code.
        assert capsys.readouterr().out == (
            "".join(f"Migration {migration.label}: done (0 items rewritten)\n" for migration in MIGRATIONS)
            + f"Migration {LABELS_AFTER.label}: done (1 items rewritten)\n"
        )
        command = [
            sys.executable,
            "-m",
            "registry.storage.migrations",
            "--endpoint",
            server.endpoint,
            "--table",
            TABLE_NAME,
        ]
        env = {**os.environ, "PYTHONPATH": python_path()}
        listed = subprocess.run([*command, "--list"], capture_output=True, text=True, env=env, timeout=60)
        assert listed.returncode == 0, listed.stderr
        # The device's state, its first history entry, its MAC claim, its MAC holder interval, its
        # sign-of-life item (SEEN, liveness pending), and the ledger items of the registered migrations
        # and of this one.
        read = 5 + len(MIGRATIONS) + 1
        assert f"{LABELS_AFTER.label} (no longer registered): done: {read} items read, 1 rewritten" in listed.stdout
    finally:
        server.stop()


def test_the_command_says_so_when_it_cannot_read_the_table_and_runs_nothing(
    dynamodb: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    assert migrate_command(["--table", "no-such-table"]) == 1

    output = capsys.readouterr()
    assert output.err.startswith("Cannot read table no-such-table at the default endpoint: ")
    assert output.out == ""
