"""The liveness sweep: every ``liveness_sweep_s`` (an EventBridge schedule in AWS, a timer in the
local server), find the devices whose deadline has passed and record each one's transition to
``silent`` (registry/devices/liveness.py). It reads only the devices due: one Query per shard of
the sparse ``due_by_deadline`` index (registry/storage/keys.py), which holds an entry per device
still awaited, keyed by its deadline; a device found due is read again consistently before its
transition is written (the index is eventually consistent, and a report may have come since)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from registry.devices.service import DeviceService
from registry.storage import keys

WORKERS = 8  # devices silenced at a time: the sweep is many small independent transactions


@dataclass(frozen=True)
class SweepReport:
    """What one sweep did: the shards it queried, the devices it found due, those it silenced."""

    now: str
    shards: int
    due: int
    silenced: int


def sweep(service: DeviceService, *, now: str | None = None, workers: int = WORKERS) -> SweepReport:
    """Silence every device due at ``now`` (the service's clock by default)."""
    moment = now or service.clock()
    shards = keys.due_shards()
    due = [found for shard in shards for found in service.store.due(shard, moment)]
    silence: Callable[[tuple[str, str]], bool] = lambda found: service.silence(found[0], found[1], moment)  # noqa: E731
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(due) or 1))) as pool:
        silenced = sum(pool.map(silence, due))
    return SweepReport(now=moment, shards=len(shards), due=len(due), silenced=silenced)
