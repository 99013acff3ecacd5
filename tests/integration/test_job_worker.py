"""The job worker (registry/jobs/worker.py) on moto's DynamoDB and SQS, driven message by message as
the queue's event source mapping drives it: re-delivered steps, a step delivered twice, a worker that
dies between a device's revision and the next, too many deliveries, a rollback's field-by-field rule,
and the job worker's sample event (events/run_jobs.json)."""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest

from local.proxy_events import LambdaContext
from registry.devices.service import DeviceService
from registry.domain.jobs import JobMessage, JobResult, Step
from registry.jobs.queue import SqsJobQueue
from registry.jobs.schemas import JobRequest
from registry.jobs.service import JobService
from registry.jobs.worker import MAX_DELIVERIES, JobWorker
from registry.storage.jobs import JobStore
from tests.support import TABLE_NAME

EVENTS = Path(__file__).resolve().parents[2] / "events"


class Crash(Exception):
    """The worker dies (its Lambda times out, say) right after a device's result is written."""


@pytest.fixture
def sqs(dynamodb: Any) -> Any:
    return boto3.client("sqs")


@pytest.fixture
def jobs(dynamodb: Any, sqs: Any) -> JobService:
    return JobService(JobStore(dynamodb, TABLE_NAME), SqsJobQueue(sqs, os.environ["JOB_QUEUE_URL"]))


@pytest.fixture
def worker(dynamodb: Any, sqs: Any, service: DeviceService) -> JobWorker:
    return JobWorker(
        JobStore(dynamodb, TABLE_NAME), service, SqsJobQueue(sqs, os.environ["JOB_QUEUE_URL"]), chunk_size=4
    )


def _receive(sqs: Any) -> list[dict[str, Any]]:
    return list(
        sqs.receive_message(
            QueueUrl=os.environ["JOB_QUEUE_URL"], MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
        ).get("Messages", [])
    )


def _drain(sqs: Any, worker: JobWorker, *, after: Callable[[JobMessage], object] = lambda _: None) -> list[JobMessage]:
    """Deliver every message until the queue is empty, calling ``after`` after each step (a message
    whose step raises stays undeleted, as a failed invocation's does); the steps handled, in order."""
    handled: list[JobMessage] = []
    for _ in range(200):
        messages = _receive(sqs)
        if not messages:
            return handled
        for message in messages:
            step = JobMessage.from_body(json.loads(message["Body"]))
            worker.handle(step, deliveries=int(message["Attributes"]["ApproximateReceiveCount"]))
            handled.append(step)
            sqs.delete_message(QueueUrl=os.environ["JOB_QUEUE_URL"], ReceiptHandle=message["ReceiptHandle"])
            after(step)
    raise AssertionError("the queue never emptied")


def _request(**body: Any) -> JobRequest:
    return JobRequest.model_validate(body)


def _job_entries(invoke: Any, device_id: str, job_id: str) -> list[dict[str, Any]]:
    items = invoke("list_history", f"/devices/{device_id}/history", query="limit=100")["json"]["items"]
    return [entry for entry in items if entry.get("job_id") == job_id]


def test_a_worker_that_dies_after_a_revision_changes_nothing_twice_when_its_step_comes_again(
    make_device, invoke, jobs, worker, sqs
) -> None:
    devices = [make_device(location="crash")["id"] for _ in range(10)]
    job = jobs.create(_request(filter={"location": "crash"}, patch={"firmware_version": "3.0"}), "operator")
    written: list[JobResult] = []

    def die_on_the_sixth(result: JobResult) -> None:
        written.append(result)
        if len(written) == 6:
            raise Crash

    worker.on_result = die_on_the_sixth
    with pytest.raises(Crash):
        _drain(sqs, worker)
    worker.on_result = lambda _: None
    _drain_until_finished(sqs, worker, jobs, job.id)

    finished = jobs.get(job.id)
    assert (finished.state, finished.counts["changed"], finished.counts["matched"]) == ("succeeded", 10, 10)
    for device_id in devices:
        assert [entry["revision"] for entry in _job_entries(invoke, device_id, job.id)] == [2]


