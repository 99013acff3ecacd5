"""The queue a job's steps travel on: each step enqueues the next. In AWS an SQS FIFO queue (one
message group per job, so that a job's steps run one at a time and in order; the deduplication id
drops a step enqueued twice by a re-delivered predecessor); locally the same queue on the embedded
moto server (local/jobs.py). The client is injected (registry/wiring.py)."""

from __future__ import annotations

import json
from typing import Any, Protocol

from registry.domain.jobs import JobMessage


class JobQueue(Protocol):
    def send(self, message: JobMessage) -> None: ...


class SqsJobQueue:
    def __init__(self, client: Any, queue_url: str) -> None:
        self.client = client
        self.queue_url = queue_url

    def send(self, message: JobMessage) -> None:
        self.client.send_message(
            QueueUrl=self.queue_url,
            MessageBody=json.dumps(message.to_body(), separators=(",", ":")),
            MessageGroupId=message.job_id,
            MessageDeduplicationId=message.deduplication_id,
        )
