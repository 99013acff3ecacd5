"""Change events: a DynamoDB stream record of the device table → the EventBridge entry it
publishes, or nothing. Pure (no AWS calls): the publisher (registry/stream/publisher.py) sends what
this returns, in AWS and locally alike. docs/events.md is the consumer's side of it.

The INSERT of a history item (``sk = REV#…``) is a change; a job's item turning finished (its
MODIFY from ``queued`` or ``running`` to a finished state) is ``Job finished``. Everything else on the
stream publishes nothing: REMOVE records (TTL expiry of old status entries; history is never deleted
otherwise), MODIFY records (the STATE item's updates, migrations rewriting stored items), and
every item that is not history (STATE, MAC claims, holder intervals, the migration ledger)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from registry.domain.jobs import Job
from registry.domain.records import HistoryRecord
from registry.http.views import history_entry
from registry.storage import keys
from registry.storage.codec import decode

SOURCE = "device-registry"
DETAIL_TYPES = {
    "created": "Device registered",
    "config": "Device updated",  # reverts too: a revert is a config revision
    "status": "Device status changed",
    "deleted": "Device deleted",
    "restored": "Device restored",
}
JOB_FINISHED = "Job finished"  # a fleet job's end (docs/jobs.md): its detail is GET /jobs/{id}'s answer
# A liveness transition says which way it went: a rule on the bus can page on silence alone.
LIVENESS_DETAIL_TYPES = {"silent": "Device went silent", "reporting": "Device reporting again"}


def detail_type(detail: Mapping[str, Any]) -> str:
    """The ``DetailType`` of a change: by its kind, and for a liveness transition by its new value."""
    if detail["kind"] == "liveness":
        return LIVENESS_DETAIL_TYPES[detail["changes"]["liveness"]["new"]]
    return DETAIL_TYPES[detail["kind"]]


MAX_ENTRIES_PER_CALL = 10  # PutEvents' limit
MAX_BYTES_PER_CALL = 256 * 1024  # PutEvents' limit on a call's total entry size


def history_keys(record: Mapping[str, Any]) -> tuple[str, int] | None:
    """(device id, revision) when the record is the INSERT of a history item, else None."""
    if record.get("eventName") != "INSERT":
        return None
    item_keys = decode(record["dynamodb"]["Keys"])
    pk, sk = str(item_keys.get(keys.PK, "")), str(item_keys.get(keys.SK, ""))
    if not (pk.startswith(keys.DEVICE_PREFIX) and sk.startswith(keys.REVISION_PREFIX)):
        return None
    return pk.removeprefix(keys.DEVICE_PREFIX), int(sk.removeprefix(keys.REVISION_PREFIX))


def change_detail(device_id: str, image: Mapping[str, Any]) -> dict[str, Any]:
    """The history entry as the API answers it (registry/http/views.py), plus its device id: never
    a stored-only field (expires_at, created_at, status_then) nor an index key."""
    entry = HistoryRecord.from_item(decode(image))
    return {"device_id": device_id, **history_entry(entry).model_dump(mode="json", by_alias=True)}


def change_event(record: Mapping[str, Any]) -> dict[str, Any] | None:
    """A stream record (as Lambda delivers it) → ``{"Source", "DetailType", "Detail"}`` with
    ``Detail`` as an object, or None for a record that is not a change."""
    item_keys = history_keys(record)
    if item_keys is None:
        return job_finished(record)
    device_id, _ = item_keys
    detail = change_detail(device_id, record["dynamodb"]["NewImage"])
    return {"Source": SOURCE, "DetailType": detail_type(detail), "Detail": detail}


def job_finished(record: Mapping[str, Any]) -> dict[str, Any] | None:
    """``Job finished`` when the record is a job's item turning finished (once: later updates of a
    finished job's item, there are none, would not be a transition)."""
    if record.get("eventName") != "MODIFY" or decode(record["dynamodb"]["Keys"]).get(keys.PK) != keys.JOBS_PK:
        return None
    old, new = (Job.from_item(decode(record["dynamodb"][image])) for image in ("OldImage", "NewImage"))
    if old.finished or not new.finished:
        return None
    return {"Source": SOURCE, "DetailType": JOB_FINISHED, "Detail": new.answered()}


def put_entry(event: Mapping[str, Any], bus_name: str) -> dict[str, Any]:
    """The PutEvents entry of an event: ``Detail`` as the JSON string EventBridge takes."""
    return {
        "Source": event["Source"],
        "DetailType": event["DetailType"],
        "Detail": json.dumps(event["Detail"], separators=(",", ":"), ensure_ascii=False),
        "EventBusName": bus_name,
    }


def entry_size(entry: Mapping[str, Any]) -> int:
    """An entry's size as EventBridge counts it towards the 256 KB of a call (UTF-8 bytes of
    Source, DetailType, Detail, plus 14 bytes for the time)."""
    return 14 + sum(len(str(entry.get(name, "")).encode()) for name in ("Source", "DetailType", "Detail"))


def chunks(entries: Iterable[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """Consecutive groups (order kept) of at most 10 entries and 256 KB: one PutEvents call each."""
    group: list[dict[str, Any]] = []
    size = 0
    for entry in entries:
        this = entry_size(entry)
        if group and (len(group) == MAX_ENTRIES_PER_CALL or size + this > MAX_BYTES_PER_CALL):
            yield group
            group, size = [], 0
        group.append(entry)
        size += this
    if group:
        yield group
