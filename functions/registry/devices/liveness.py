"""Liveness: a report's sign of life, and the transitions between ``pending``, ``reporting`` and
``silent`` (registry/domain/liveness.py has the rules; registry/devices/sweep.py finds the devices
gone silent). A transition is a revision of kind ``liveness`` made by the registry: ``revision``
moves, ``version`` and ``config_version`` do not, so no client's ``If-Match`` breaks."""

from __future__ import annotations

from dataclasses import replace

from registry.devices.writes import DeviceWrites
from registry.domain.changes import Change
from registry.domain.errors import DeviceNotFound
from registry.domain.records import Device, Seen
from registry.domain.versions import ExpectedVersion
from registry.domain.vocabulary import HistoryKind, LivenessValue
from registry.metrics import Counter
from registry.schemas import StatusUpdate

REGISTRY_PRINCIPAL = "registry"  # changed_by of the transitions the registry itself records
# A refresh that finds its item changed under it reads again, at most this many times.
REFRESH_ATTEMPTS = 3


def unseen(device: Device) -> Seen:
    """The sign of life of a device whose item is not stored (registered before liveness, until
    its migration runs): what its state says, never seen."""
    return Seen(device.id, liveness=device.liveness)


class Liveness(DeviceWrites):
    def status_of(self, device_id: str) -> tuple[Device, Seen]:
        """A live device's state and its sign of life: one consistent Query."""
        device, seen = self.store.get_device_seen(device_id)
        if device is None or device.deleted:
            raise DeviceNotFound(device_id)
        return device, seen or unseen(device)

    def report(
        self,
        device_id: str,
        update: StatusUpdate,
        *,
        expected: ExpectedVersion | None,
        principal: str,
        first: tuple[Device | None, Seen | None] | None = None,
    ) -> tuple[Device, Seen]:
        """A device's report: its status (as :meth:`set_status`), then its sign of life: a refresh
        at most once per resolution, or the transition to ``reporting`` of a device that was
        pending or silent. A report refused (412, 422) is no sign of life. ``first``: the state and
        sign of life already read (a batch reads them together)."""
        if first is None:
            first = self.store.get_device_seen(device_id)
        device, stored = first
        if device is None or device.deleted:
            raise DeviceNotFound(device_id)
        before = device.revision
        written = self.set_status(device_id, update, expected=expected, principal=principal, first=device)
        # A status change happened now: its time is the report's (one reading of the clock).
        now = written.last_at if written.revision != before else self.clock()
        after, seen = self._sign_of_life(written, stored, now)
        if after.status_version == written.status_version:
            return after, seen
        # The answer is this report's status write: a transition committed after a concurrent
        # writer's report re-read the device, and that state holds the other writer's status.
        return replace(written, liveness=seen.liveness), seen

    def _sign_of_life(self, device: Device, stored: Seen | None, now: str) -> tuple[Device, Seen]:
        seen = stored or unseen(device)
        for attempt in range(REFRESH_ATTEMPTS):
            now = now if attempt == 0 else self.clock()
            if seen.liveness != LivenessValue.REPORTING:
                return self._transition(device, stored, LivenessValue.REPORTING, now)
            if not self.rules.refresh_due(seen.last_seen_at, now):
                return device, seen  # seen within the resolution: nothing to write
            deadline = self.rules.reporting_deadline(now, device.report_interval_s)
            fresh = replace(seen, last_seen_at=now, deadline=deadline)
            if self.store.refresh_seen(fresh, stored):
                self.count(Counter.LIVENESS_REFRESHES)
                return device, fresh
            # Another report refreshed it first, or the sweep found it silent: read again.
            current, stored = self.store.get_device_seen(device.id)
            if current is None or current.deleted:
                raise DeviceNotFound(device.id)
            device, seen = current, stored or unseen(current)
        return device, seen

    def silence(self, device_id: str, due_at: str, now: str) -> bool:
        """The sweep found ``device_id`` due at ``now``: record that it went silent, if it still is
        due when read consistently (a report may have come since the index was read). True when
        this recorded a transition."""
        device, seen = self.store.get_device_seen(device_id)
        if device is None or device.deleted:
            self.store.forget_due(device_id, due_at)
            return False
        changed, _ = self._transition(device, seen, LivenessValue.SILENT, now)
        return changed.revision > device.revision

    def _transition(self, device: Device, seen: Seen | None, new: LivenessValue, now: str) -> tuple[Device, Seen]:
        """Commit the liveness revision to ``new`` (with the sign-of-life item it implies), reading
        again while another writer got there first; nothing when it is no longer due."""
        stored = {device.id: seen}  # as read: None when no item is stored
        outcome: dict[str, Seen] = {}

        def read(device_id: str) -> Device:
            current, stored[device_id] = self.store.get_device_seen(device_id)
            if current is None or current.deleted:
                raise DeviceNotFound(device_id)
            return current

        def plan(current: Device) -> Change | None:
            before = stored[current.id] or unseen(current)
            outcome["seen"] = before
            if new == LivenessValue.SILENT:
                if before.liveness == new or before.deadline is None or before.deadline > now:
                    return None  # reported since, or silenced by another sweep
                after = replace(before, liveness=new.value, deadline=None)
            else:
                if before.liveness == LivenessValue.REPORTING:
                    return None  # another report made it reporting first
                deadline = self.rules.reporting_deadline(now, current.report_interval_s)
                after = replace(before, liveness=new.value, last_seen_at=now, deadline=deadline)
            at = self._next_at(current)
            changed = replace(current, liveness=new.value, revision=current.revision + 1, last_at=at)
            history = self._history_entry(
                changed,
                HistoryKind.LIVENESS,
                at,
                REGISTRY_PRINCIPAL,
                {"liveness": {"old": before.liveness, "new": new.value}},
                snapshot={"liveness": new.value, "last_seen_at": after.last_seen_at},
            )
            outcome["seen"] = after
            return Change(device=changed, history=history, seen=(after, stored[current.id]))

        result = self._write(device.id, plan, read=read, first=device)
        if result.revision != device.revision:
            self.count(Counter.LIVENESS_CHANGES)
        return result, outcome["seen"]
