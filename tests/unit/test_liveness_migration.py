"""Migration 3 (liveness_seen) on a table written by the code before liveness: devices registered
then had no sign-of-life item, so the sweep never found them, however long they kept silent. Once
the migration has run, each live device still pending is awaited for one window from the run,
and goes silent if it never reports; what a writer put since the deploy is kept. The previous
shape is made by registering through today's code and taking away what only today's code
writes (the ``SEEN`` item, and ``liveness`` on the device's item)."""

from __future__ import annotations

from typing import Any

import pytest

from registry.devices.service import DeviceService
from registry.devices.sweep import sweep
from registry.domain.liveness import LivenessRules
from registry.schemas import DeviceAttributes, StatusUpdate
from registry.storage import keys
from registry.storage.device_reads import HistoryQuery
from registry.storage.migrations.catalog import MIGRATIONS
from registry.storage.migrations.dynamodb import MigrationTable
from registry.storage.migrations.m0003_liveness_seen import MIGRATION
from registry.storage.migrations.migration import Derivation
from registry.storage.migrations.runner import Runner, RunOptions, Status
from tests.support import TABLE_NAME, DeviceBodies

# Silent 900 s (3 × 300) after the migration for a device that never reports.
RULES = LivenessRules(resolution_s=60, missed_reports=3, default_interval_s=300, min_interval_s=60)


@pytest.fixture
def live(store, clock, sleeps) -> DeviceService:
    return DeviceService(store, clock=clock, sleep=sleeps.append, rules=RULES)


@pytest.fixture
def register(live):
    bodies = DeviceBodies()
    return lambda **fields: live.register(DeviceAttributes.model_validate(bodies(**fields)), "alice")


def report(live: DeviceService, device_id: str) -> Any:
    return live.report(device_id, StatusUpdate(status="online"), expected=None, principal="device:1")


def to_previous_shape(dynamodb: Any, *device_ids: str) -> None:
    for device_id in device_ids:
        dynamodb.delete_item(TableName=TABLE_NAME, Key={k: {"S": v} for k, v in keys.seen_key(device_id).items()})
        state = {k: {"S": v} for k, v in keys.device_key(device_id).items()}
        dynamodb.update_item(TableName=TABLE_NAME, Key=state, UpdateExpression="REMOVE liveness")


def migrate(dynamodb: Any, clock: Any, **options: Any) -> Any:
    runner = Runner(MigrationTable(dynamodb, TABLE_NAME), clock=clock, sleep=lambda _: None, liveness=RULES)
    return runner.run(MIGRATIONS, RunOptions(page_size=3, **options))


def outcome(report: Any) -> Any:
    [found] = [outcome for outcome in report.outcomes if outcome.migration == MIGRATION]
    return found


def test_it_is_the_third_migration() -> None:
    assert MIGRATIONS.index(MIGRATION) == 2


def test_devices_registered_before_liveness_are_awaited_from_the_run_and_go_silent(
    live, register, dynamodb, clock
) -> None:
    quiet, chatty = register(), register()
    to_previous_shape(dynamodb, quiet.id, chatty.id)
    clock.advance(days=30)
    assert sweep(live).due == 0  # the gap: nothing awaits them

    migrated_at = clock()
    assert outcome(migrate(dynamodb, clock)).rewritten == 2
    seen = live.store.get_seen([quiet.id, chatty.id], consistent=True)
    assert {s.liveness for s in seen.values()} == {"pending"}
    assert {s.last_seen_at for s in seen.values()} == {None}
    # One window from the run, not from the registration 30 days ago.
    assert seen[quiet.id].deadline == RULES.pending_deadline(migrated_at, None)

    clock.advance(seconds=899)
    assert sweep(live).due == 0  # still inside the window
    report(live, chatty.id)
    clock.advance(seconds=2)
    result = sweep(live)

    assert (result.due, result.silenced) == (1, 1)
    assert live.status_of(quiet.id)[1].liveness == "silent"
    assert live.status_of(chatty.id)[1].liveness == "reporting"
    [entry] = live.store.query_history(HistoryQuery(quiet.id, "liveness", None, None, True, 100, None)).items
    assert entry.changes == {"liveness": {"old": "pending", "new": "silent"}}


def test_what_writers_put_since_the_deploy_is_kept_and_tombstones_get_nothing(
    live, register, dynamodb, clock, table_items
) -> None:
    reported, silent, pending, gone = register(), register(), register(), register()
    to_previous_shape(dynamodb, reported.id, silent.id, pending.id, gone.id)
    # Since the deploy: one reported, one reported and then went silent, one was deleted.
    report(live, reported.id)
    report(live, silent.id)
    clock.advance(seconds=1000)
    report(live, reported.id)
    assert sweep(live).silenced == 1
    live.delete(gone.id, expected=None, principal="alice")
    before = {s.device_id: s for s in live.store.get_seen([reported.id, silent.id], consistent=True).values()}

    assert outcome(migrate(dynamodb, clock)).rewritten == 1  # only the never-reporting one

    after = live.store.get_seen([reported.id, silent.id, pending.id, gone.id], consistent=True)
    assert after[reported.id] == before[reported.id]
    assert after[silent.id] == before[silent.id]
    assert after[pending.id].deadline == RULES.pending_deadline(clock(), None)
    assert gone.id not in after
    assert not any(item[keys.SK] == keys.SEEN_SK and item[keys.PK] == keys.device_pk(gone.id) for item in table_items())


def test_a_repeated_derive_puts_nothing_over_the_item_it_put(register, dynamodb, clock) -> None:
    old = register()
    to_previous_shape(dynamodb, old.id)
    store = MigrationTable(dynamodb, TABLE_NAME)
    state = store.read(keys.device_key(old.id))
    assert state is not None and MIGRATION.applies_to(state)
    first = Derivation(history=store.history, now=clock(), liveness=RULES)
    later = Derivation(history=store.history, now=clock.advance(hours=1), liveness=RULES)
    assert MIGRATION.derive is not None

    [item], _ = MIGRATION.derive(state, first)
    assert store.put_derived(item, if_absent=True)
    [again], unchanged = MIGRATION.derive(state, later)

    assert unchanged == state  # the device's item is not rewritten
    assert not store.put_derived(again, if_absent=True)
    stored = store.read(keys.seen_key(old.id))
    assert stored is not None and stored["deadline"] == item["deadline"]


def test_a_dry_run_counts_the_pending_devices_and_writes_nothing(register, dynamodb, clock, table_items) -> None:
    old = register()
    to_previous_shape(dynamodb, old.id)
    items = table_items()

    report = migrate(dynamodb, clock, dry_run=True)

    assert (outcome(report).status, outcome(report).rewritten) == (Status.WOULD_REWRITE, 1)
    assert table_items() == items
