"""Migration 1: the holder intervals (``GET /mac-addresses/{mac}/holders``,
``GET /ip-addresses/{ip}/holders``) of devices registered before writes kept them, derived from
each device's history, and the device item told where its open intervals are.

For every device's ``STATE`` item (tombstones too: a deleted device held its addresses once),
the config-kind history entries are replayed in revision order exactly as the service moves an
address (registration, PATCH, revert, delete, restore: ``service.move_holders``), giving every
interval with the very key a live write gives it (``<from>#<revision>#<id>``). Each is put unless
a closed one is stored there already (a write since the deploy may have closed it: never reopen),
so a resumed or repeated run writes the same items again, harmlessly. The ``STATE`` item then
gets ``mac_since`` / ``ip_since`` (and their revisions) where it lacks them, by the runner's
conditional rewrite: a writer that changed the device meanwhile makes the runner read it and
derive again."""

from __future__ import annotations

from typing import Any

from registry.domain.records import Holder
from registry.storage import keys
from registry.storage.migrations.migration import Derivation, Item, Migration

_FIELDS = {"mac": "mac_address", "ip": "ip_address"}
_MOVES = ("created", "config", "deleted", "restored")  # status entries never move an address


def _is_device(item: Item) -> bool:
    return item.get(keys.SK) == keys.STATE_SK and str(item.get(keys.PK, "")).startswith(keys.DEVICE_PREFIX)


def derive(item: Item, derivation: Derivation) -> tuple[list[dict[str, Any]], Item]:
    """The device's holder interval items, and its ``STATE`` item knowing its open intervals."""
    device_id = str(item["id"])
    held: dict[str, tuple[str, str, int] | None] = {kind: None for kind in _FIELDS}  # address, from, revision
    intervals: list[dict[str, Any]] = []
    entries = sorted(derivation.history(str(item[keys.PK])), key=lambda entry: int(entry["revision"]))
    for entry in entries:
        if entry.get("kind") not in _MOVES:
            continue
        at, revision = str(entry["at"]), int(entry["revision"])
        snapshot = entry.get("snapshot") or {}
        for kind, field in _FIELDS.items():
            new = None if entry["kind"] == "deleted" else snapshot.get(field)
            old = held[kind]
            if (old[0] if old else None) == new:
                continue
            if old is not None:
                intervals.append(_item(kind, old[0], Holder(device_id, old[1], old[2], until=at)))
            held[kind] = (new, at, revision) if new is not None else None
    for kind, current in held.items():
        if current is not None:
            intervals.append(_item(kind, current[0], Holder(device_id, current[1], current[2])))
    # As today's writes store them: every attribute present, null where nothing is held.
    state = {**{f"{kind}_since{suffix}": None for kind in _FIELDS for suffix in ("", "_revision")}, **item}
    for kind, current in held.items():
        since = f"{kind}_since"
        # Only where the item lacks it, for a live device whose stored address is the replayed one
        # (a write since the deploy sets both itself).
        live = state.get("deleted_at") is None
        if current is not None and live and state.get(since) is None and state.get(_FIELDS[kind]) == current[0]:
            state[since], state[f"{since}_revision"] = current[1], current[2]
    return intervals, state


def _item(kind: str, address: str, holder: Holder) -> dict[str, Any]:
    return {**holder.to_item(), **keys.holder_key(kind, address, holder.since, holder.revision, holder.device_id)}


MIGRATION = Migration(
    1,
    "address_holders",
    applies_to=_is_device,
    transform=lambda item: item,  # nothing to change in memory: readers tolerate the missing fields
    derive=derive,
)
