"""``registry export``: every page of ``GET /devices?view=detail`` (each device's detail and status
in the page itself: one request per 100 devices), written as a file that ``registry import`` takes
back unchanged; or, with ``--inventory``, an inventory: the same columns led by each device's id
and followed by its status."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator, Mapping
from typing import IO, Any

from registry_cli.client import Registry
from registry_cli.rows import ATTRIBUTES, device_record, write_csv

PAGE_SIZE = 100  # the API's largest page
ID = "id"
# What an inventory adds after a device's attributes, from its status resource: its status, and its
# liveness (issue 22: whether it reports, and when it was last heard from).
STATUS_COLUMNS = {
    "status": "status",
    "status_reason": "reason",
    "status_updated_at": "updated_at",
    "liveness": "liveness",
    "last_seen_at": "last_seen_at",
}


def _details(registry: Registry, filters: Mapping[str, str]) -> Iterator[dict[str, Any]]:
    """Each listed device's detail (with ``status``, its status resource), in list order."""
    for page in registry.pages("/devices", {**filters, "limit": PAGE_SIZE, "view": "detail"}):
        yield from page


def inventory_record(detail: Mapping[str, Any]) -> dict[str, Any]:
    """A device as an inventory lists it: its id, its attributes as an export holds them, its status."""
    status = detail.get("status") or {}
    return {
        ID: detail[ID],
        **device_record(detail),
        **{column: status.get(field) for column, field in STATUS_COLUMNS.items()},
    }


def export(
    registry: Registry,
    filters: Mapping[str, str],
    format: str,
    output: IO[str],
    advance: Callable[[int], None] = lambda n: None,
    *,
    inventory: bool = False,
) -> int:
    """Writes the devices to ``output``; returns how many. CSV needs every attribute key for
    its header before its first row: the records wait in a temporary file, not in memory."""
    record_of = inventory_record if inventory else device_record
    count = 0
    if format == "jsonl":
        for detail in _details(registry, filters):
            output.write(json.dumps(record_of(detail), ensure_ascii=False) + "\n")
            count += 1
            advance(1)
        return count
    keys: set[str] = set()
    with tempfile.TemporaryFile("w+", encoding="utf-8") as spool:
        for detail in _details(registry, filters):
            record = record_of(detail)
            keys.update(record.get(ATTRIBUTES) or {})
            spool.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
            advance(1)
        spool.seek(0)
        first, last = ([ID], list(STATUS_COLUMNS)) if inventory else ([], [])
        write_csv((json.loads(line) for line in spool), keys, output, first=first, last=last)
    return count
