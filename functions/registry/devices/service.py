"""Domain rules: versions, diffs, history entries, preconditions and optimistic retries.

Every write reads the device once, decides, and commits one conditional transaction that
succeeds only if nobody else wrote in between; otherwise it reads again (bounded, jittered).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from registry.domain.errors import (
    ConcurrentUpdate,
    DeviceNotDeleted,
    DeviceNotFound,
    HistoryEntryNotFound,
    HistoryExpired,
    ServiceUnavailable,
    ValidationFailed,
)
from registry.domain.records import Device, HistoryRecord, Holder, ListedDevice
from registry.domain.values import format_timestamp, new_device_id, now_timestamp
from registry.http import cursors
from registry.http.preconditions import ExpectedVersion
from registry.http.schemas import (
    ATTRIBUTE_FIELDS,
    DeviceAttributes,
    HistoryKind,
    StatusUpdate,
    StatusValue,
)
from registry.metrics import Counter
from registry.storage import keys as table
from registry.storage.devices import DeviceStore, HistoryQuery, StaleRevision
from registry.storage.fleet import UNFILTERED, FleetFilter
from registry.stream import stats

# os.urandom-backed: environments restored from one SnapStart snapshot would otherwise share
# the `random` module's state and back off in lockstep.
_JITTER = random.SystemRandom()
# A write that finds the device changed under it reads again, at most this many times in all,
# waiting a full-jitter exponential backoff (20 ms, 40 ms, … at most 0.5 s) between attempts.
WRITE_ATTEMPTS = 6
BACKOFF_BASE_S = 0.02
BACKOFF_CAP_S = 0.5
_DAY_S = 24 * 3600


def _epoch(at: str) -> int:
    """A stored timestamp → whole epoch seconds (the form DynamoDB TTL reads)."""
    return int(datetime.fromisoformat(at).timestamp())


@dataclass(frozen=True)
class Change:
    """What a write will commit: the device's next item and the history entry recording it."""

    device: Device
    history: HistoryRecord
    claim_mac: str | None = None
    release_mac: str | None = None
    # Holder intervals opened or closed: (address kind, canonical address, interval).
    holders: tuple[tuple[str, str, Holder], ...] = ()


# The device field of each address kind whose holder intervals are kept (registry/storage/keys.py).
_ADDRESS_FIELDS = {"mac": "mac_address", "ip": "ip_address"}


def _address(device: Device | None, kind: str) -> str | None:
    """The address of ``kind`` the device holds: none before it exists or once deleted."""
    if device is None or device.deleted:
        return None
    return getattr(device, _ADDRESS_FIELDS[kind])  # type: ignore[no-any-return]


def move_holders(current: Device | None, change: Change) -> Change:
    """``change`` with the holder intervals its addresses' moves close and open, and the device
    item knowing where its open intervals are. An open interval whose start the item does not
    know (written before holder intervals existed) is left for the holders migration to close
    from the history."""
    device, writes = change.device, list(change.holders)
    at = change.history.at
    for kind in table.ADDRESS_KINDS:
        old, new = _address(current, kind), _address(device, kind)
        if old == new:
            continue
        since, revision = f"{kind}_since", f"{kind}_since_revision"
        if old is not None and current is not None and getattr(current, since) is not None:
            opened = Holder(device.id, getattr(current, since), getattr(current, revision), until=at)
            writes.append((kind, old, opened))
        held: dict[str, Any] = {since: None, revision: None}
        if new is not None:
            writes.append((kind, new, Holder(device.id, at, device.revision)))
            held = {since: at, revision: device.revision}
        device = replace(device, **held)
    return replace(change, device=device, holders=tuple(writes))


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
        elif field == "tags":  # a whole set; a snapshot from before tags existed had none
            before, after = before or [], after or []
            if before != after:
                changes[field] = {"old": before, "new": after}
        elif before != after:
            changes[field] = {"old": before, "new": after}
    return changes


# The whole state a diff compares: attributes key by key, tags, status and reason.
DIFF_FIELDS = (*ATTRIBUTE_FIELDS, "status", "reason")
_CONFIG, _STATUS = table.history_group(HistoryKind.CONFIG), table.history_group(HistoryKind.STATUS)


