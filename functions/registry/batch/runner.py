"""Batches: up to 100 registrations (``POST /devices/batch``) or status reports
(``POST /status-reports``) in one request, each item the single route's operation through the
service, on its own: one item's failure (422, 409, 404, a busy store) stops no other.

Items run concurrently on a small thread pool. What the threads share is safe to share: the
service and its boto3 client (low-level clients are thread-safe; the pool stays within the
client's connection pool) and the metrics (counted under a lock). What is not — the Powertools
resolver's current event, the principal it names — is read by the handler before the items run
and passed in."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from pydantic import BaseModel, ValidationError

from registry.batch.schemas import StatusReport
from registry.devices.service import DeviceService
from registry.domain.errors import DeviceNotFound, MacAddressTaken, MacRepeatedInBatch, RegistryError, ValidationFailed
from registry.domain.records import Device
from registry.http import problems
from registry.schemas import DeviceAttributes

# Concurrent items per request: DynamoDB answers a write in ~10 ms, so 8 in flight register 100
# devices in a fraction of a second; more would queue on the client's connection pool
# (registry/wiring.py; botocore's default of 10).
WORKERS = 8


@dataclass(frozen=True)
class Outcome[T]:
    """One item's result: its value, or the error that left it undone."""

    index: int
    value: T | None = None
    error: RegistryError | None = None


@dataclass(frozen=True)
class Reported:
    device: Device
    changed: bool


def parse_each[M: BaseModel](model: type[M], items: Sequence[object]) -> list[M | RegistryError]:
    """Each item validated on its own: the model, or the 422 a single request's body would get."""
    parsed: list[M | RegistryError] = []
    for item in items:
        try:
            parsed.append(model.model_validate(item))
        except ValidationError as error:
            parsed.append(problems.from_validation_errors(error.errors(include_url=False, include_input=False)))
    return parsed


def _run[T](work: Callable[[int], T], indexes: Sequence[int], workers: int) -> dict[int, Outcome[T]]:
    """``work(index)`` for each index, at most ``workers`` at a time; a domain error is that
    item's outcome (anything else is a bug, and fails the request)."""

    def attempt(index: int) -> Outcome[T]:
        try:
            return Outcome(index, value=work(index))
        except RegistryError as error:
            return Outcome(index, error=error)

    if not indexes:
        return {}
    with ThreadPoolExecutor(max_workers=min(workers, len(indexes)), thread_name_prefix="batch") as pool:
        return {outcome.index: outcome for outcome in pool.map(attempt, indexes)}


def register_all(
    service: DeviceService, items: Sequence[object], principal: str, *, workers: int = WORKERS
) -> list[Outcome[Device]]:
    """Register each valid item as ``POST /devices`` would. A MAC address in several items is
    registered by the first of them; the others get its 409 (naming the device that has it)."""
    parsed = parse_each(DeviceAttributes, items)
    valid = {index: item for index, item in enumerate(parsed) if isinstance(item, DeviceAttributes)}
    first_with: dict[str, int] = {}
    for index, device in valid.items():
        first_with.setdefault(device.mac_address, index)
    runs = _run(lambda index: service.register(valid[index], principal), sorted(first_with.values()), workers)
    outcomes: list[Outcome[Device]] = []
    for index, item in enumerate(parsed):
        if isinstance(item, RegistryError):
            outcomes.append(Outcome(index, error=item))
        elif first_with[item.mac_address] == index:
            outcomes.append(runs[index])
        else:
            outcomes.append(Outcome(index, error=_repeat(runs[first_with[item.mac_address]], item.mac_address)))
    return outcomes


def _repeat(first: Outcome[Device], mac: str) -> RegistryError:
    if first.value is not None:
        return MacAddressTaken(mac, first.value.id)
    if isinstance(first.error, MacAddressTaken):
        return first.error
    return MacRepeatedInBatch(mac, first.index)


def report_all(
    service: DeviceService, items: Sequence[object], principal: str, *, workers: int = WORKERS
) -> list[Outcome[Reported]]:
    """Apply each valid report as ``PUT /devices/{id}/status`` would, from the devices and their
    signs of life read in one BatchGetItem each: a report that changes nothing (and refreshes
    nothing) writes nothing; each change is one transaction (re-read and retried on a concurrent
    write, as a single PUT is); each a sign of life (registry/devices/liveness.py)."""
    parsed = parse_each(StatusReport, items)
    valid = {index: item for index, item in enumerate(parsed) if isinstance(item, StatusReport)}
    _refuse_repeats(valid)
    ids = [report.device_id for report in valid.values()]
    current = service.store.get_devices(ids) if valid else {}
    # Their signs of life too, so that a report within the resolution writes nothing.
    seen = service.store.get_seen(ids, consistent=True) if valid else {}

    def apply(index: int) -> Reported:
        report = valid[index]
        before = current.get(report.device_id)
        if before is None or before.deleted:
            raise DeviceNotFound(report.device_id)
        first = (before, seen.get(report.device_id))
        after, _ = service.report(report.device_id, report, expected=None, principal=principal, first=first)
        return Reported(after, changed=after.status_version != before.status_version)

    runs = _run(apply, sorted(valid), workers)
    return [
        runs[index] if isinstance(item, StatusReport) else Outcome(index, error=item)
        for index, item in enumerate(parsed)
    ]


def _refuse_repeats(reports: dict[int, StatusReport]) -> None:
    """At most one report per device: two would leave which one wins to chance."""
    first_for: dict[str, int] = {}
    errors = []
    for index, report in reports.items():
        first = first_for.setdefault(report.device_id, index)
        if first != index:
            errors.append({"field": f"reports.{index}.device_id", "message": f"repeats the device of reports.{first}"})
    if errors:
        raise ValidationFailed(
            f"Each device may be reported once per request; {len(errors)} report(s) repeat an earlier one's device.",
            errors=errors,
        )
