"""Migration 2: devices registered before fleet queries get the lookup index keys of their
attributes (``list_by_firmware``, ``list_by_location``, ``list_by_serial``, ``list_by_ip``, the
``list_by_name<n>`` prefixes: ``keys.lookup_attributes``) and ``tags: []``, so every filter of
``GET /devices`` finds them as it finds new ones.

A device registered before had no tags, so there is no tag item to make. A tombstone gets
``tags: []`` and no index key (deleted devices are in no list). The runner's rewrite is
conditional: a writer that changed the device meanwhile has written the new shape itself."""

from __future__ import annotations

from registry.storage import keys
from registry.storage.migrations.migration import Item, Migration


def _needs_lookups(item: Item) -> bool:
    return (
        item.get(keys.SK) == keys.STATE_SK
        and str(item.get(keys.PK, "")).startswith(keys.DEVICE_PREFIX)
        and "tags" not in item
    )


def _with_lookups(item: Item) -> Item:
    live = item.get("deleted_at") is None
    return {**item, "tags": [], **(keys.lookup_attributes(item) if live else {})}


MIGRATION = Migration(2, "fleet_lookups", applies_to=_needs_lookups, transform=_with_lookups)
