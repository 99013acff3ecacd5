"""Runs the pending migrations over the whole table, one after the other, page by page.

* **Numbered**: in number order; a migration starts only once its predecessor is done.
* **Resumable**: after each page the ledger records where the Scan stands, so a run stopped by
  an error, a deadline (Lambda's timeout) or Ctrl-C goes on from the last page it finished.
* **Idempotent**: a done migration is skipped; an item it no longer ``applies_to`` is left alone
  (a page read twice after a resume writes nothing twice); a rewrite is conditional on the item
  being what the migration read, and an item changed meanwhile is read again and decided anew.
* **Rate-limited**: at most ``rate`` items read per second, on average over the run."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from registry.domain.liveness import LivenessRules
from registry.domain.values import now_timestamp
from registry.settings import get_liveness_settings
from registry.storage import keys
from registry.storage.migrations.catalog import MIGRATIONS
from registry.storage.migrations.dynamodb import MigrationTable
from registry.storage.migrations.ledger import LedgerEntry
from registry.storage.migrations.migration import Derivation, Item, Migration, check_catalog, upgrade

# A Scan page; DynamoDB also ends a page at 1 MB. Small enough that a resume repeats little.
DEFAULT_PAGE_SIZE = 100
# Items read per second, on average. A full pass over N items then takes N / rate seconds and
# reads about rate × item size / 4 KB read units a second (strongly consistent), writing one
# request per rewritten item (docs/deployment.md, "Schema migrations").
DEFAULT_RATE = 500.0
# Attempts at one item that writers keep changing under the migration, before the run stops.
MAX_ATTEMPTS = 5


class MigrationError(RuntimeError):
    """A migration cannot go on (a transform that changes an item's key, or an item that
    writers keep changing); the ledger keeps the last page done, for a later run."""


class Status(StrEnum):
    DONE = "done"  # this run finished it
    ALREADY_DONE = "already done"  # the ledger says an earlier run did
    STOPPED = "stopped"  # deadline reached: run again to go on
    NOT_STARTED = "not started"  # an earlier migration did not finish in this run
    WOULD_REWRITE = "would rewrite"  # dry run: counted, nothing written


@dataclass(frozen=True)
class RunOptions:
    rate: float = DEFAULT_RATE
    page_size: int = DEFAULT_PAGE_SIZE
    dry_run: bool = False

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.page_size <= 0:
            raise ValueError("rate and page size must be positive")


@dataclass(frozen=True)
class Outcome:
    migration: Migration
    status: Status
    scanned: int = 0  # items read by this run
    rewritten: int = 0  # items rewritten by this run (dry run: that would be)
    ledger: LedgerEntry | None = None  # as this run left it


@dataclass(frozen=True)
class Report:
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Nothing is left to run (a dry run: nothing was left unread)."""
        finished = {Status.DONE, Status.ALREADY_DONE, Status.WOULD_REWRITE}
        return all(outcome.status in finished for outcome in self.outcomes)

    def as_dict(self) -> dict[str, Any]:
        """As JSON: what the migration function answers."""
        return {
            "complete": self.complete,
            "migrations": [
                {
                    "migration": outcome.migration.label,
                    "status": outcome.status.value,
                    "scanned": outcome.scanned,
                    "rewritten": outcome.rewritten,
                    "ledger": outcome.ledger.as_json() if outcome.ledger else None,
                }
                for outcome in self.outcomes
            ],
        }


class _Pace:
    """At most ``rate`` items a second, on average since the run started."""

    def __init__(self, rate: float, monotonic: Callable[[], float], sleep: Callable[[float], None]) -> None:
        self.rate, self.monotonic, self.sleep = rate, monotonic, sleep
        self.started = monotonic()
        self.items = 0

    def spent(self, items: int) -> None:
        self.items += items
        ahead = self.started + self.items / self.rate - self.monotonic()
        if ahead > 0:
            self.sleep(ahead)


