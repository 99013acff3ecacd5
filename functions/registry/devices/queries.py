"""The devices' reads: a device, the fleet's pages, a device's history and one entry of it, the
holders of an address, the fleet statistics. Cursors are opaque (registry/domain/cursors.py);
expired status entries are left out as if already deleted (registry/devices/retention.py)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from registry.devices.retention import Retention
from registry.domain import cursors
from registry.domain.errors import DeviceNotFound, HistoryEntryNotFound, HistoryExpired
from registry.domain.fleet import UNFILTERED, FleetFilter
from registry.domain.records import Device, HistoryRecord, Holder, ListedDevice, Seen
from registry.storage import stats
from registry.storage.device_reads import HistoryQuery
from registry.storage.devices import DeviceStore


class DeviceQueries(Retention):
    store: DeviceStore

    def get(self, device_id: str) -> Device:
        """The live device; a deleted one (its tombstone) is as absent as one never registered."""
        device = self._stored(device_id)
        if device.deleted:
            raise DeviceNotFound(device_id)
        return device

    def _stored(self, device_id: str) -> Device:
        """The device's current item, a tombstone too; 404 only if it never existed."""
        device = self.store.get_device(device_id)
        if device is None:
            raise DeviceNotFound(device_id)
        return device

    def list_devices(
        self, *, limit: int, cursor: str | None, filters: FleetFilter = UNFILTERED
    ) -> tuple[list[ListedDevice], str | None]:
        after = cursors.decode_device_cursor(cursor) if cursor else None
        page = self.store.list_devices(filters, limit=limit, after_id=after)
        next_cursor = cursors.encode_device_cursor(page.resume_after) if page.resume_after else None
        # The list indexes do not project liveness: the page's signs of life, one BatchGetItem.
        seen = self.store.get_seen([item.id for item in page.items]) if page.items else {}
        items = [_with_seen(item, seen.get(item.id)) for item in page.items]
        if filters.liveness is not None:  # the index said so; a transition since may say otherwise
            items = [item for item in items if item.liveness == filters.liveness]
        return items, next_cursor

    def list_device_details(
        self, *, limit: int, cursor: str | None, filters: FleetFilter = UNFILTERED
    ) -> tuple[list[tuple[Device, Seen | None]], str | None]:
        """The same page as :meth:`list_devices`, each device's current item read in one
        BatchGetItem (a page holds at most 100): its detail and its status agree. A device deleted
        since the list's index was read is left out, as a later list would."""
        listed, next_cursor = self.list_devices(limit=limit, cursor=cursor, filters=filters)
        found = self.store.get_devices([device.id for device in listed]) if listed else {}
        # The signs of life the summary page read: no second read of them.
        seen = {item.id: Seen(item.id, liveness=item.liveness, last_seen_at=item.last_seen_at) for item in listed}
        devices = (found.get(device.id) for device in listed)
        live = [device for device in devices if device is not None and not device.deleted]
        return [(device, seen.get(device.id)) for device in live], next_cursor

    def history(
        self,
        device_id: str,
        *,
        kind: str | None,
        since: str | None,
        until: str | None,
        order: str,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[HistoryRecord], str | None]:
        after = cursors.decode_history_cursor(cursor) if cursor else None
        query = HistoryQuery(device_id, kind, since, until, order == "asc", limit, after)
        page = self.store.query_history(query)
        if not page.items and after is None and self.store.get_device(device_id) is None:
            # Only an empty first page costs a second read, to tell "no such device" apart.
            raise DeviceNotFound(device_id)
        # The cursor follows the last entry read, expired or not: TTL deletes lazily, so an entry
        # past its expires_at may still be stored, and is left out as if already gone.
        last = page.items[-1] if page.items else None
        next_cursor = cursors.encode_history_cursor(last.revision, last.at) if last and page.has_more else None
        return [entry for entry in page.items if not self._expired(entry)], next_cursor

    def stats(self) -> dict[str, Any]:
        """Fleet statistics (``registry/stream/stats.py``): the counter shards summed, one request
        whatever the fleet size; ``as_of`` is the newest change counted (before any was:
        ``stats.NEVER``, so that the answer depends on the stored counters alone)."""
        shards, as_of = self.store.get_stats()
        return {**stats.summarize(shards), "as_of": as_of or stats.NEVER}

    def holders(self, kind: str, address: str, *, limit: int, cursor: str | None) -> tuple[list[Holder], str | None]:
        """Every interval during which a device held the (canonical) ``address`` of ``kind``
        (``mac`` or ``ip``), newest first: one Query of at most ``limit + 1`` items per page."""
        after = cursors.decode_holder_cursor(cursor) if cursor else None
        page = self.store.list_holders(kind, address, limit=limit, after=after)
        last = page.items[-1] if page.items else None
        next_cursor = (
            cursors.encode_holder_cursor(last.since, last.revision, last.device_id) if last and page.has_more else None
        )
        return page.items, next_cursor

    def history_entry(self, device_id: str, revision: int) -> HistoryRecord:
        entry = self.store.get_history_entry(device_id, revision)
        if entry is None or self._expired(entry):
            # Revisions are gap-free and config-kind entries never expire: a missing entry at or
            # below the latest revision is an expired status entry (one more GetItem, on a miss only).
            device = self.store.get_device(device_id) if entry is None else None
            if entry is not None or (device is not None and 1 <= revision <= device.revision):
                raise HistoryExpired(device_id, revision=revision)
            raise HistoryEntryNotFound(device_id, revision)
        return entry


def _with_seen(item: ListedDevice, seen: Seen | None) -> ListedDevice:
    if seen is None:
        return item
    return replace(item, liveness=seen.liveness, last_seen_at=seen.last_seen_at)
