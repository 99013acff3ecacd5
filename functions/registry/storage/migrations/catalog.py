"""Every schema migration, in number order: the one list the runner, the readers and the
tests read.

Adding one (say, tags on every device):

1. a module ``m0001_device_tags.py`` here defining ``MIGRATION = Migration(1, "device_tags",
   applies_to=..., transform=...)``, with keys and names from ``registry.storage.keys``;
2. its ``MIGRATION`` appended to ``MIGRATIONS`` below (a test fails if a module is left out);
3. the new shape written by the code that ships with it, and read through
   :func:`registry.storage.migrations.upgraded` (so items not yet migrated read as migrated);
4. a test that runs it on a table written by the code before it (tests/integration/test_migrations.py).

Deploy the code first, then run the migration (``make migrate``; in AWS the stack's migration
function, docs/deployment.md): items written meanwhile already have the new shape.

A migration that makes new items from old ones (holder intervals from history, a sign-of-life
item) gives a ``derive`` step besides its in-place ``transform`` (``migration.Migration``)."""

from __future__ import annotations

from registry.storage.migrations import m0001_address_holders, m0002_fleet_lookups, m0003_liveness_seen
from registry.storage.migrations.migration import Migration

MIGRATIONS: tuple[Migration, ...] = (
    m0001_address_holders.MIGRATION,
    m0002_fleet_lookups.MIGRATION,
    m0003_liveness_seen.MIGRATION,
)
