"""Publishes the change events of a batch of stream records (registry/stream/change_events.py says which
records are changes and what they publish), in the batch's order, to a sink: the stack's
EventBridge bus in AWS (:class:`EventBridgeSink`), a JSON Lines file locally.

Delivery is at least once and never silently lossy: an entry the sink refuses (PutEvents'
per-entry ``ErrorCode``, or the whole call failing) is sent again, at most ``attempts`` times
with full-jitter backoff; after that its record is a failure that the caller reports (the
Lambda batch utility's partial batch response: Lambda retries from it, and after its bounded
retries sends the batch's coordinates to the on-failure queue). Once a device's record failed,
the device's later records in the batch are held back (failed too, not published), so a device's
events are never published out of revision order; other devices' records go on."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from registry.stream.change_events import MAX_ENTRIES_PER_CALL, change_event, chunks, put_entry

DEFAULT_ATTEMPTS = 5
BACKOFF_BASE_S = 0.05
BACKOFF_CAP_S = 2.0


class PublishError(RuntimeError):
    """A record whose event could not be published (or was held back behind one that could not)."""


class Sink(Protocol):
    def put(self, events: Sequence[Mapping[str, Any]]) -> list[str | None]:
        """Publish events (``Source``, ``DetailType``, ``Detail`` as an object), in order;
        answer each one's error (None: published)."""
        ...


@dataclass
class EventBridgeSink:
    """PutEvents on one bus; ``events`` is a boto3 EventBridge client."""

    events: Any
    bus_name: str

    def put(self, events: Sequence[Mapping[str, Any]]) -> list[str | None]:
        errors: list[str | None] = []
        for group in chunks(put_entry(event, self.bus_name) for event in events):
            try:
                answer = self.events.put_events(Entries=group)
            except (ClientError, BotoCoreError) as error:
                errors.extend([type(error).__name__] * len(group))
                continue
            for result in answer["Entries"]:
                code = result.get("ErrorCode")
                errors.append(f"{code}: {result.get('ErrorMessage', '')}" if code else None)
        return errors


@dataclass
class BatchOutcome:
    """What a batch did: the events published, and the records that failed (by sequence number)."""

    published: list[dict[str, Any]] = field(default_factory=list)
    failures: dict[str, Exception] = field(default_factory=dict)


def _sequence_number(record: Mapping[str, Any]) -> str:
    return str(record["dynamodb"]["SequenceNumber"])


def _partition(record: Mapping[str, Any]) -> str:
    return json.dumps(record["dynamodb"].get("Keys", {}).get("pk"), sort_keys=True)


def _backoff(attempt: int) -> float:
    return random.uniform(0, min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2**attempt))  # jitter, not crypto


@dataclass
class Publisher:
    sink: Sink
    attempts: int = DEFAULT_ATTEMPTS
    sleep: Callable[[float], None] = time.sleep

    def publish(self, records: Sequence[Mapping[str, Any]]) -> BatchOutcome:
        """Publish the change events of ``records`` (one shard's batch, in stream order)."""
        outcome = BatchOutcome()
        blocked: set[str] = set()  # devices with a failed record: their later records wait
        group: list[tuple[Mapping[str, Any], dict[str, Any]]] = []

        def flush() -> None:
            for (record, event), error in zip(group, self._put(group), strict=True):
                if error is None:
                    outcome.published.append(event)
                else:
                    outcome.failures[_sequence_number(record)] = PublishError(f"not published: {error}")
                    blocked.add(_partition(record))
            group.clear()

        for record in records:
            try:
                event = change_event(record)
            except Exception as error:  # a record we cannot read fails (bisect, then the DLQ); the rest go on
                flush()  # what came before it is published first
                outcome.failures[_sequence_number(record)] = PublishError(f"unreadable record: {error!r}")
                blocked.add(_partition(record))
                continue
            if event is None:
                continue
            if _partition(record) in blocked:
                outcome.failures[_sequence_number(record)] = PublishError(
                    "held back behind a failed record of the device"
                )
                continue
            group.append((record, event))
            if len(group) == MAX_ENTRIES_PER_CALL:  # one call: a failure in it holds back what follows
                flush()
        flush()
        return outcome

    def _put(self, group: list[tuple[Mapping[str, Any], dict[str, Any]]]) -> list[str | None]:
        errors: list[str | None] = [None] * len(group)
        if not group:
            return errors
        todo = list(range(len(group)))
        for attempt in range(self.attempts):
            if not todo:
                break
            if attempt:
                self.sleep(_backoff(attempt))
            answers = self.sink.put([group[i][1] for i in todo])
            for i, error in zip(todo, answers, strict=True):
                errors[i] = error
            todo = [i for i in todo if errors[i] is not None]
        return errors
