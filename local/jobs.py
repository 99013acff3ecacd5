"""Fleet jobs locally (docs/jobs.md, "Locally"): the job queue is an SQS FIFO queue on the embedded
moto server, and worker threads poll it as Lambda's event source mapping does — a message at a time,
handed to the worker function's own handler (``handlers.run_jobs.lambda_handler``) as an SQS event;
a message it reports failed (or that raised) stays on the queue and is delivered again once its
visibility timeout passes, as in AWS. The queue lives in memory: at start, every unfinished job's
current step is enqueued again, so a job resumes after a restart over a data directory.

``LOCAL_JOB_FAULT_AFTER=n`` (tests): the worker dies once, after the n-th device result of the server's
life — the delivery fails mid-chunk and is delivered again."""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

import boto3

from local.activity import Activity
from local.proxy_events import LambdaContext

QUEUE_NAME = "device-registry-jobs-local.fifo"
# One invocation at a time, as in one Lambda execution environment (the handler's batch processor
# holds the invocation's state); jobs share it a step at a time, their message groups interleaved.
WORKERS = 1
VISIBILITY_TIMEOUT_S = 30

log = logging.getLogger(__name__)


class SimulatedCrash(RuntimeError):
    """LOCAL_JOB_FAULT_AFTER: the worker "dies" mid-chunk."""


def create_queue(endpoint: str) -> str:
    """The job queue on the embedded server; its URL is what the functions get as JOB_QUEUE_URL."""
    sqs = boto3.client("sqs", endpoint_url=endpoint)
    visibility = os.environ.get("LOCAL_JOB_VISIBILITY_S") or str(VISIBILITY_TIMEOUT_S)
    attributes = {"FifoQueue": "true", "ContentBasedDeduplication": "false", "VisibilityTimeout": visibility}
    return str(sqs.create_queue(QueueName=QUEUE_NAME, Attributes=attributes)["QueueUrl"])


def _event(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    """A ReceiveMessage message as Lambda delivers it from SQS."""
    attributes = message.get("Attributes", {})
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": {
                    "ApproximateReceiveCount": attributes.get("ApproximateReceiveCount", "1"),
                    "MessageGroupId": attributes.get("MessageGroupId", ""),
                    "MessageDeduplicationId": attributes.get("MessageDeduplicationId", ""),
                },
                "messageAttributes": {},
                "md5OfBody": message.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1",
            }
        ]
    }


class LocalJobs:
    """The worker threads on the job queue."""

    def __init__(self, endpoint: str, queue_url: str, activity: Activity) -> None:
        self._sqs = boto3.client("sqs", endpoint_url=endpoint)
        self._queue_url = queue_url
        self._arn = self._sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        self._stop = threading.Event()
        self._activity = activity
        self._threads = [
            threading.Thread(target=self._run, name=f"job-worker-{n}", daemon=True) for n in range(WORKERS)
        ]
        fault = os.environ.get("LOCAL_JOB_FAULT_AFTER")
        self._fault_after = int(fault) if fault else None
        self._results = 0
        self._lock = threading.Lock()

    def start(self) -> LocalJobs:
        # Imported here: the route environments import local modules and need none of this.
        from handlers import run_jobs
        from registry import wiring
        from registry.domain.jobs import current_step

        worker = wiring.get_job_worker()
        if self._fault_after is not None:
            worker.on_result = self._count_towards_fault
        for job in self._unfinished(worker):
            worker.queue.send(current_step(job))
        self._handler: Any = run_jobs.lambda_handler  # called as Lambda calls it, with our context
        for thread in self._threads:
            thread.start()
        return self

    def _unfinished(self, worker: Any) -> list[Any]:
        jobs, after = [], None
        while True:
            page = worker.store.list_jobs(limit=100, after_id=after)
            jobs += [job for job in page.items if not job.finished]
            if not page.has_more or not page.items:
                return jobs
            after = page.items[-1].id

    def _count_towards_fault(self, _: Any) -> None:
        with self._lock:
            self._results += 1
            if self._results == self._fault_after:
                raise SimulatedCrash(f"LOCAL_JOB_FAULT_AFTER={self._fault_after}: the worker dies mid-chunk")

    def stop(self) -> None:
        self._stop.set()
        self._activity.wake()
        for thread in self._threads:
            thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            mark = self._activity.mark()
            # A short poll (the embedded server answers one request at a time: no long polls),
            # made when a queue message wakes the workers (local/activity.py), or after a second.
            try:
                received = self._sqs.receive_message(
                    QueueUrl=self._queue_url,
                    MaxNumberOfMessages=1,
                    WaitTimeSeconds=0,
                    MessageSystemAttributeNames=["All"],
                ).get("Messages", [])
            except Exception:  # the embedded server stopping under us
                log.exception("job queue unreadable")
                self._stop.wait(1)
                continue
            if not received:
                self._activity.wait(mark)
                continue
            for message in received:
                self._deliver(message)

    def _deliver(self, message: dict[str, Any]) -> None:
        try:
            answer = self._handler(_event(message, self._arn), LambdaContext())
        except Exception:
            log.exception("job step failed; delivered again after its visibility timeout")
            return
        if answer.get("batchItemFailures"):
            log.warning("job step failed; delivered again after its visibility timeout")
            return
        self._sqs.delete_message(QueueUrl=self._queue_url, ReceiptHandle=message["ReceiptHandle"])
