"""Schema evolution of the device table: numbered, idempotent, resumable migrations.

* :mod:`~registry.storage.migrations.catalog` lists them (1: the holder intervals of devices written
  before writes kept them, derived from their history; 2: the fleet lookup keys; 3: the
  sign-of-life item of devices registered before liveness);
* :func:`upgraded` is what a reader calls on every item it reads, so that items written before
  a migration read as if it had run, until it has;
* :mod:`~registry.storage.migrations.runner` runs the pending ones, page by page, rate-limited, with a
  ledger item per migration in the table itself (``pk = MIGRATIONS``) that records what ran and
  where an interrupted run resumes; ``python -m registry.storage.migrations`` (``make migrate``), the
  stack's one-off migration function (``handlers/migrate.py``) and the local server at start
  run it.

The runner's DynamoDB calls are in :mod:`~registry.storage.migrations.dynamodb`, the one module besides
the store that speaks DynamoDB: it is the only code that may Scan the table, which no request
path does. Importing this package imports neither boto3 nor the runner."""

from __future__ import annotations

from registry.storage.migrations.catalog import MIGRATIONS
from registry.storage.migrations.migration import Item, Migration, upgrade

__all__ = ["MIGRATIONS", "Item", "Migration", "upgraded"]


def upgraded(item: Item) -> Item:
    """``item`` (as read, keys included) in the shape the newest registered migration gives it.

    For whole items (GetItem; a Query of the table or of a history index, which project every
    attribute). A list index's entry holds only the summary fields it projects: a migration that
    changes those must accept such partial items; one that does not is best not applied to them."""
    return upgrade(item, MIGRATIONS)
