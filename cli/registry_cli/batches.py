"""Sending a file's rows in batches, a few in flight, and accounting for every row.

Each row ends in exactly one place: counted under an outcome the job names (e.g. created), or
written to the errors file with its problem. When the run stops early (Ctrl-C, or the server
unreachable after every retry), the batches whose answer never came and the rows never sent are
written to the errors file too, so that it always holds every row that may not be in the
registry. Each batch carries an ``Idempotency-Key`` of its content and of the run: the run's own
retries are answered from the first attempt, while a new run is a new request, answered from the
registry as it is now (a replay of an earlier run's answer would call a device deleted since
"already present"); a device already registered is recognised, so running the same file again
registers nothing twice."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from registry_cli.client import ApiError, Registry, Unreachable
from registry_cli.rows import Row, Source

MAX_ITEMS = 100  # the batch routes take 1–100 items
MAX_BODY_BYTES = 900_000  # under the routes' 1 MiB body limit, with room for the envelope
IN_FLIGHT = 4
FAILED = "failed"
NOT_SENT = "not sent"
AGAIN = "again"  # an item the server could not do now (503 for that item alone): sent again


@dataclass(frozen=True)
class Outcome:
    kind: str  # one of the job's outcomes, or FAILED
    problem: str | None = None


class Job(Protocol):
    route: str  # the batch route
    envelope: str  # the body's list member
    outcomes: tuple[str, ...]  # the summary's lines, FAILED excluded

    def exclusive_key(self, item: dict[str, Any]) -> str | None:
        """Items with the same key go in different batches (None: no such rule)."""

    def settle(self, registry: Registry, rows: Sequence[Row], answer: httpx.Response) -> list[Outcome]:
        """Each row's outcome from the batch's answer (a 200 with per-item results)."""


@dataclass
class Summary:
    counts: Counter[str] = field(default_factory=Counter)
    stopped: str | None = None  # why the run ended early, if it did
    interrupted: bool = False


def idempotency_key(route: str, body: bytes, run: str) -> str:
    """The same batch of the same run always carries the same key: resent, the server answers
    it from its first time instead of applying it again. Another run's key differs."""
    return "batch-" + hashlib.sha256(f"{route}\n{run}\n".encode() + body).hexdigest()


class _Batcher:
    """Groups the sendable rows into batches; the rows already failed go to ``failed``. The batch
    being filled is kept in ``filling`` so that an interruption still accounts for it."""

    def __init__(self, rows: Iterator[Row], job: Job, failed: Callable[[Row, str], None]) -> None:
        self.rows = rows
        self.job = job
        self.failed = failed
        self.filling: list[Row] = []
        self.last_line = 0  # the last row taken from the file

    def __iter__(self) -> Iterator[list[Row]]:
        size = 0
        keys: set[str] = set()
        for row in self.rows:
            self.last_line = row.line
            if row.item is None:
                self.failed(row, row.problem or f"line {row.line} could not be read")
                continue
            item_size = len(json.dumps(row.item, ensure_ascii=False).encode()) + 2
            key = self.job.exclusive_key(row.item)
            if self.filling and (
                len(self.filling) >= MAX_ITEMS or size + item_size > MAX_BODY_BYTES or (key is not None and key in keys)
            ):
                yield self._take()
                size, keys = 0, set()
            self.filling.append(row)
            size += item_size
            if key is not None:
                keys.add(key)
        if self.filling:
            yield self._take()

    def _take(self) -> list[Row]:
        batch, self.filling = self.filling, []
        return batch


def _send(registry: Registry, job: Job, batch: list[Row], run: str) -> list[Outcome]:
    """Each row's outcome; the items the server answered "not now" (a per-item 503, a busy
    store) are sent again, in a smaller batch, after a backoff, as long as the client retries."""
    outcomes: dict[int, Outcome] = {}
    waiting = list(range(len(batch)))
    for attempt in range(registry.max_attempts):
        rows = [batch[i] for i in waiting]
        body = {job.envelope: [row.item for row in rows]}
        key = idempotency_key(job.route, json.dumps(body, ensure_ascii=False).encode(), run)
        try:
            answer = registry.request("POST", job.route, body=body, idempotency_key=key)
        except ApiError as error:  # the whole batch refused: every row gets the reason
            outcomes.update({i: Outcome(FAILED, f"line {batch[i].line}: {error.detail}") for i in waiting})
            break
        settled = job.settle(registry, rows, answer)
        outcomes.update({i: outcome for i, outcome in zip(waiting, settled, strict=True) if outcome.kind != AGAIN})
        again = [(i, outcome) for i, outcome in zip(waiting, settled, strict=True) if outcome.kind == AGAIN]
        if not again:
            break
        if attempt + 1 == registry.max_attempts:
            outcomes.update({i: Outcome(FAILED, outcome.problem) for i, outcome in again})
        else:
            waiting = [i for i, _ in again]
            registry.back_off(attempt, None)
    return [outcomes[i] for i in range(len(batch))]


def run(
    registry: Registry,
    source: Source,
    job: Job,
    *,
    in_flight: int = IN_FLIGHT,
    advance: Callable[[int], None] = lambda n: None,
) -> Summary:
    summary = Summary()
    errors = source.errors_writer()
    run_id = uuid.uuid4().hex

    def fail(row: Row, problem: str, kind: str = FAILED) -> None:
        errors.write(row, problem)
        summary.counts[kind] += 1
        advance(1)

    batcher = _Batcher(source.rows(), job, fail)
    waiting: list[Row] = []  # a batch made but not yet sent
    pending: deque[tuple[list[Row], Future[list[Outcome]]]] = deque()
    pool = ThreadPoolExecutor(max_workers=in_flight, thread_name_prefix="batch")

    def settle_oldest() -> None:
        batch, future = pending[0]
        for row, outcome in zip(batch, future.result(), strict=True):
            if outcome.kind == FAILED:
                fail(row, outcome.problem or "failed")
            else:
                summary.counts[outcome.kind] += 1
                advance(1)
        pending.popleft()

    try:
        try:
            for batch in batcher:
                waiting = batch
                while len(pending) >= in_flight:
                    settle_oldest()
                pending.append((batch, pool.submit(_send, registry, job, batch, run_id)))
                waiting = []
            while pending:
                settle_oldest()
        except KeyboardInterrupt:
            summary.interrupted = True
            summary.stopped = "interrupted"
        except Unreachable as error:
            summary.stopped = str(error)
        if summary.stopped is not None:
            registry.cancel()
            pool.shutdown(wait=False, cancel_futures=True)
            unconfirmed = f"not confirmed ({summary.stopped}): import the file again; nothing registers twice"
            for batch, _ in pending:
                for row in batch:
                    fail(row, unconfirmed, NOT_SENT)
            for row in waiting + batcher.filling:
                fail(row, f"not sent ({summary.stopped})", NOT_SENT)
            # The rest of the file, read again from where the batches stopped taking rows.
            for row in source.rows():
                if row.line > batcher.last_line:
                    fail(row, row.problem or f"not sent ({summary.stopped})", FAILED if row.problem else NOT_SENT)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        errors.close()
    return summary
