"""The job worker (docs/jobs.md): what a message of a job's chain does, in AWS (handlers/run_jobs.py,
invoked by the queue) and locally (local/jobs.py) alike.

* ``resolve`` (the first step): the devices matching the filter when the job starts — paged through
  the same fleet query as ``GET /devices`` (a rollback: the devices the rolled-back job changed) —
  stored a chunk a page, a few pages a message, until the query is done; then the first ``apply``.
* ``apply n``: each device of page n not yet done, as ``PATCH`` changes it (the revision's history
  entry carries the job's id, its transaction the job's result for the device), at most
  ``rate_per_s`` a second; then the page's outcomes added to the counts, once; then page n + 1, or
  the end. A cancelled job stops before its next step.

Delivery is at least once, so every step is idempotent: a re-delivered step finds the results (and
the counts, and the pages) an earlier delivery wrote and does only what is left, and enqueues the
same successor again (the queue drops the duplicate). A device is never changed twice by a job:
the result's put, conditional on there being none, is in the revision's transaction."""

from __future__ import annotations

import time
from collections.abc import Callable

from pydantic import ValidationError

from registry.devices.service import DeviceService
from registry.domain.errors import LaterChange, RegistryError, ServiceUnavailable
from registry.domain.jobs import Job, JobMessage, JobPage, JobResult, JobState, Outcome, Step, tally
from registry.domain.values import now_timestamp
from registry.http.problems import from_validation_errors, problem_document
from registry.jobs.queue import JobQueue
from registry.jobs.schemas import fleet_filter
from registry.metrics import Counter
from registry.storage.device_writes import ResultExists
from registry.storage.jobs import JobStore

# A message delivered this many times without completing fails its job (the queue moves it to the
# dead-letter queue one delivery later, infra/jobs.py): the job is `failed`, not stuck `running`.
MAX_DELIVERIES = 5
CHUNK_SIZE = 25  # devices a page, and so an `apply` message: one BatchGetItem of their results
RESOLVE_PAGES_PER_STEP = 20  # fleet query pages a `resolve` message stores (one transaction)


class Pacer:
    """At most ``rate_per_s`` devices a second (0: no limit), by an injected clock and sleep."""

    def __init__(self, rate_per_s: float, monotonic: Callable[[], float], sleep: Callable[[float], None]) -> None:
        self.rate, self.monotonic, self.sleep = rate_per_s, monotonic, sleep
        self.started = monotonic()
        self.done = 0

    def wait(self) -> None:
        if self.rate > 0:
            delay = self.started + self.done / self.rate - self.monotonic()
            if delay > 0:
                self.sleep(delay)
        self.done += 1


