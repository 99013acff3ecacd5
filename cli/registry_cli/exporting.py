"""``registry export``: every page of the list, each device's detail, written as a file that
``registry import`` takes back unchanged."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Any

from registry_cli.client import ApiError, Registry
from registry_cli.rows import ATTRIBUTES, device_record, write_csv

PAGE_SIZE = 100
DETAILS_IN_FLIGHT = 8


def _details(registry: Registry, filters: Mapping[str, str]) -> Iterator[dict[str, Any]]:
    """The detail of each listed device, in list order (a page's details fetched together).
    A device deleted between the list and its read is simply no longer there."""

    def detail(summary: Mapping[str, Any]) -> dict[str, Any] | None:
        try:
            return dict(registry.json("GET", f"/devices/{summary['id']}"))
        except ApiError as error:
            if error.status == 404:
                return None
            raise

    with ThreadPoolExecutor(DETAILS_IN_FLIGHT, thread_name_prefix="export") as pool:
        for page in registry.pages("/devices", {**filters, "limit": PAGE_SIZE}):
            for found in pool.map(detail, page):
                if found is not None:
                    yield found


def export(
    registry: Registry,
    filters: Mapping[str, str],
    format: str,
    output: IO[str],
    advance: Callable[[int], None] = lambda n: None,
) -> int:
    """Writes the devices to ``output``; returns how many. CSV needs every attribute key for
    its header before its first row: the records wait in a temporary file, not in memory."""
    count = 0
    if format == "jsonl":
        for detail in _details(registry, filters):
            output.write(json.dumps(device_record(detail), ensure_ascii=False) + "\n")
            count += 1
            advance(1)
        return count
    keys: set[str] = set()
    with tempfile.TemporaryFile("w+", encoding="utf-8") as spool:
        for detail in _details(registry, filters):
            record = device_record(detail)
            keys.update(record.get(ATTRIBUTES) or {})
            spool.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
            advance(1)
        spool.seek(0)
        write_csv((json.loads(line) for line in spool), keys, output)
    return count