def _drain_until_finished(sqs: Any, worker: JobWorker, jobs: JobService, job_id: str) -> None:
    """Deliver until the job finishes, re-sending its current step when its message is in flight
    (moto keeps an undeleted message invisible for the queue's visibility timeout)."""
    from registry.domain.jobs import current_step

    for _ in range(50):
        _drain(sqs, worker)
        job = jobs.get(job_id)
        if job.finished:
            return
        worker.handle(current_step(job), deliveries=2)
    raise AssertionError("the job never finished")


def test_a_step_delivered_twice_counts_its_devices_once(make_device, jobs, worker, sqs) -> None:
    for _ in range(6):
        make_device(location="twice")
    job = jobs.create(_request(filter={"location": "twice"}, patch={"serial_number": "S"}), "operator")

    steps = _drain(sqs, worker)
    for step in steps:  # every step again, after the job finished, and in the middle of nothing
        worker.handle(step, deliveries=2)

    finished = jobs.get(job.id)
    assert finished.counts == {"matched": 6, "changed": 6, "unchanged": 0, "failed": 0, "skipped": 0}
    assert [step.step for step in steps] == [Step.RESOLVE, Step.APPLY, Step.APPLY]  # 6 devices, 4 a chunk


def test_a_step_that_keeps_failing_fails_its_job_instead_of_running_forever(make_device, jobs, worker) -> None:
    make_device(location="doomed")
    job = jobs.create(_request(filter={"location": "doomed"}, patch={"location": "x"}), "operator")

    worker.handle(JobMessage(job.id, Step.RESOLVE), deliveries=MAX_DELIVERIES + 1)

    failed = jobs.get(job.id)
    assert (failed.state, failed.finished_at is not None, failed.counts["changed"]) == ("failed", True, 0)


def test_a_job_cancelled_between_chunks_stops_there(make_device, invoke, jobs, worker, sqs) -> None:
    for _ in range(12):
        make_device(location="stop")
    job = jobs.create(_request(filter={"location": "stop"}, patch={"location": "gone"}), "operator")

    _drain(sqs, worker, after=lambda step: step == JobMessage(job.id, Step.APPLY, 0) and jobs.cancel(job.id))

    cancelled = jobs.get(job.id)
    assert cancelled.state == "cancelled" and cancelled.counts["changed"] == 4  # the first chunk only
    assert len(jobs.results(job.id, outcome="changed", limit=100, cursor=None)[0]) == 4


def test_a_rollback_keeps_a_later_change_to_another_attribute_key_and_skips_one_to_the_same(
    make_device, invoke, jobs, worker, sqs
) -> None:
    same, other = (make_device(location="keys", attributes={"k": "0", "j": "0"})["id"] for _ in range(2))
    job = jobs.create(_request(filter={"location": "keys"}, patch={"attributes": {"k": "1"}}), "operator")
    _drain(sqs, worker)
    invoke("update_device", f"/devices/{same}", body={"attributes": {"k": "2"}})
    invoke("update_device", f"/devices/{other}", body={"attributes": {"j": "2"}})

    rollback = jobs.rollback(job.id, "operator")
    _drain(sqs, worker)

    done = jobs.get(rollback.id)
    assert (done.counts["changed"], done.counts["skipped"]) == (1, 1)
    assert invoke("get_device", f"/devices/{same}")["json"]["attributes"] == {"k": "2", "j": "0"}
    assert invoke("get_device", f"/devices/{other}")["json"]["attributes"] == {"k": "0", "j": "2"}
    (skipped,) = jobs.results(rollback.id, outcome="skipped", limit=10, cursor=None)[0]
    assert skipped.problem is not None and "revision 3" in skipped.problem["detail"]


def test_the_job_worker_sample_event_runs_the_jobs_first_step(make_device, jobs, sqs) -> None:
    make_device(location="sample")
    job = jobs.create(_request(filter={"location": "sample"}, patch={"location": "x"}), "operator")
    _receive(sqs)  # the real first message, out of the way
    event = json.loads((EVENTS / "run_jobs.json").read_text().replace("01a250d4-ae5a-79b2-a2fb-fd66bef0f7b5", job.id))

    answer = importlib.import_module("handlers.run_jobs").lambda_handler(event, LambdaContext())

    assert answer == {"batchItemFailures": []}
    started = jobs.get(job.id)
    assert (started.state, started.counts["matched"], started.resolved) == ("running", 1, True)
