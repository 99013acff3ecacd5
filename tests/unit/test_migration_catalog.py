"""The pure parts of schema migrations, without DynamoDB: numbering, the in-memory upgrade
readers apply, the ledger's transitions, the pace and the migration function's event."""

from __future__ import annotations

import pkgutil

import pytest

from handlers.migrate import options
from registry.storage import keys as table
from registry.storage import migrations
from registry.storage.migrations import MIGRATIONS, Migration, upgraded
from registry.storage.migrations.ledger import LedgerEntry, State
from registry.storage.migrations.migration import CatalogError, check_catalog, upgrade
from registry.storage.migrations.runner import DEFAULT_RATE, RunOptions, _Pace

STATE = {**table.device_key("1"), "id": "1", "device_type": "sensor"}
HISTORY = {**table.revision_key("1", 1), "revision": 1}

TAGS = Migration(
    1,
    "device_tags",
    applies_to=lambda item: item[table.SK] == table.STATE_SK and "tags" not in item,
    transform=lambda item: {**item, "tags": [item["device_type"]]},
)
TAG_COUNT = Migration(
    2,
    "tag_count",
    applies_to=lambda item: item[table.SK] == table.STATE_SK and "tag_count" not in item,
    transform=lambda item: {**item, "tag_count": len(item["tags"])},
)


def test_the_registered_catalog_is_numbered_1_2_3_in_order() -> None:
    check_catalog(MIGRATIONS)


def test_every_migration_module_of_the_package_is_registered() -> None:
    modules = {info.name for info in pkgutil.iter_modules(migrations.__path__) if info.name.startswith("m0")}
    registered = {migration.label for migration in MIGRATIONS}

    assert {f"m{label}" for label in registered} == modules


@pytest.mark.parametrize(
    ("numbers", "names"),
    [
        pytest.param([2], ["a"], id="not-from-1"),
        pytest.param([1, 3], ["a", "b"], id="gap"),
        pytest.param([2, 1], ["a", "b"], id="out-of-order"),
        pytest.param([1, 1], ["a", "b"], id="duplicate-number"),
        pytest.param([1, 2], ["a", "a"], id="duplicate-name"),
    ],
)
def test_a_catalog_that_could_skip_or_reorder_a_migration_is_refused(numbers: list[int], names: list[str]) -> None:
    catalog = [Migration(n, name, TAGS.applies_to, TAGS.transform) for n, name in zip(numbers, names, strict=True)]

    with pytest.raises(CatalogError):
        check_catalog(catalog)


@pytest.mark.parametrize(("number", "name"), [(0, "zero"), (1, "Not Snake"), (1, "")])
def test_a_migration_needs_a_positive_number_and_a_snake_case_name(number: int, name: str) -> None:
    with pytest.raises(CatalogError):
        Migration(number, name, TAGS.applies_to, TAGS.transform)


def test_a_reader_sees_an_item_from_before_the_migrations_as_they_will_leave_it() -> None:
    assert upgrade(STATE, [TAGS, TAG_COUNT]) == {**STATE, "tags": ["sensor"], "tag_count": 1}


def test_an_item_no_migration_applies_to_is_returned_as_is_without_a_copy() -> None:
    migrated = {**STATE, "tags": ["gateway", "roof"], "tag_count": 2}

    assert upgrade(migrated, [TAGS, TAG_COUNT]) is migrated
    assert upgrade(HISTORY, [TAGS, TAG_COUNT]) is HISTORY


def test_upgraded_applies_the_registered_catalog() -> None:
    assert upgraded(STATE) == upgrade(STATE, MIGRATIONS)
    assert upgraded(HISTORY) is HISTORY


def test_the_ledger_records_pages_then_done_and_forgets_where_to_resume() -> None:
    entry = LedgerEntry.start(TAGS, "2026-11-28T10:00:00Z")
    entry = entry.after_page(scanned=100, updated=40, last_key=table.device_key("9"))
    entry = entry.resumed().after_page(scanned=7, updated=2, last_key=None)

    assert (entry.state, entry.pages, entry.scanned, entry.updated, entry.runs) == (State.RUNNING, 2, 107, 42, 2)
    done = entry.finished("2026-11-28T10:05:00Z")
    assert done.done and done.finished_at == "2026-11-28T10:05:00Z" and done.resume_from is None


def test_the_pace_keeps_the_average_at_the_rate_whatever_the_page_sizes() -> None:
    now = [0.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    pace = _Pace(rate=50, monotonic=lambda: now[0], sleep=sleep)
    for items in (100, 20, 80):
        now[0] += 0.5  # the page's own work
        pace.spent(items)

    assert now[0] == pytest.approx(200 / 50)
    assert sleeps == pytest.approx([1.5, 1.0])  # the second page came after its share of time


def test_a_pace_already_behind_the_rate_does_not_sleep() -> None:
    sleeps: list[float] = []
    pace = _Pace(rate=50, monotonic=iter([0.0, 10.0]).__next__, sleep=sleeps.append)

    pace.spent(100)

    assert sleeps == []


def test_the_migration_function_runs_for_real_with_the_defaults_on_an_empty_event() -> None:
    assert options({}) == RunOptions(rate=DEFAULT_RATE, dry_run=False)
    assert options({"dry_run": True, "rate": 20, "page_size": 10}) == RunOptions(rate=20, page_size=10, dry_run=True)


@pytest.mark.parametrize("event", [{"dryrun": True}, {"dry_run": "yes"}, {"rate": 0}, {"page_size": -1}])
def test_the_migration_function_refuses_an_event_it_could_misread(event: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        options(event)
