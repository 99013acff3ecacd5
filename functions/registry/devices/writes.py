"""The devices' writes: register, change (merge patch, revert, restore, delete) and report status.
Every write reads the device once, decides, and commits one conditional transaction that
succeeds only if nobody else wrote in between; otherwise it reads again (bounded, jittered)."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from registry.devices.queries import DeviceQueries
from registry.domain.changes import Change, config_snapshot, diff, merge_patch, move_holders, status_snapshot
from registry.domain.errors import (
    ConcurrentUpdate,
    DeviceNotDeleted,
    DeviceNotFound,
    HistoryEntryNotFound,
    HistoryExpired,
    LaterChange,
    ServiceUnavailable,
)
from registry.domain.liveness import LivenessRules
from registry.domain.records import Device, HistoryRecord, Seen
from registry.domain.values import new_device_id
from registry.domain.versions import ExpectedVersion
from registry.domain.vocabulary import ATTRIBUTE_FIELDS, HistoryKind, LivenessValue, StatusValue
from registry.metrics import Counter
from registry.schemas import DeviceAttributes, StatusUpdate
from registry.storage.device_reads import HistoryQuery
from registry.storage.device_writes import StaleRevision
from registry.storage.keys import CONFIG_GROUP

# os.urandom-backed: environments restored from one SnapStart snapshot would otherwise share
# the `random` module's state and back off in lockstep.
_JITTER = random.SystemRandom()
# A write that finds the device changed under it reads again, at most this many times in all,
# waiting a full-jitter exponential backoff (20 ms, 40 ms, … at most 0.5 s) between attempts.
WRITE_ATTEMPTS = 6
BACKOFF_BASE_S = 0.02
BACKOFF_CAP_S = 0.5


# A rollback reads the config-kind entries after the job's revision a page of this many at a time.
LATER_ENTRIES_PAGE = 100


def _check(expected: ExpectedVersion | None, current: int, resource: str) -> None:
    if expected is not None:
        expected.check(current, resource)


def _merged(current: Device, patch: dict[str, Any]) -> dict[str, Any]:
    """The attributes after a merge patch. A merge that breaks a rule (too many attribute keys, say)
    raises pydantic's ValidationError: a 422 naming each field, rendered where every problem is."""
    return DeviceAttributes.model_validate(merge_patch(current.config(), patch)).model_dump()


