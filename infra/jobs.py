"""The fleet jobs' engine (docs/jobs.md): an SQS FIFO queue of job steps, its dead-letter queue, and
the worker function the queue invokes (handlers/run_jobs.py), with its own least-privilege role.

Behaviours respected (docs/deployment.md):
* a FIFO queue's dead-letter queue must be FIFO too; its redrive moves a message after
  ``maxReceiveCount`` receives, one more than the worker's MAX_DELIVERIES (the worker marks the job
  ``failed`` on the delivery past them, so a dead letter means even that failed);
* Lambda's SQS event source scales to at most ``MaximumConcurrency`` (2 to 1,000) concurrent
  invocations; FIFO message groups (one per job) keep a job's steps one at a time and in order;
* SQS's guidance: the queue's visibility timeout at least 6 times the function's timeout;
* SQS FIFO deduplication lasts 5 minutes: a duplicate step enqueued later than that (a delivery
  re-run after its visibility timeout) runs again and finds its work done (every step is idempotent).
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.data import Data
from infra.functions import (
    BATCH_GET_ITEM,
    DELETE_ITEM,
    GET_ITEM,
    PUT_ITEM,
    QUERY,
    UPDATE_ITEM,
    handler_function,
    own_role_and_logs,
    pin,
)
from infra.nag import acknowledge, skip_checkov
from infra.stage import StageConfig
from registry.jobs.worker import CHUNK_SIZE, MAX_DELIVERIES
from registry.storage import keys as schema

HANDLER = "run_jobs"
FUNCTION_ID = "RunJobs"
MEMORY_MB = 512
# A step is a chunk of CHUNK_SIZE devices (at the stage's rate, ≤ 1 s at 50/s) or up to 20 fleet
# query pages: seconds. A minute leaves room for a throttled table's retries.
TIMEOUT = Duration.seconds(60)
VISIBILITY_TIMEOUT = Duration.seconds(6 * 60)  # SQS: at least 6 x the function's timeout
RETENTION = Duration.days(4)  # SQS's default: a job step is either run or dead-lettered well within it
DLQ_RETENTION = Duration.days(14)  # SQS's maximum: time to look at a job step that kept failing
# The partitions the worker writes: the devices' (state, history, tags), the IP holders' (a patch may
# move an IP address; a job never sets a MAC address), the jobs' list and each job's own.
WORKER_LEADING_KEYS = [
    f"{schema.DEVICE_PREFIX}*",
    f"{schema.HOLDER_PREFIXES['ip']}*",
    schema.JOBS_PK,
    f"{schema.JOB_PREFIX}*",
]


class JobQueue(Construct):
    """The queue (created before the route functions, which enqueue a job's first step)."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.dead_letters = sqs.Queue(
            self,
            "DeadLetters",
            fifo=True,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=DLQ_RETENTION,
        )
        acknowledge(self.dead_letters, "AwsSolutions-SQS3", "This queue is itself a dead-letter queue (alarmed).")
        self.queue = sqs.Queue(
            self,
            "Queue",
            fifo=True,
            content_based_deduplication=False,  # each step names its own deduplication id
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            visibility_timeout=VISIBILITY_TIMEOUT,
            retention_period=RETENTION,
            dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=MAX_DELIVERIES + 1, queue=self.dead_letters),
        )
        for queue in (self.queue, self.dead_letters):
            skip_checkov(
                queue,
                "CKV_AWS_27",
                "Encrypted with SQS-managed keys (SSE-SQS); the messages hold a job id, a step and a page number.",
            )

    def send_statement(self) -> iam.PolicyStatement:
        return iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[self.queue.queue_arn])


def worker_statements(data: Data, queue: JobQueue) -> list[iam.PolicyStatement]:
    """PATCH's reads and writes on the devices, the fleet query's and the history's indexes, the job's
    items, and the next step's message."""
    return [
        iam.PolicyStatement(
            actions=[GET_ITEM, PUT_ITEM, UPDATE_ITEM, DELETE_ITEM, BATCH_GET_ITEM, QUERY],
            resources=[data.table.table_arn],
            conditions={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": WORKER_LEADING_KEYS}},
        ),
        iam.PolicyStatement(
            actions=[QUERY],
            resources=[f"{data.table.table_arn}/index/{index.name}" for index in schema.INDEXES],
        ),
        queue.send_statement(),
    ]


class JobWorker(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: StageConfig,
        data: Data,
        queue: JobQueue,
        layer: lambda_.ILayerVersion,
    ) -> None:
        super().__init__(scope, construct_id)
        self.role, self.log_group = own_role_and_logs(
            self, stage, "Runs fleet jobs' steps from the job queue", worker_statements(data, queue)
        )
        self.function = handler_function(
            self,
            handler=HANDLER,
            description="Device Registry: fleet jobs' steps from the job queue (docs/jobs.md)",
            stage=stage,
            layer=layer,
            role=self.role,
            log_group=self.log_group,
            memory_mb=MEMORY_MB,
            timeout=TIMEOUT,
            environment={
                "TABLE_NAME": data.table.table_name,
                "IDEMPOTENCY_TABLE_NAME": data.idempotency_table.table_name,
                "JOB_QUEUE_URL": queue.queue.queue_url,
                "JOB_CHUNK_SIZE": str(CHUNK_SIZE),
                "JOB_RATE_PER_S": str(stage.job_rate_per_s),
            },
        )
        pin(self.function, FUNCTION_ID, "tests/infra/test_jobs.py")
        # Grants ReceiveMessage, DeleteMessage and GetQueueAttributes on the queue (the role's policy).
        self.function.add_event_source(
            sources.SqsEventSource(
                queue.queue,
                batch_size=1,  # a step is a chunk already
                report_batch_item_failures=True,
                max_concurrency=max(2, stage.job_concurrency),
            )
        )
        for check, reason in (
            ("CKV_AWS_115", "Its event source mapping's MaximumConcurrency bounds it (stage.job_concurrency)."),
            ("CKV_AWS_116", "Invoked by the queue's event source mapping; the queue's redrive is its dead letter."),
            ("CKV_AWS_117", "It reaches only DynamoDB, SQS and CloudWatch Logs endpoints with IAM and TLS."),
            ("CKV_AWS_173", "The environment holds a table name, a queue URL and settings, no secrets."),
        ):
            skip_checkov(self.function, check, reason)
