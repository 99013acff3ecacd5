"""Liveness as rules alone (no store, no clock): when a device that reports is late enough to be
``silent``, when a report refreshes its sign of life, and when a never-reporting device stops
being ``pending``. The deployment's numbers come in a :class:`LivenessRules`; times are the
stored timestamp strings (registry/domain/values.py), so the rules are testable at any date.

A report refreshes ``last_seen_at`` only when the stored one is at least one resolution old:
at most one small write per device per resolution, however often it reports. So the latest
report may be up to one resolution later than ``last_seen_at``, and a reporting device's
deadline is ``last_seen_at + resolution + window``: a device is never called silent while its
last report is younger than the window (it may be called so up to one resolution late)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from registry.domain.errors import ValidationFailed
from registry.domain.values import format_timestamp

if TYPE_CHECKING:
    from registry.settings import LivenessSettings

MAX_REPORT_INTERVAL_S = 86_400


def _moment(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp)


def later(stamp: str, seconds: int) -> str:
    """``stamp`` plus ``seconds``, as a stored timestamp."""
    return format_timestamp(_moment(stamp) + timedelta(seconds=seconds))


@dataclass(frozen=True)
class LivenessRules:
    """The deployment's liveness settings (docs/decisions.md, "Liveness")."""

    resolution_s: int = 300
    missed_reports: int = 3
    default_interval_s: int = 300
    min_interval_s: int = 60

    @classmethod
    def of(cls, settings: LivenessSettings) -> LivenessRules:
        """The rules a deployment's settings give (registry/settings.py)."""
        return cls(
            resolution_s=settings.resolution_s,
            missed_reports=settings.missed_reports,
            default_interval_s=settings.default_report_interval_s,
            min_interval_s=settings.min_report_interval_s,
        )

    def window_s(self, report_interval_s: int | None) -> int:
        """How long without a report makes a device silent: ``missed_reports × report_interval_s``,
        at least the resolution."""
        interval = report_interval_s or self.default_interval_s
        return max(self.missed_reports * interval, self.resolution_s)

    def pending_deadline(self, created_at: str, report_interval_s: int | None) -> str:
        """When a device that never reports stops being ``pending``."""
        return later(created_at, self.window_s(report_interval_s))

    def reporting_deadline(self, last_seen_at: str, report_interval_s: int | None) -> str:
        """When a device last seen at ``last_seen_at`` becomes ``silent`` unless it reports again."""
        return later(last_seen_at, self.resolution_s + self.window_s(report_interval_s))

    def refresh_due(self, last_seen_at: str | None, now: str) -> bool:
        """Whether a report at ``now`` writes ``last_seen_at`` (it is absent, or a resolution old)."""
        return last_seen_at is None or now >= later(last_seen_at, self.resolution_s)

    def check_interval(self, report_interval_s: int | None) -> None:
        """A ``report_interval_s`` the deployment accepts (the schema checks 1–86,400; the least
        is the deployment's): 422 naming the field otherwise."""
        if report_interval_s is not None and report_interval_s < self.min_interval_s:
            message = f"report_interval_s must be at least {self.min_interval_s} seconds in this deployment"
            raise ValidationFailed(
                f"report_interval_s {report_interval_s} is too short: {message}.",
                errors=[{"field": "report_interval_s", "message": message}],
            )
