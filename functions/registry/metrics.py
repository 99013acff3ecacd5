"""What an operator charts, as CloudWatch metrics: registrations, status changes and write
conflicts (a writer that had to read again because another got there first).

Powertools Metrics writes them as embedded-metric-format log lines (no API call, no extra
latency), in the namespace the stack sets (``POWERTOOLS_METRICS_NAMESPACE``); the entry point
flushes them once per invocation. The service counts through a plain callable, so it knows
nothing of CloudWatch and tests can count in a list."""

from __future__ import annotations

import threading
from enum import StrEnum

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

NAMESPACE = "DeviceRegistry"

_metrics = Metrics()
# A batch's items are written by several threads (registry/batch/runner.py); the metric set is a plain dict.
_lock = threading.Lock()


class Counter(StrEnum):
    REGISTRATIONS = "DevicesRegistered"
    STATUS_CHANGES = "StatusChanges"
    WRITE_CONFLICTS = "WriteConflicts"
    LIVENESS_CHANGES = "LivenessChanges"  # transitions recorded (registry/devices/liveness.py)
    LIVENESS_REFRESHES = "LivenessRefreshes"  # signs of life written (at most one per resolution)
    JOBS_FAILED = "JobsFailed"  # a fleet job finished failed or completed_with_failures (alarmed)


def count(counter: Counter) -> None:
    with _lock:
        _metrics.add_metric(name=counter.value, unit=MetricUnit.Count, value=1)


def flush() -> None:
    """Write what this invocation counted (nothing when it counted nothing)."""
    if _metrics.metric_set:
        _metrics.flush_metrics()