class DeviceWrites(DeviceQueries):
    max_attempts: int
    sleep: Callable[[float], None]
    count: Callable[[Counter], None]
    rules: LivenessRules

    def register(self, attributes: DeviceAttributes, principal: str) -> Device:
        now = self.clock()
        values = attributes.model_dump()
        self.rules.check_interval(values["report_interval_s"])
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
        history = self._history_entry(device, HistoryKind.CREATED, now, principal, diff({}, values, ATTRIBUTE_FIELDS))
        change = move_holders(None, Change(device=device, history=history))
        device = change.device
        # Awaited from its registration: pending until its first report, silent if none comes.
        awaited = Seen(device.id, deadline=self.rules.pending_deadline(now, device.report_interval_s))
        try:
            self.store.create_device(device, history, holders=change.holders, seen=self.store.seen_put(awaited, None))
        except StaleRevision:
            # A new id cannot be stale: another transaction was in flight on its MAC claim.
            # Retrying after Retry-After gets the real answer (201, or 409 if that one won).
            raise ServiceUnavailable("The device store is busy; retry shortly.") from None
        self.count(Counter.REGISTRATIONS)
        return device

    def update(
        self, device_id: str, patch: dict[str, Any], *, expected: ExpectedVersion | None, principal: str
    ) -> Device:
        def plan(current: Device) -> Change | None:
            _check(expected, current.config_version, "device")
            merged = _merged(current, patch)
            self.rules.check_interval(merged["report_interval_s"])
            return self._config_change(current, merged, principal)

        return self._write(device_id, plan)

    # -- a fleet job's changes (registry/jobs/): PATCH's change, its entry carrying the job's id and
    # its transaction the job's result for the device, so that no delivery of a job makes it twice.

    def patch_for_job(self, device_id: str, patch: dict[str, Any], *, job_id: str, principal: str) -> Change | None:
        """``patch`` applied as PATCH applies it (no If-Match); None when it changes nothing.
        Raises ``ResultExists`` when the job has changed the device already."""

        def plan(current: Device) -> Change | None:
            return self._config_change(current, _merged(current, patch), principal, job_id=job_id)

        return self._apply(device_id, plan, job_id=job_id)[1]

    def preview_patch(self, device_id: str, patch: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """The changes ``patch`` would make now ({} none): a dry run's answer; nothing is written."""
        current = self.get(device_id)
        return diff(current.config(), _merged(current, patch), ATTRIBUTE_FIELDS)

    def undo_for_job(self, device_id: str, revision: int, *, job_id: str, principal: str) -> Change | None:
        """Set exactly the fields ``revision`` changed back to their values just before it, keeping
        every later change to other fields; ``LaterChange`` (naming the revision) when a later
        revision changed one of the same fields. Checked against the very revision committed on."""
        from registry.domain.jobs import overlap, undo_patch  # job paths only: kept out of other cold starts

        entry = self.history_entry(device_id, revision)  # immutable: read once, whatever the retries
        fields, patch = list(entry.changes), undo_patch(entry.changes)

        def plan(current: Device) -> Change | None:
            for later in self._config_entries_after(device_id, entry, up_to=current.revision):
                if overlap(fields, later.changes):
                    raise LaterChange(device_id, later.revision, overlap(fields, later.changes), job_revision=revision)
            return self._config_change(current, _merged(current, patch), principal, job_id=job_id)

        return self._apply(device_id, plan, job_id=job_id)[1]

    def _config_entries_after(self, device_id: str, entry: HistoryRecord, *, up_to: int) -> list[HistoryRecord]:
        """The device's config-kind entries after ``entry`` up to revision ``up_to``, oldest first."""
        found: list[HistoryRecord] = []
        after: tuple[int, str] | None = (entry.revision, entry.at)
        while after is not None:
            page = self.store.query_history(
                HistoryQuery(device_id, CONFIG_GROUP, entry.at, None, True, LATER_ENTRIES_PAGE, after)
            )
            found += [later for later in page.items if later.revision <= up_to]
            last = page.items[-1] if page.items else None
            after = (last.revision, last.at) if last and page.has_more and last.revision < up_to else None
        return found

    def revert(
        self,
        device_id: str,
        to_revision: int,
        *,
        reason: str | None,
        expected: ExpectedVersion | None,
        principal: str,
    ) -> Device:
        """The attributes in force at ``to_revision`` become current again, as a new config
        revision; no change (and no revision) when they are current already."""
        first, entry = self.store.get_device_and_entry(device_id, to_revision)
        if first is None or first.deleted:
            raise DeviceNotFound(device_id)
        if (entry is None and 1 <= to_revision <= first.revision) or (entry is not None and self._expired(entry)):
            raise HistoryExpired(device_id, revision=to_revision)  # gap-free: a status entry gone by TTL
        if entry is None:
            raise HistoryEntryNotFound(device_id, to_revision, latest=first.revision)
        if entry.kind in (HistoryKind.STATUS, HistoryKind.LIVENESS):
            # A status (or liveness) entry's snapshot holds the status: the attributes then in force are those
            # of the latest config-kind entry before it (there is always one: "created").
            config_entry = self.store.latest_config_entry(device_id, at_or_before=entry)
            if config_entry is None:
                raise HistoryEntryNotFound(device_id, to_revision, latest=first.revision)
            entry = config_entry
        # History is immutable: what to revert to is found once, whatever the retries below.
        attributes = {name: entry.snapshot.get(name) for name in ATTRIBUTE_FIELDS}
        attributes["attributes"] = attributes["attributes"] or {}
        attributes["tags"] = attributes["tags"] or []  # an entry from before tags existed: none then

        def plan(current: Device) -> Change | None:
            _check(expected, current.config_version, "device")
            return self._config_change(current, attributes, principal, reverted_to=to_revision, reason=reason)

        return self._write(device_id, plan, first=first)

    def restore(self, device_id: str, *, reason: str | None, principal: str) -> Device:
        """A deleted device comes back as it was when deleted (attributes and status), its MAC
        claimed again: a ``restored`` revision."""

        def plan(current: Device) -> Change:
            if not current.deleted:
                raise DeviceNotDeleted(device_id)
            at = self._next_at(current)
            device = replace(current, revision=current.revision + 1, last_at=at, deleted_at=None)
            history = self._history_entry(device, HistoryKind.RESTORED, at, principal, {}, reason=reason)
            return Change(device=device, history=history, claim_mac=device.mac_address)

        return self._write(device_id, plan, read=self._stored)

    def delete(self, device_id: str, *, expected: ExpectedVersion | None, principal: str) -> None:
        def plan(current: Device) -> Change:
            _check(expected, current.config_version, "device")
            at = self._next_at(current)
            device = replace(current, revision=current.revision + 1, last_at=at, deleted_at=at)
            return Change(
                device=device,
                history=self._history_entry(device, HistoryKind.DELETED, at, principal, {}),
                release_mac=current.mac_address,
            )

        self._write(device_id, plan)

    def set_status(
        self,
        device_id: str,
        update: StatusUpdate,
        *,
        expected: ExpectedVersion | None,
        principal: str,
        first: Device | None = None,
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
            return Change(
                device=device, history=self._history_entry(device, HistoryKind.STATUS, at, principal, changes)
            )

        return self._write(device_id, plan, first=first)

    def _write(
        self,
        device_id: str,
        plan: Callable[[Device], Change | None],
        *,
        read: Callable[[str], Device] | None = None,
        first: Device | None = None,
    ) -> Device:
        """``plan`` the change from the device as ``read`` (live devices by default) and commit it;
        ``first``: the device already read for the first attempt."""
        return self._apply(device_id, plan, read=read, first=first)[0]

    def _apply(
        self,
        device_id: str,
        plan: Callable[[Device], Change | None],
        *,
        read: Callable[[str], Device] | None = None,
        first: Device | None = None,
        job_id: str | None = None,
    ) -> tuple[Device, Change | None]:
        """As :meth:`_write`, answering the device and the change committed (None: none was needed);
        ``job_id``: the job whose result for the device the change's transaction writes."""
        read = read or self.get
        for attempt in range(self.max_attempts):
            current = first if attempt == 0 and first is not None else read(device_id)
            change = plan(current)
            if change is None:
                return current, None
            change = move_holders(current, change)
            if job_id is not None:
                from registry.domain.jobs import JobResult, Outcome  # a job's change only
            result = (
                None
                if job_id is None
                else (
                    job_id,
                    JobResult(
                        device_id,
                        Outcome.CHANGED.value,
                        revision=change.device.revision,
                        changes=change.history.changes,
                    ),
                )
            )
            try:
                self.store.commit(
                    change.device,
                    expected_revision=current.revision,
                    history=change.history,
                    claim_mac=change.claim_mac,
                    release_mac=change.release_mac,
                    holders=change.holders,
                    previous=current,
                    seen=self.store.seen_put(*change.seen) if change.seen is not None else None,
                    job_result=result,
                )
            except StaleRevision:
                self.count(Counter.WRITE_CONFLICTS)
                if attempt + 1 < self.max_attempts:
                    # Full jitter: concurrent writers spread out instead of colliding again.
                    self.sleep(_JITTER.uniform(0, min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2**attempt)))
                continue
            if change.history.kind == HistoryKind.STATUS:
                self.count(Counter.STATUS_CHANGES)
            return change.device, change
        raise ConcurrentUpdate(
            f"Device {device_id} was changed by other writers {self.max_attempts} times while this "
            "change was being applied; retry the request."
        )

    def _config_change(
        self,
        current: Device,
        attributes: dict[str, Any],
        principal: str,
        *,
        reverted_to: int | None = None,
        reason: str | None = None,
        job_id: str | None = None,
    ) -> Change | None:
        """A new config revision with these ``attributes``, moving the MAC claim if the address
        changes; None when nothing differs."""
        changes = diff(current.config(), attributes, ATTRIBUTE_FIELDS)
        if not changes:
            return None
        at = self._next_at(current)
        device = replace(
            current,
            **attributes,
            config_version=current.config_version + 1,
            updated_at=at,
            revision=current.revision + 1,
            last_at=at,
        )
        moved = device.mac_address != current.mac_address
        history = self._history_entry(
            device, HistoryKind.CONFIG, at, principal, changes, reverted_to=reverted_to, reason=reason, job_id=job_id
        )
        return Change(
            device=device,
            history=history,
            claim_mac=device.mac_address if moved else None,
            release_mac=current.mac_address if moved else None,
            # A new report interval moves the deadline: the sweep's index must know it.
            seen=self._rearmed(device) if device.report_interval_s != current.report_interval_s else None,
        )

    def _rearmed(self, device: Device) -> tuple[Seen, Seen | None]:
        """The sign-of-life item with the deadline a new ``report_interval_s`` sets (a silent
        device stays unawaited until it reports): read consistently, written in the change's
        transaction on the condition that it is unchanged."""
        seen = self.store.get_seen([device.id], consistent=True).get(device.id)
        before = seen or Seen(device.id, liveness=device.liveness)
        if before.liveness == LivenessValue.SILENT:
            return before, seen
        if before.last_seen_at is None:
            deadline = self.rules.pending_deadline(device.created_at, device.report_interval_s)
        else:
            deadline = self.rules.reporting_deadline(before.last_seen_at, device.report_interval_s)
        return replace(before, deadline=deadline), seen

    def _next_at(self, current: Device) -> str:
        """Now, but never before the previous entry: history order by time = by revision."""
        return max(self.clock(), current.last_at)

    def _history_entry(
        self,
        device: Device,
        kind: HistoryKind,
        at: str,
        principal: str,
        changes: dict[str, Any],
        *,
        reverted_to: int | None = None,
        reason: str | None = None,
        snapshot: dict[str, Any] | None = None,
        job_id: str | None = None,
    ) -> HistoryRecord:
        is_status = kind is HistoryKind.STATUS
        frequent = kind in (HistoryKind.STATUS, HistoryKind.LIVENESS)
        return HistoryRecord(
            revision=device.revision,
            kind=kind.value,
            at=at,
            changed_by=principal,
            changes=changes,
            snapshot=snapshot or (status_snapshot(device) if is_status else config_snapshot(device)),
            created_at=device.created_at,
            status_then=None if is_status else status_snapshot(device),
            reverted_to=reverted_to,
            reason=reason,
            job_id=job_id,
            # Config-kind entries never expire; status and liveness entries only when retention is on.
            expires_at=self._expires_at(at) if frequent else None,
        )
