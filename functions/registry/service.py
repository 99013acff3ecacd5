"""Domain rules: versions, diffs, history entries, preconditions and optimistic retries.

Every write reads the device once, decides, and commits one conditional transaction that
succeeds only if nobody else wrote in between; otherwise it reads again (bounded, jittered).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from registry import cursors
from registry.errors import (
    ConcurrentUpdate,
    DeviceNotFound,
    HistoryEntryNotFound,
    ServiceUnavailable,
)
from registry.metrics import Counter
from registry.models import (
    ATTRIBUTE_FIELDS,
    DeviceAttributes,
    HistoryKind,
    StatusUpdate,
    StatusValue,
)
from registry.preconditions import ExpectedVersion
from registry.records import Device, HistoryRecord, ListedDevice
from registry.store import DeviceStore, HistoryQuery, StaleRevision
from registry.types import new_device_id, now_timestamp

# os.urandom-backed: environments restored from one SnapStart snapshot would otherwise share
# the `random` module's state and back off in lockstep.
_JITTER = random.SystemRandom()
# A write that finds the device changed under it reads again, at most this many times in all,
# waiting a full-jitter exponential backoff (20 ms, 40 ms, … at most 0.5 s) between attempts.
WRITE_ATTEMPTS = 6
BACKOFF_BASE_S = 0.02
BACKOFF_CAP_S = 0.5


@dataclass(frozen=True)
class Change:
    """What a write will commit: the device's next item and the history entry recording it."""

    device: Device
    history: HistoryRecord
    claim_mac: str | None = None
    release_mac: str | None = None


def _check(expected: ExpectedVersion | None, current: int, resource: str) -> None:
    if expected is not None:
        expected.check(current, resource)


def config_snapshot(device: Device) -> dict[str, Any]:
    return {**device.config(), "config_version": device.config_version}


def status_snapshot(device: Device) -> dict[str, Any]:
    return {
        "status": device.status,
        "reason": device.reason,
        "version": device.status_version,
        "updated_at": device.status_updated_at,
    }