class Runner:
    def __init__(
        self,
        store: MigrationTable,
        *,
        clock: Callable[[], str] = now_timestamp,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        should_stop: Callable[[], bool] = lambda: False,
        progress: Callable[[LedgerEntry], None] = lambda entry: None,
        liveness: LivenessRules | None = None,
    ) -> None:
        self.store = store
        # The deployment's (LIVENESS_RESOLUTION_S, … as the route functions read them) unless given.
        self.liveness = liveness or LivenessRules.of(get_liveness_settings())
        self.clock = clock
        self.monotonic = monotonic
        self.sleep = sleep
        self.should_stop = should_stop  # checked before every page (Lambda: time nearly up)
        self.progress = progress  # told after every page

    def run(self, migrations: Sequence[Migration] = MIGRATIONS, options: RunOptions | None = None) -> Report:
        check_catalog(migrations)
        options = options or RunOptions()
        pace = _Pace(options.rate, self.monotonic, self.sleep)
        outcomes: list[Outcome] = []
        pending: list[Migration] = []  # before this one and not done: a dry run applies them first
        for migration in migrations:
            if outcomes and outcomes[-1].status in {Status.STOPPED, Status.NOT_STARTED}:
                outcomes.append(Outcome(migration, Status.NOT_STARTED))
                continue
            ledger = self.store.ledger(migration.number)
            if ledger is not None and ledger.done:
                outcomes.append(Outcome(migration, Status.ALREADY_DONE, ledger=ledger))
            elif options.dry_run:
                outcomes.append(self._count(migration, pending, options, pace))
                pending.append(migration)
            else:
                outcomes.append(self._migrate(migration, ledger, options, pace))
        return Report(outcomes)

    def _migrate(self, migration: Migration, ledger: LedgerEntry | None, options: RunOptions, pace: _Pace) -> Outcome:
        entry = ledger.resumed() if ledger else LedgerEntry.start(migration, self.clock())
        scanned = rewritten = 0
        if not self.store.save(entry):
            return Outcome(migration, Status.ALREADY_DONE, ledger=self.store.ledger(migration.number))
        while True:
            if self.should_stop():
                return Outcome(migration, Status.STOPPED, scanned, rewritten, entry)
            page = self.store.scan(entry.resume_from, options.page_size)
            changed = sum(self._rewrite(migration, item) for item in page.items)
            scanned, rewritten = scanned + page.scanned, rewritten + changed
            entry = entry.after_page(scanned=page.scanned, updated=changed, last_key=page.last_key)
            if page.last_key is None:
                entry = entry.finished(self.clock())
            if not self.store.save(entry):  # another run finished it meanwhile
                entry = self.store.ledger(migration.number) or entry
                return Outcome(migration, Status.ALREADY_DONE, scanned, rewritten, entry)
            self.progress(entry)
            if entry.done:
                return Outcome(migration, Status.DONE, scanned, rewritten, entry)
            pace.spent(page.scanned)

    def _rewrite(self, migration: Migration, item: Item) -> bool:
        """Whether this run rewrote ``item``. A writer may change it between our read and our
        write: then the conditional write fails, and the item is read and decided again."""
        current: Item | None = item
        for _ in range(MAX_ATTEMPTS):
            if current is None or not migration.applies_to(current):
                return False
            put = False
            if migration.derive:
                new, put = self._derived(migration, current)
            else:
                new = _transformed(migration, current)
            if new == current:
                # A keep_existing migration's new items were put only where none was: counted.
                return put and migration.keep_existing
            if self.store.rewrite(current, new):
                return True
            current = self.store.read(current)
        raise MigrationError(f"{migration.label}: item {_key_text(item)} kept changing under the migration")

    def _derived(self, migration: Migration, item: Item) -> tuple[Item, bool]:
        """Put the new items ``migration.derive`` makes from ``item`` and its history; ``item``
        as it should be afterwards, and whether any new item was put."""
        assert migration.derive is not None
        derivation = Derivation(history=self.store.history, now=self.clock(), liveness=self.liveness)
        derived, new = migration.derive(item, derivation)
        put = False
        for extra in derived:
            put = self.store.put_derived(extra, if_absent=migration.keep_existing) or put
        _check_key(migration, item, new)
        return new, put

    def _count(self, migration: Migration, before: list[Migration], options: RunOptions, pace: _Pace) -> Outcome:
        """A dry run: the items the migration would rewrite, the whole table read from the
        start, each item first taken through the pending migrations before it (in memory)."""
        start: dict[str, object] | None = None
        scanned = would = 0
        while True:
            if self.should_stop():
                return Outcome(migration, Status.STOPPED, scanned, would)
            page = self.store.scan(start, options.page_size)
            for item in page.items:
                current = upgrade(item, before)
                # A derive step cannot be judged without its reads: every item it applies to counts.
                applies = migration.applies_to(current)
                would += applies and (migration.derive is not None or _transformed(migration, current) != current)
            scanned += page.scanned
            if page.last_key is None:
                return Outcome(migration, Status.WOULD_REWRITE, scanned, would)
            start = page.last_key
            pace.spent(page.scanned)


def _transformed(migration: Migration, item: Item) -> Item:
    new = migration.transform(item)
    _check_key(migration, item, new)
    return new


def _check_key(migration: Migration, item: Item, new: Item) -> None:
    if (new.get(keys.PK), new.get(keys.SK)) != (item[keys.PK], item[keys.SK]):
        raise MigrationError(f"{migration.label} changes the key of {_key_text(item)}: migrations rewrite in place")


def _key_text(item: Item) -> str:
    return f"{item[keys.PK]} / {item[keys.SK]}"