def _state(config: dict[str, Any], status: dict[str, Any]) -> dict[str, Any]:
    """The fields a diff compares, from a config snapshot and a status snapshot."""
    state = {field: config[field] for field in DIFF_FIELDS if field in config}
    return {**state, "status": status.get("status"), "reason": status.get("reason")}


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
        elif field == "tags":  # replaces the whole set; null clears it
            merged["tags"] = value or []
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
        status_history_days: int = 0,
    ) -> None:
        self.store = store
        self.clock = clock
        # Retention (docs/decisions.md): status-kind entries expire this many days after they
        # are written; 0 keeps them forever (no expires_at is written).
        self.status_history_days = status_history_days
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
        change = move_holders(None, Change(device=device, history=history))
        device = change.device
        try:
            self.store.create_device(device, history, holders=change.holders)
        except StaleRevision:
            # A new id cannot be stale: another transaction was in flight on its MAC claim.
            # Retrying after Retry-After gets the real answer (201, or 409 if that one won).
            raise ServiceUnavailable("The device store is busy; retry shortly.") from None
        self.count(Counter.REGISTRATIONS)
        return device

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

    def update(
        self, device_id: str, patch: dict[str, Any], *, expected: ExpectedVersion | None, principal: str
    ) -> Device:
        def plan(current: Device) -> Change | None:
            _check(expected, current.config_version, "device")
            # A merge that breaks a rule (too many attribute keys, say) raises pydantic's
            # ValidationError: a 422 naming each field, rendered where every problem is.
            merged = DeviceAttributes.model_validate(merge_patch(current.config(), patch)).model_dump()
            return self._config_change(current, merged, principal)

        return self._write(device_id, plan)

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
        if entry.kind == HistoryKind.STATUS:
            # A status entry's snapshot holds the status: the attributes then in force are those
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
            history = self._entry(device, HistoryKind.RESTORED, at, principal, {}, reason=reason)
            return Change(device=device, history=history, claim_mac=device.mac_address)

        return self._write(device_id, plan, read=self._stored)

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
            return Change(device=device, history=self._entry(device, HistoryKind.STATUS, at, principal, changes))

        return self._write(device_id, plan, first=first)

    # -- lists -----------------------------------------------------------------------

    def list_devices(
        self, *, limit: int, cursor: str | None, filters: FleetFilter = UNFILTERED
    ) -> tuple[list[ListedDevice], str | None]:
        after = cursors.decode_device_cursor(cursor) if cursor else None
        page = self.store.list_devices(filters, limit=limit, after_id=after)
        next_cursor = cursors.encode_device_cursor(page.resume_after) if page.resume_after else None
        return page.items, next_cursor

    def list_device_details(
        self, *, limit: int, cursor: str | None, filters: FleetFilter = UNFILTERED
    ) -> tuple[list[Device], str | None]:
        """The same page as :meth:`list_devices`, each device's current item read in one
        BatchGetItem (a page holds at most 100): its detail and its status agree. A device deleted
        since the list's index was read is left out, as a later list would."""
        listed, next_cursor = self.list_devices(limit=limit, cursor=cursor, filters=filters)
        found = self.store.get_devices([device.id for device in listed]) if listed else {}
        devices = (found.get(device.id) for device in listed)
        return [device for device in devices if device is not None and not device.deleted], next_cursor

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

    # -- time travel -------------------------------------------------------------------

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
            new = _state(device.config(), status_snapshot(device))
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
        if table.history_group(entry.kind) == _STATUS:
            config = self.store.history_at_or_before(device_id, _CONFIG, entry.at, entry.revision)
            return _state(config.snapshot if config else {}, entry.snapshot)
        return _state(entry.snapshot, self._status_at(device_id, entry))

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

    # -- retention -------------------------------------------------------------------

    def _now_epoch(self) -> int:
        return _epoch(self.clock())

    def _expired(self, entry: HistoryRecord) -> bool:
        """Past its expires_at: gone, even while DynamoDB TTL (which deletes lazily) keeps it."""
        return entry.expires_at is not None and entry.expires_at <= self._now_epoch()

    def _horizon(self) -> str:
        """The oldest time whose status entries are still kept (retention on)."""
        moment = datetime.fromisoformat(self.clock()) - timedelta(days=self.status_history_days)
        return format_timestamp(moment)

    def _before_horizon(self, at: str) -> bool:
        return self.status_history_days > 0 and at < self._horizon()

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

    # -- internals -------------------------------------------------------------------

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
        read = read or self.get
        for attempt in range(self.max_attempts):
            current = first if attempt == 0 and first is not None else read(device_id)
            change = plan(current)
            if change is None:
                return current
            change = move_holders(current, change)
            try:
                self.store.commit(
                    change.device,
                    expected_revision=current.revision,
                    history=change.history,
                    claim_mac=change.claim_mac,
                    release_mac=change.release_mac,
                    holders=change.holders,
                    previous=current,
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

    def _config_change(
        self,
        current: Device,
        attributes: dict[str, Any],
        principal: str,
        *,
        reverted_to: int | None = None,
        reason: str | None = None,
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
        history = self._entry(
            device, HistoryKind.CONFIG, at, principal, changes, reverted_to=reverted_to, reason=reason
        )
        return Change(
            device=device,
            history=history,
            claim_mac=device.mac_address if moved else None,
            release_mac=current.mac_address if moved else None,
        )

    def _next_at(self, current: Device) -> str:
        """Now, but never before the previous entry: history order by time = by revision."""
        return max(self.clock(), current.last_at)

    def _entry(
        self,
        device: Device,
        kind: HistoryKind,
        at: str,
        principal: str,
        changes: dict[str, Any],
        *,
        reverted_to: int | None = None,
        reason: str | None = None,
    ) -> HistoryRecord:
        is_status = kind is HistoryKind.STATUS
        return HistoryRecord(
            revision=device.revision,
            kind=kind.value,
            at=at,
            changed_by=principal,
            changes=changes,
            snapshot=status_snapshot(device) if is_status else config_snapshot(device),
            created_at=device.created_at,
            status_then=None if is_status else status_snapshot(device),
            reverted_to=reverted_to,
            reason=reason,
            # Config-kind entries never expire; status entries only when retention is on.
            expires_at=_epoch(at) + self.status_history_days * _DAY_S
            if is_status and self.status_history_days > 0
            else None,
        )
