"""The stored records, declared once: what the store returns and the service and views
consume. An item's shape lives here; a misspelt field is a type error, not a ``KeyError`` in
production.

Records are frozen: a change is a new record (``dataclasses.replace``), which is what the
service commits. Parsing tolerates items written before a field existed (its default applies)
and ignores attributes it does not know (table and index keys, or fields of a newer version),
so a table keeps working across an upgrade until its migration has run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Self

from registry.domain.vocabulary import ATTRIBUTE_FIELDS


class _Record:
    __slots__ = ()

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> Self:
        known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        return cls(**{name: value for name, value in item.items() if name in known})

    def to_item(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload, no-any-return]


@dataclass(frozen=True, slots=True)
class Device(_Record):
    """A device's current item: its attributes, its status and its revision counter. A
    deleted device keeps its item as a tombstone (``deleted_at`` set) with its last state."""

    id: str
    name: str
    device_type: str
    mac_address: str
    config_version: int
    created_at: str
    updated_at: str
    status: str
    status_version: int
    status_updated_at: str
    revision: int  # of the latest history entry, any kind: the optimistic-locking version
    last_at: str  # when the latest history entry was written
    ip_address: str | None = None
    firmware_version: str | None = None
    serial_number: str | None = None
    location: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)  # sorted, lowercase; [] for items written before tags
    report_interval_s: int | None = None  # None: the deployment's default
    # pending / reporting / silent: moves only with a liveness revision (its sign-of-life item,
    # Seen, holds last_seen_at and the deadline). Items written before liveness read as pending.
    liveness: str = "pending"
    reason: str | None = None
    deleted_at: str | None = None
    # Where the device's open holder intervals are (registry/storage/keys.py holder_key): when and at
    # which revision it took its MAC / IP address. None: no address (IP), a tombstone, or an
    # item written before holder intervals existed (the holders migration fills them in).
    mac_since: str | None = None
    mac_since_revision: int | None = None
    ip_since: str | None = None
    ip_since_revision: int | None = None

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None

    def config(self) -> dict[str, Any]:
        """The client-settable attributes, as a device detail shows them."""
        return {name: getattr(self, name) for name in ATTRIBUTE_FIELDS}


@dataclass(frozen=True, slots=True)
class ListedDevice(_Record):
    """A list index entry: the summary fields every list index projects."""

    id: str
    name: str
    device_type: str
    mac_address: str
    status: str
    # From the device's Seen item, read for the page (list indexes do not project them).
    liveness: str = "pending"
    last_seen_at: str | None = None


@dataclass(frozen=True, slots=True)
class Seen(_Record):
    """A device's sign-of-life item, kept off its state item so that a refresh is one small
    write: when it last reported (``None``: never), its liveness, and while it is not silent the
    deadline by which it must report again (the sweep's index key)."""

    device_id: str
    liveness: str = "pending"
    last_seen_at: str | None = None
    deadline: str | None = None  # None: not awaited (silent, deleted)


@dataclass(frozen=True, slots=True)
class Holder(_Record):
    """One interval during which a device held an address: ``until`` None while it still does."""

    device_id: str
    since: str
    revision: int  # the device's revision that opened the interval
    until: str | None = None

    def to_item(self) -> dict[str, Any]:
        return {name: value for name, value in _Record.to_item(self).items() if value is not None}


@dataclass(frozen=True, slots=True)
class HistoryRecord(_Record):
    """One immutable history entry."""

    revision: int
    kind: str
    at: str
    changed_by: str
    changes: dict[str, dict[str, Any]]
    snapshot: dict[str, Any]
    reverted_to: int | None = None  # a revert: the revision whose attributes it made current
    reason: str | None = None  # a revert's or restore's, as the client gave it
    job_id: str | None = None  # the fleet job that made this change (registry/jobs/)
    # Stored, never answered: what an as-of read or a diff needs besides the snapshot, so that it
    # reads this one entry (docs/decisions.md). Entries written before they existed lack them, and
    # the service reads one more item or index entry instead.
    created_at: str | None = None  # the device's registration time
    status_then: dict[str, Any] | None = None  # config kinds: the status snapshot in force
    # Status kind with retention on (status_history_days > 0): when DynamoDB TTL may delete the
    # entry, epoch seconds (the table's TTL attribute, table.TTL_ATTRIBUTE). Stored, never answered.
    expires_at: int | None = None

    def to_item(self) -> dict[str, Any]:
        # Entries without a revert or a reason (nearly all) store neither attribute.
        return {name: value for name, value in _Record.to_item(self).items() if value is not None}