def diff(old: dict[str, Any], new: dict[str, Any], fields: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """``{field: {"old", "new"}}`` for every field that differs; ``attributes`` key by key."""
    changes: dict[str, dict[str, Any]] = {}
    for field in fields:
        before, after = old.get(field), new.get(field)
        if field == "attributes":
            before, after = before or {}, after or {}
            for key in sorted(set(before) | set(after)):
                if before.get(key) != after.get(key):
                    changes[f"attributes.{key}"] = {"old": before.get(key), "new": after.get(key)}
        elif before != after:
            changes[field] = {"old": before, "new": after}
    return changes


def merge_patch(current: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """RFC 7396 over the attribute fields: ``None`` clears, ``attributes`` merges key by key."""
    merged = {field: current.get(field) for field in ATTRIBUTE_FIELDS}
    for field, value in patch.items():
        if field == "attributes" and value is not None:
            attributes = dict(merged.get("attributes") or {})
            for key, inner in value.items():
                if inner is None:
                    attributes.pop(key, None)
                else:
                    attributes[key] = inner
            merged["attributes"] = attributes
        elif field == "attributes":
            merged["attributes"] = {}
        else:
            merged[field] = value
    return merged


class DeviceService:
    def __init__(
        self,
        store: DeviceStore,
        *,
        clock: Callable[[], str] = now_timestamp,
        max_attempts: int = WRITE_ATTEMPTS,
        sleep: Callable[[float], None] = time.sleep,
        count: Callable[[Counter], None] = lambda _: None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.max_attempts = max_attempts
        self.sleep = sleep
        self.count = count

    # -- devices ---------------------------------------------------------------------

    def register(self, attributes: DeviceAttributes, principal: str) -> Device:
        now = self.clock()
        values = attributes.model_dump()
        device = Device(
            id=new_device_id(),
            **values,
            config_version=1,
            created_at=now,
            updated_at=now,
            status=StatusValue.UNKNOWN.value,
            reason=None,
            status_version=1,
            status_updated_at=now,
            revision=1,
            last_at=now,
        )
        history = self._entry(device, HistoryKind.CREATED, now, principal, diff({}, values, ATTRIBUTE_FIELDS))
        try:
            self.store.create_device(device, history)
        except StaleRevision:
            # A new id cannot be stale: another transaction was in flight on its MAC claim.
            # Retrying after Retry-After gets the real answer (201, or 409 if that one won).
            raise ServiceUnavailable("The device store is busy; retry shortly.") from None
        self.count(Counter.REGISTRATIONS)
        return device

    def get(self, device_id: str) -> Device:
        """The live device; a deleted one (its tombstone) is as absent as one never registered."""
        device = self.store.get_device(device_id)
        if device is None or device.deleted:
            raise DeviceNotFound(device_id)
        return device

    def update(
        self, device_id: str, patch: dict[str, Any], *, expected: ExpectedVersion | None, principal: str
    ) -> Device:
        def plan(current: Device) -> Change | None:
            _check(expected, current.config_version, "device")
            # A merge that breaks a rule (too many attribute keys, say) raises pydantic's
            # ValidationError: a 422 naming each field, rendered where every problem is.
            merged = DeviceAttributes.model_validate(merge_patch(current.config(), patch)).model_dump()
            changes = diff(current.config(), merged, ATTRIBUTE_FIELDS)
            if not changes:
                return None
            at = self._next_at(current)
            device = replace(
                current,
                **merged,
                config_version=current.config_version + 1,
                updated_at=at,
                revision=current.revision + 1,
                last_at=at,
            )
            moved = device.mac_address != current.mac_address
            return Change(
                device=device,
                history=self._entry(device, HistoryKind.CONFIG, at, principal, changes),
                claim_mac=device.mac_address if moved else None,
                release_mac=current.mac_address if moved else None,
            )

        return self._write(device_id, plan)

    def delete(self, device_id: str, *, expected: ExpectedVersion | None, principal: str) -> None:
        def plan(current: Device) -> Change:
            _check(expected, current.config_version, "device")
            at = self._next_at(current)
            device = replace(current, revision=current.revision + 1, last_at=at, deleted_at=at)
            return Change(
                device=device,
                history=self._entry(device, HistoryKind.DELETED, at, principal, {}),
                release_mac=current.mac_address,
            )

        self._write(device_id, plan)

    # -- status ------------------------------------------------------------------------

    def set_status(
        self, device_id: str, update: StatusUpdate, *, expected: ExpectedVersion | None, principal: str
    ) -> Device:
        def plan(current: Device) -> Change | None:
            _check(expected, current.status_version, "status")
            old = {"status": current.status, "reason": current.reason}
            new = {"status": update.status.value, "reason": update.reason}
            changes = diff(old, new, ("status", "reason"))
            if not changes:
                return None  # PUT is idempotent: the same status again is not a change
            at = self._next_at(current)
            device = replace(
                current,
                status=update.status.value,
                reason=update.reason,
                status_version=current.status_version + 1,
                status_updated_at=at,
                revision=current.revision + 1,
                last_at=at,
            )
            return Change(device=device, history=self._entry(device, HistoryKind.STATUS, at, principal, changes))

        return self._write(device_id, plan)

    # -- lists -----------------------------------------------------------------------

    def list_devices(
        self,
        *,
        limit: int,
        cursor: str | None,
        device_type: str | None = None,
        status: str | None = None,
        mac_address: str | None = None,
    ) -> tuple[list[ListedDevice], str | None]:
        after = cursors.decode_device_cursor(cursor) if cursor else None
        page = self.store.list_devices(
            device_type=device_type, status=status, mac_address=mac_address, limit=limit, after_id=after
        )
        next_cursor = cursors.encode_device_cursor(page.items[-1].id) if page.has_more else None
        return page.items, next_cursor

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
        last = page.items[-1] if page.items else None
        next_cursor = cursors.encode_history_cursor(last.revision, last.at) if last and page.has_more else None
        return page.items, next_cursor

    def history_entry(self, device_id: str, revision: int) -> HistoryRecord:
        entry = self.store.get_history_entry(device_id, revision)
        if entry is None:
            raise HistoryEntryNotFound(device_id, revision)
        return entry

    # -- internals -------------------------------------------------------------------

    def _write(self, device_id: str, plan: Callable[[Device], Change | None]) -> Device:
        for attempt in range(self.max_attempts):
            current = self.get(device_id)
            change = plan(current)
            if change is None:
                return current
            try:
                self.store.commit(
                    change.device,
                    expected_revision=current.revision,
                    history=change.history,
                    claim_mac=change.claim_mac,
                    release_mac=change.release_mac,
                )
            except StaleRevision:
                self.count(Counter.WRITE_CONFLICTS)
                if attempt + 1 < self.max_attempts:
                    # Full jitter: concurrent writers spread out instead of colliding again.
                    self.sleep(_JITTER.uniform(0, min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2**attempt)))
                continue
            if change.history.kind == HistoryKind.STATUS:
                self.count(Counter.STATUS_CHANGES)
            return change.device
        raise ConcurrentUpdate(
            f"Device {device_id} was changed by other writers {self.max_attempts} times while this "
            "change was being applied; retry the request."
        )

    def _next_at(self, current: Device) -> str:
        """Now, but never before the previous entry: history order by time = by revision."""
        return max(self.clock(), current.last_at)

    @staticmethod
    def _entry(device: Device, kind: HistoryKind, at: str, principal: str, changes: dict[str, Any]) -> HistoryRecord:
        snapshot = status_snapshot(device) if kind is HistoryKind.STATUS else config_snapshot(device)
        return HistoryRecord(
            revision=device.revision,
            kind=kind.value,
            at=at,
            changed_by=principal,
            changes=changes,
            snapshot=snapshot,
        )
