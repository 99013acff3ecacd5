"""The jobs' service behind the /jobs routes: create (validated before anything is stored), read,
list, results, cancel and rollback. A job runs elsewhere (registry/jobs/worker.py): creating one
stores it ``queued`` and enqueues its first step."""

from __future__ import annotations

from collections.abc import Callable

from registry.domain import cursors
from registry.domain.errors import JobFinished, JobNotFound, JobNotRollbackable, ServiceUnavailable
from registry.domain.jobs import Job, JobMessage, JobResult, JobState, Step
from registry.domain.values import new_device_id, now_timestamp
from registry.jobs.queue import JobQueue
from registry.jobs.schemas import JobRequest
from registry.storage.jobs import JobStore


class JobService:
    def __init__(
        self,
        store: JobStore,
        queue: JobQueue,
        *,
        clock: Callable[[], str] = now_timestamp,
        new_id: Callable[[], str] = new_device_id,  # UUID v7: time-ordered, so listed newest first
    ) -> None:
        self.store = store
        self.queue = queue
        self.clock = clock
        self.new_id = new_id

    def create(self, request: JobRequest, principal: str) -> Job:
        job = Job(
            id=self.new_id(),
            state=JobState.QUEUED.value,
            filter=request.filter.given(),
            patch=request.patch.changes(),
            dry_run=request.dry_run,
            created_by=principal,
            created_at=self.clock(),
        )
        return self._enqueue(job)

    def rollback(self, job_id: str, principal: str) -> Job:
        """A new job undoing, on each device ``job_id`` changed, exactly the fields it changed."""
        original = self.get(job_id)
        if not original.finished:
            raise JobNotRollbackable(
                f"Job {job_id} is {original.state}: roll it back once it has finished (or cancel it first)."
            )
        if original.dry_run:
            raise JobNotRollbackable(f"Job {job_id} was a dry run: it changed nothing to roll back.")
        job = Job(
            id=self.new_id(),
            state=JobState.QUEUED.value,
            filter={},
            patch={},
            dry_run=False,
            created_by=principal,
            created_at=self.clock(),
            rollback_of=original.id,
        )
        return self._enqueue(job)

    def _enqueue(self, job: Job) -> Job:
        self.store.create_job(job)
        try:
            self.queue.send(JobMessage(job.id, Step.RESOLVE))
        except Exception as error:
            # Never left queued with no message to run it: it failed, and the client retries.
            self.store.finish(job.id, JobState.FAILED, self.clock())
            raise ServiceUnavailable("The job queue is unreachable; retry shortly.") from error
        return job

    def get(self, job_id: str) -> Job:
        job = self.store.get_job(job_id)
        if job is None:
            raise JobNotFound(job_id)
        return job

    def list_jobs(self, *, limit: int, cursor: str | None) -> tuple[list[Job], str | None]:
        after = cursors.decode_job_cursor(cursor) if cursor else None
        page = self.store.list_jobs(limit=limit, after_id=after)
        last = page.items[-1] if page.items else None
        return page.items, cursors.encode_job_cursor(last.id) if last and page.has_more else None

    def results(
        self, job_id: str, *, outcome: str | None, limit: int, cursor: str | None
    ) -> tuple[list[JobResult], str | None]:
        after = cursors.decode_result_cursor(cursor) if cursor else None
        self.get(job_id)
        results, resume = self.store.list_results(job_id, outcome=outcome, limit=limit, after_device=after)
        return results, cursors.encode_result_cursor(resume) if resume else None

    def cancel(self, job_id: str) -> Job:
        """Flag the job: its worker stops before its next chunk; what is done stays done."""
        job = self.store.request_cancel(job_id)
        if job is None:
            finished = self.get(job_id)
            raise JobFinished(job_id, finished.state)
        return job
