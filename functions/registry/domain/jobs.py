"""Fleet jobs as data (docs/jobs.md): a job's states and its devices' outcomes, the job and result
records, the messages that drive a job through its engine, and the rule of a rollback — which
fields a revision changed and the merge patch that sets them back."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from registry.domain.records import _Record


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    COMPLETED_WITH_FAILURES = "completed_with_failures"
    CANCELLED = "cancelled"
    FAILED = "failed"


FINISHED_STATES = frozenset({JobState.SUCCEEDED, JobState.COMPLETED_WITH_FAILURES, JobState.CANCELLED, JobState.FAILED})


class Outcome(StrEnum):
    CHANGED = "changed"
    UNCHANGED = "unchanged"
    FAILED = "failed"
    SKIPPED = "skipped"
    WOULD_CHANGE = "would_change"


# The counts a job answers. A dry run's ``would_change`` devices are counted as ``changed``: what
# the job would change.
COUNT_NAMES = ("matched", "changed", "unchanged", "failed", "skipped")
_COUNTED_AS = {Outcome.WOULD_CHANGE: "changed"}


def tally(outcomes: Iterable[str]) -> dict[str, int]:
    """Per-count totals of device outcomes (``matched`` apart: the resolution counts it)."""
    counts = dict.fromkeys(COUNT_NAMES[1:], 0)
    for outcome in outcomes:
        counts[_COUNTED_AS.get(Outcome(outcome), outcome)] += 1
    return counts


@dataclass(frozen=True, slots=True)
class Job(_Record):
    """A job's item. ``resolved_pages``: how many pages of devices the resolution has stored (the
    devices matching when it started); ``resolve_cursor``: where it goes on (None once ``resolved``);
    ``counted_pages``: how many pages' outcomes ``counts`` holds (pages are applied in order)."""

    id: str
    state: str
    filter: dict[str, str]
    patch: dict[str, Any]
    dry_run: bool
    created_by: str
    created_at: str
    rollback_of: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNT_NAMES, 0))
    cancel_requested: bool = False
    resolved: bool = False
    resolved_pages: int = 0
    resolve_cursor: str | None = None
    counted_pages: int = 0

    @property
    def finished(self) -> bool:
        return self.state in FINISHED_STATES

    def answered(self) -> dict[str, Any]:
        """The job as the API answers it (``GET /jobs/{id}``) and its ``Job finished`` event carries it."""
        return {
            "id": self.id,
            "state": self.state,
            "filter": self.filter,
            "patch": self.patch,
            "dry_run": self.dry_run,
            "rollback_of": self.rollback_of,
            "created_by": self.created_by,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "counts": {name: int(self.counts.get(name, 0)) for name in COUNT_NAMES},
        }

    def final_state(self) -> JobState:
        """How a job that ran to its end finished."""
        return JobState.COMPLETED_WITH_FAILURES if self.counts.get("failed") else JobState.SUCCEEDED


@dataclass(frozen=True, slots=True)
class JobResult(_Record):
    """What a job did to one device: written once (the first write wins; a re-delivered chunk finds
    it and moves on). ``revision``: the revision the job made; ``changes``: its changes (or, in a
    dry run, those it would make); ``problem``: why it failed or was skipped (a problem document)."""

    device_id: str
    outcome: str
    revision: int | None = None
    changes: dict[str, dict[str, Any]] | None = None
    problem: dict[str, Any] | None = None

    def to_item(self) -> dict[str, Any]:
        return {name: value for name, value in _Record.to_item(self).items() if value is not None}


@dataclass(frozen=True, slots=True)
class JobPage(_Record):
    """One stored page of a job's devices (at most a chunk); a rollback's carries, for each
    device, the revision the rolled-back job made."""

    devices: list[str]
    revisions: list[int] = field(default_factory=list)


class Step(StrEnum):
    RESOLVE = "resolve"  # store the next pages of the devices the job acts on
    APPLY = "apply"  # act on one stored page


@dataclass(frozen=True)
class JobMessage:
    """One message of a job's chain on its queue: each step enqueues the next."""

    job_id: str
    step: Step
    page: int = 0

    def to_body(self) -> dict[str, Any]:
        return {"job_id": self.job_id, "step": self.step.value, "page": self.page}

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> JobMessage:
        return cls(job_id=str(body["job_id"]), step=Step(body["step"]), page=int(body.get("page", 0)))

    @property
    def deduplication_id(self) -> str:
        """The same step of the same job is the same message: a queue that deduplicates drops it
        when a re-delivered step enqueues its successor again."""
        return f"{self.job_id}:{self.step.value}:{self.page}"


# -- rollback: undo exactly the fields one revision changed ------------------------------------


def undo_patch(changes: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The merge patch that sets every field a revision changed (``changes`` of its history entry,
    ``attributes.<key>`` key by key) back to its old value; a key the revision added is removed."""
    patch: dict[str, Any] = {}
    for name, change in changes.items():
        if name.startswith("attributes."):
            patch.setdefault("attributes", {})[name.removeprefix("attributes.")] = change.get("old")
        else:
            patch[name] = change.get("old")
    return patch


def overlap(fields: Iterable[str], changes: Mapping[str, Any]) -> list[str]:
    """The fields of ``fields`` that ``changes`` (a later revision's) changed too, sorted."""
    return sorted(set(fields) & set(changes))


def current_step(job: Job) -> JobMessage:
    """The step an unfinished job is at: what to enqueue again when its message was lost (the local
    server restarted over its data directory; the queue's duplicate filter drops it otherwise)."""
    if not job.resolved:
        return JobMessage(job.id, Step.RESOLVE, job.resolved_pages)
    return JobMessage(job.id, Step.APPLY, job.counted_pages)
