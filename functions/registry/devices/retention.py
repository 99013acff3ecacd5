"""Retention (docs/decisions.md): status-kind history entries expire ``status_history_days``
after they are written (0 keeps them forever: no ``expires_at`` is written); config-kind entries
never do. An entry past its ``expires_at`` is gone, even while DynamoDB TTL (which deletes
lazily) still keeps it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from registry.domain.records import HistoryRecord
from registry.domain.values import format_timestamp

_DAY_S = 24 * 3600


def _epoch(at: str) -> int:
    """A stored timestamp → whole epoch seconds (the form DynamoDB TTL reads)."""
    return int(datetime.fromisoformat(at).timestamp())


class Retention:
    """The retention rules of a service: its clock and its setting."""

    clock: Callable[[], str]
    status_history_days: int

    def _now_epoch(self) -> int:
        return _epoch(self.clock())

    def _expired(self, entry: HistoryRecord) -> bool:
        """Past its expires_at: gone, even while DynamoDB TTL (which deletes lazily) keeps it."""
        return entry.expires_at is not None and entry.expires_at <= self._now_epoch()

    def _horizon(self) -> str:
        """The oldest time whose status entries are still kept (retention on)."""
        moment = datetime.fromisoformat(self.clock()) - timedelta(days=self.status_history_days)
        return format_timestamp(moment)

    def _before_horizon(self, at: str) -> bool:
        return self.status_history_days > 0 and at < self._horizon()

    def _expires_at(self, at: str) -> int | None:
        """When a status-kind entry written at ``at`` expires (None: retention is off)."""
        return _epoch(at) + self.status_history_days * _DAY_S if self.status_history_days > 0 else None