class JobWorker:
    def __init__(
        self,
        store: JobStore,
        devices: DeviceService,
        queue: JobQueue,
        *,
        chunk_size: int = CHUNK_SIZE,
        rate_per_s: float = 0,
        clock: Callable[[], str] = now_timestamp,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        count: Callable[[Counter], None] = lambda _: None,
    ) -> None:
        self.store, self.devices, self.queue, self.count = store, devices, queue, count
        self.chunk_size, self.rate_per_s = chunk_size, rate_per_s
        self.clock, self.monotonic, self.sleep = clock, monotonic, sleep
        # Called after each device's result is written (the local server injects faults here).
        self.on_result: Callable[[JobResult], None] = lambda _: None

    def handle(self, message: JobMessage, *, deliveries: int = 1) -> None:
        job = self.store.get_job(message.job_id)
        if job is None or job.finished:
            return  # a duplicate of a step after the end
        if deliveries > MAX_DELIVERIES:
            self._finish(job, JobState.FAILED)
        elif job.cancel_requested:
            self._finish(job, JobState.CANCELLED)
        elif message.step is Step.RESOLVE:
            self._resolve(job, message.page)
        else:
            self._apply(job, message.page)

    # -- resolve: the devices matching when the job starts -----------------------------------------

    def _resolve(self, job: Job, page: int) -> None:
        if job.state == JobState.QUEUED:
            job = self.store.start(job.id, self.clock()) or self._reread(job)
        if not job.resolved and job.resolved_pages == page:
            pages: list[JobPage] = []
            cursor, matched = job.resolve_cursor, job.counts.get("matched", 0)
            for _ in range(RESOLVE_PAGES_PER_STEP):
                found, cursor = self._devices(job, cursor)
                if found.devices:
                    pages.append(found)
                    matched += len(found.devices)
                if cursor is None:
                    break
            self.store.store_pages(job.id, first=page, pages=pages, cursor=cursor, matched=matched)
            job = self._reread(job)
        # This step's successor (a re-delivery enqueues it again: the queue drops the duplicate).
        if not job.resolved:
            self.queue.send(JobMessage(job.id, Step.RESOLVE, job.resolved_pages))
        elif job.resolved_pages:
            self.queue.send(JobMessage(job.id, Step.APPLY, 0))
        else:
            self._finish(job, job.final_state())  # nothing matched

    def _devices(self, job: Job, cursor: str | None) -> tuple[JobPage, str | None]:
        """One page of the devices the job acts on, and where the next starts (None: the last)."""
        if job.rollback_of is None:
            listed, following = self.devices.list_devices(
                limit=self.chunk_size, cursor=cursor, filters=fleet_filter(job.filter)
            )
            return JobPage([device.id for device in listed]), following
        results, resume = self.store.list_results(
            job.rollback_of, outcome=Outcome.CHANGED.value, limit=self.chunk_size, after_device=cursor
        )
        return JobPage([r.device_id for r in results], [r.revision or 0 for r in results]), resume

    # -- apply: one page -------------------------------------------------------------------------

    def _apply(self, job: Job, page: int) -> None:
        if job.counted_pages == page:
            stored = self.store.get_page(job.id, page)
            devices = stored.devices if stored else []
            done = self.store.get_results(job.id, devices) if devices else {}
            pacer = Pacer(self.rate_per_s, self.monotonic, self.sleep)
            for n, device_id in enumerate(devices):
                if device_id not in done:
                    pacer.wait()
                    revision = stored.revisions[n] if stored and stored.revisions else None
                    done[device_id] = self._act(job, device_id, revision)
                    self.on_result(done[device_id])
            job = self.store.count_page(job.id, page, tally(r.outcome for r in done.values())) or self._reread(job)
        if page + 1 < job.resolved_pages:
            self.queue.send(JobMessage(job.id, Step.APPLY, page + 1))
        else:
            self._finish(job, job.final_state())

    def _act(self, job: Job, device_id: str, revision: int | None) -> JobResult:
        """What the job does to one device, its result written once (the first write wins)."""
        try:
            if job.dry_run:
                changes = self.devices.preview_patch(device_id, job.patch)
                result = (
                    JobResult(device_id, Outcome.WOULD_CHANGE.value, changes=changes)
                    if changes
                    else JobResult(device_id, Outcome.UNCHANGED.value)
                )
            else:
                change = (
                    self.devices.undo_for_job(device_id, revision or 0, job_id=job.id, principal=job.created_by)
                    if job.rollback_of is not None
                    else self.devices.patch_for_job(device_id, job.patch, job_id=job.id, principal=job.created_by)
                )
                if change is not None:  # its result was written in the revision's transaction
                    return JobResult(
                        device_id,
                        Outcome.CHANGED.value,
                        revision=change.device.revision,
                        changes=change.history.changes,
                    )
                result = JobResult(device_id, Outcome.UNCHANGED.value)
        except ResultExists:
            return self.store.get_results(job.id, [device_id])[device_id]
        except LaterChange as error:
            result = JobResult(device_id, Outcome.SKIPPED.value, problem=problem_document(error))
        except ServiceUnavailable:
            raise  # the store is busy: the message is delivered again later, and resumes here
        except RegistryError as error:
            result = JobResult(device_id, Outcome.FAILED.value, problem=problem_document(error))
        except ValidationError as error:  # the merged attributes break a rule (too many keys, say)
            invalid = from_validation_errors(error.errors(include_url=False, include_input=False))
            result = JobResult(device_id, Outcome.FAILED.value, problem=problem_document(invalid))
        if not self.store.put_result(job.id, result):
            return self.store.get_results(job.id, [device_id])[device_id]
        return result

    def _finish(self, job: Job, state: JobState) -> None:
        finished = self.store.finish(job.id, state, self.clock())
        if finished is not None and state in (JobState.FAILED, JobState.COMPLETED_WITH_FAILURES):
            self.count(Counter.JOBS_FAILED)

    def _reread(self, job: Job) -> Job:
        return self.store.get_job(job.id) or job
