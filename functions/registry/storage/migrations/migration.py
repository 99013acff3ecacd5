"""A migration: a numbered, pure change of item shape, run once over the table by the runner
and, until it has run, applied in memory by the readers (:func:`upgrade`)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from registry.domain.liveness import LivenessRules

# An item as stored, deserialized: every attribute, its table and index keys included. Items of
# every shape and age pass through a migration, so no record type can describe them.
Item = Mapping[str, Any]
# A derive step's view of the table: the history items (``REV#``) of one device partition.
HistoryReader = Callable[[str], Sequence[Item]]

_NAME = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True)
class Derivation:
    """What a derive step reads besides the item: its device's history, the run's clock and the
    deployment's liveness rules (a device awaited from the migration on, migration 3)."""

    history: HistoryReader
    now: str
    liveness: LivenessRules


class CatalogError(ValueError):
    """The registered migrations are not numbered 1, 2, 3, … with distinct names."""


@dataclass(frozen=True)
class Migration:
    """``applies_to(item)`` says whether an item still has the shape before this migration;
    ``transform(item)`` returns it in the shape after (a new mapping; same keys ``pk``/``sk``).
    Both are pure and cheap: readers call them on every item they read until the migration has
    run, and the runner calls them again on an item a writer changed under it.

    Numbers in items are ``int`` (or ``Decimal`` when not whole), as the store reads them.

    ``derive`` (optional) makes NEW items from an item and a :class:`Derivation` (its device's
    history, the run's time, the liveness rules): it returns them and the item as it should be
    afterwards (its in-place change). The runner puts each new item unless a closed one is stored
    under its key (``until`` set: never reopened; so a repeated or resumed run writes nothing
    wrong) — or, with ``keep_existing``, unless any item is stored under its key (one a writer put
    since the deploy is newer than anything derived) — then rewrites the item conditionally as for
    ``transform``; a writer that changed the item meanwhile makes the runner read and derive
    again. Readers cannot derive in memory: ``transform`` is what they apply until the migration
    has run."""

    number: int
    name: str
    applies_to: Callable[[Item], bool]
    transform: Callable[[Item], Item]
    derive: Callable[[Item, Derivation], tuple[Sequence[Item], Item]] | None = field(default=None, compare=False)
    keep_existing: bool = False

    def __post_init__(self) -> None:
        if self.number < 1:
            raise CatalogError(f"migration numbers start at 1, got {self.number}")
        if not _NAME.fullmatch(self.name):
            raise CatalogError(f"migration {self.number}: name {self.name!r} is not snake_case")

    @property
    def label(self) -> str:
        return f"{self.number:04d}_{self.name}"


def check_catalog(migrations: Sequence[Migration]) -> None:
    """Migrations run in number order and their ledger is keyed by number: a gap, a duplicate
    or a reordering would leave a migration unrun or run one before its predecessor."""
    numbers = [migration.number for migration in migrations]
    if numbers != list(range(1, len(numbers) + 1)):
        raise CatalogError(f"migrations must be numbered 1, 2, 3, … in order; got {numbers}")
    names = [migration.name for migration in migrations]
    if len(set(names)) != len(names):
        raise CatalogError(f"two migrations share a name: {names}")


def upgrade(item: Item, migrations: Sequence[Migration]) -> Item:
    """``item`` as the runner will leave it: every migration that still applies to it, applied
    in number order. An item that no migration applies to is returned as is (no copy)."""
    for migration in migrations:
        if migration.applies_to(item):
            item = migration.transform(item)
    return item
