"""What a change is, as data and rules alone (no store, no clock): the record a write commits,
the holder intervals an address's move closes and opens, the snapshots and diffs a history entry
holds, and RFC 7396 merge patch over the attribute fields."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from registry.domain.records import Device, HistoryRecord, Holder, Seen
from registry.domain.vocabulary import ADDRESS_FIELDS, ATTRIBUTE_FIELDS


@dataclass(frozen=True)
class Change:
    """What a write will commit: the device's next item and the history entry recording it."""

    device: Device
    history: HistoryRecord
    claim_mac: str | None = None
    release_mac: str | None = None
    # Holder intervals opened or closed: (address kind, canonical address, interval).
    holders: tuple[tuple[str, str, Holder], ...] = ()
    # The device's sign-of-life item afterwards, and as it was read (None: not stored yet).
    seen: tuple[Seen, Seen | None] | None = None


def _address(device: Device | None, kind: str) -> str | None:
    """The address of ``kind`` the device holds: none before it exists or once deleted."""
    if device is None or device.deleted:
        return None
    return getattr(device, ADDRESS_FIELDS[kind])  # type: ignore[no-any-return]


def move_holders(current: Device | None, change: Change) -> Change:
    """``change`` with the holder intervals its addresses' moves close and open, and the device
    item knowing where its open intervals are. An open interval whose start the item does not
    know (written before holder intervals existed) is left for the holders migration to close
    from the history."""
    device, writes = change.device, list(change.holders)
    at = change.history.at
    for kind in ADDRESS_FIELDS:
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


def whole_state(config: dict[str, Any], status: dict[str, Any]) -> dict[str, Any]:
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
