"""Time travel: the attributes or the status in force at a past time, and the diff between two
revisions' whole states, from the immutable history (at most a few reads each)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from registry.devices.queries import DeviceQueries
from registry.domain.changes import DIFF_FIELDS, diff, status_snapshot, whole_state
from registry.domain.errors import DeviceNotFound, HistoryEntryNotFound, HistoryExpired, ValidationFailed
from registry.domain.records import Device, HistoryRecord
from registry.domain.vocabulary import HistoryKind, StatusValue
from registry.storage import keys

_CONFIG, _STATUS = keys.history_group(HistoryKind.CONFIG), keys.history_group(HistoryKind.STATUS)
_LIVENESS = keys.history_group(HistoryKind.LIVENESS)


class TimeTravel(DeviceQueries):
    def config_as_of(self, device_id: str, at: str) -> HistoryRecord:
        """The config-kind entry in force at ``at`` (its snapshot holds the attributes then), with
        the device's registration time: one Query; 404 if the device did not exist at ``at``."""
        self._not_future(at)
        entry = self.store.history_at_or_before(device_id, _CONFIG, at)
        if entry is None or entry.kind == HistoryKind.DELETED:
            raise DeviceNotFound(device_id, at=at)
        return replace(entry, created_at=self._created_at(device_id, entry))

    def status_as_of(self, device_id: str, at: str) -> dict[str, Any]:
        """The status snapshot in force at ``at``: one Query for the newest entry of any kind then
        (a deletion answers 404, as does no entry at all)."""
        self._not_future(at)
        entry = self.store.history_at_or_before(device_id, None, at)
        if entry is not None and self._expired(entry):
            raise HistoryExpired(device_id, before=self._horizon())
        if entry is None or entry.kind == HistoryKind.DELETED:
            raise DeviceNotFound(device_id, at=at)
        gap = entry.kind != HistoryKind.STATUS and self._before_horizon(entry.at)
        if gap and self._followed_by_gap(device_id, entry):
            # A status entry written after this one and before ``at`` may have expired and
            # been deleted: the status then is no longer known.
            raise HistoryExpired(device_id, before=self._horizon())
        return self._status_at(device_id, entry)

    def liveness_as_of(self, device_id: str, at: str) -> dict[str, Any]:
        """``{"liveness", "last_seen_at"}`` as the liveness transition in force at ``at`` recorded
        them (one Query; none yet: pending, never seen). Refreshes between transitions are not
        history (each would cost a write), so ``last_seen_at`` is the transition's."""
        entry = self.store.history_at_or_before(device_id, _LIVENESS, at)
        if entry is None or self._expired(entry):
            return {"liveness": "pending", "last_seen_at": None}
        return {"liveness": entry.snapshot.get("liveness"), "last_seen_at": entry.snapshot.get("last_seen_at")}

    def diff_revisions(
        self, device_id: str, first: int, second: int | None
    ) -> tuple[int, int, dict[str, dict[str, Any]]]:
        """``(from, to, changes)`` between the whole states in force at revisions ``first`` and
        ``second`` (the latest when None), either way round. At most four requests: the two
        entries (or the device for the latest), and for each side that lacks the other kind's
        values one Query for them."""
        device = None
        if second is None:
            device = self.store.get_device(device_id)
            if device is None:
                raise DeviceNotFound(device_id)
            second = device.revision
        old = self._state_at(device_id, self._revision(device_id, first, device))
        if device is not None:
            new = whole_state(device.config(), status_snapshot(device))
        else:
            new = self._state_at(device_id, self._revision(device_id, second, None))
        return first, second, diff(old, new, DIFF_FIELDS)

    def _revision(self, device_id: str, revision: int, device: Device | None) -> HistoryRecord:
        """History entry ``revision``, or 404 naming the latest revision (the device is read only
        then, unless the caller has it)."""
        entry = self.store.get_history_entry(device_id, revision) if revision >= 1 else None
        if entry is not None and not self._expired(entry):
            return entry
        device = device or self.store.get_device(device_id)
        if device is None:
            raise DeviceNotFound(device_id)
        if entry is not None or 1 <= revision <= device.revision:
            raise HistoryExpired(device_id, revision=revision)  # gap-free: a status entry gone by TTL
        raise HistoryEntryNotFound(device_id, revision, latest=device.revision)

    def _state_at(self, device_id: str, entry: HistoryRecord) -> dict[str, Any]:
        """The whole state in force at ``entry``'s revision: a status entry holds the status, and
        the attributes are those of the latest config-kind entry at or before it."""
        if keys.history_group(entry.kind) != _CONFIG:  # status, liveness: attributes from before it
            config = self.store.history_at_or_before(device_id, _CONFIG, entry.at, entry.revision)
            return whole_state(config.snapshot if config else {}, self._status_at(device_id, entry))
        return whole_state(entry.snapshot, self._status_at(device_id, entry))

    def _status_at(self, device_id: str, entry: HistoryRecord) -> dict[str, Any]:
        """The status snapshot in force at ``entry``'s revision. Config-kind entries carry it;
        one written before they did costs a Query for the latest status entry before it."""
        if entry.kind == HistoryKind.STATUS:
            return entry.snapshot
        if entry.status_then is not None:
            return entry.status_then
        if entry.revision > 1:
            found = self.store.history_at_or_before(device_id, _STATUS, entry.at, entry.revision)
            if (found is not None and self._expired(found)) or (found is None and self.status_history_days > 0):
                # An entry older than status_then (rare) with retention on: the status entry it
                # needs is past its expires_at, or may be one that TTL has already deleted.
                raise HistoryExpired(device_id, before=self._horizon())
            if found is not None:
                return found.snapshot
        # No status reported yet: the status every device is registered with.
        created_at = self._created_at(device_id, entry)
        return {"status": StatusValue.UNKNOWN.value, "reason": None, "version": 1, "updated_at": created_at}

    def _created_at(self, device_id: str, entry: HistoryRecord) -> str:
        """The device's registration time: carried by the entry, or revision 1's time (always the
        ``created`` entry) for entries written before they carried it."""
        if entry.created_at is not None:
            return entry.created_at
        return entry.at if entry.revision == 1 else self.history_entry(device_id, 1).at

    def _followed_by_gap(self, device_id: str, entry: HistoryRecord) -> bool:
        """Whether the revision after ``entry`` is missing (an expired status entry): false when
        the next entry is stored or ``entry`` is the latest revision. At most two reads, only for
        an as_of older than the retention horizon."""
        if self.store.get_history_entry(device_id, entry.revision + 1) is not None:
            return False
        device = self.store.get_device(device_id)
        return device is None or device.revision != entry.revision

    def _not_future(self, at: str) -> None:
        # An answer for a time still to come would be cached as "now" and go stale.
        if at > self.clock():
            raise ValidationFailed(
                f"as_of {at} is in the future: ask about a time that has passed.",
                errors=[{"field": "as_of", "message": "is in the future"}],
            )
