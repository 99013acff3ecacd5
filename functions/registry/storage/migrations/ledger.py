"""What the ledger records of one migration: whether it is running or done, where an
interrupted run resumes, and how much it read and rewrote. One item per migration in the
table itself (``registry.storage.keys.migration_key``), written after every page."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from typing import Any

from registry.storage.migrations.migration import Migration


class State(StrEnum):
    RUNNING = "running"  # started; ``resume_from`` is where the next run goes on
    DONE = "done"  # every item was read after the migration's code was deployed: never runs again


@dataclass(frozen=True)
class LedgerEntry:
    number: int
    name: str
    state: State
    started_at: str
    finished_at: str | None = None
    runs: int = 1  # how many runs took part (a run stops on an error, a deadline or Ctrl-C)
    pages: int = 0
    scanned: int = 0  # items read (ledger items included)
    updated: int = 0  # items rewritten
    # The Scan's LastEvaluatedKey after the last page done, as DynamoDB gave it (attribute
    # values): None before the first page. Opaque here; only the DynamoDB module reads it.
    resume_from: dict[str, Any] | None = None

    @classmethod
    def start(cls, migration: Migration, now: str) -> LedgerEntry:
        return cls(number=migration.number, name=migration.name, state=State.RUNNING, started_at=now)

    @property
    def done(self) -> bool:
        return self.state is State.DONE

    def resumed(self) -> LedgerEntry:
        return replace(self, runs=self.runs + 1)

    def after_page(self, *, scanned: int, updated: int, last_key: dict[str, Any] | None) -> LedgerEntry:
        return replace(
            self,
            pages=self.pages + 1,
            scanned=self.scanned + scanned,
            updated=self.updated + updated,
            resume_from=last_key,
        )

    def finished(self, now: str) -> LedgerEntry:
        return replace(self, state=State.DONE, finished_at=now, resume_from=None)

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "state": self.state.value}
