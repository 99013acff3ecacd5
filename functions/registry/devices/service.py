"""The devices' service: the domain rules over the store, for the handlers (through
registry.wiring) and the batches. One class made of its parts:

* :class:`~registry.devices.writes.DeviceWrites`: register, change, revert, restore, delete, status;
* :class:`~registry.devices.liveness.Liveness`: reports as signs of life, liveness transitions;
* :class:`~registry.devices.queries.DeviceQueries`: a device, lists, history, holders, statistics;
* :class:`~registry.devices.time_travel.TimeTravel`: state as of a time, diffs between revisions;
* :class:`~registry.devices.retention.Retention`: when status entries expire.

The rules of a change itself (diffs, snapshots, merge patch, holder intervals) are data alone:
registry/domain/changes.py."""

from __future__ import annotations

import time
from collections.abc import Callable

from registry.devices.liveness import Liveness
from registry.devices.time_travel import TimeTravel
from registry.devices.writes import WRITE_ATTEMPTS
from registry.domain.liveness import LivenessRules
from registry.domain.values import now_timestamp
from registry.metrics import Counter
from registry.storage.devices import DeviceStore

DEFAULT_RULES = LivenessRules()  # AWS's defaults (registry/settings.py reads a deployment's)


class DeviceService(Liveness, TimeTravel):
    def __init__(
        self,
        store: DeviceStore,
        *,
        clock: Callable[[], str] = now_timestamp,
        max_attempts: int = WRITE_ATTEMPTS,
        sleep: Callable[[float], None] = time.sleep,
        count: Callable[[Counter], None] = lambda _: None,
        status_history_days: int = 0,
        rules: LivenessRules = DEFAULT_RULES,
    ) -> None:
        self.store = store
        self.clock = clock
        # Retention (docs/decisions.md): status-kind entries expire this many days after they
        # are written; 0 keeps them forever (no expires_at is written).
        self.status_history_days = status_history_days
        self.rules = rules  # liveness: resolution, missed reports, report intervals
        self.max_attempts = max_attempts
        self.sleep = sleep
        self.count = count
