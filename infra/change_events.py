"""Change events (docs/events.md): the device table's stream → the publisher function
(``handlers/publish_changes.py``) → the stack's own EventBridge bus, archived for replay.

Delivery that can be trusted: the stream's event source mapping reports batch item failures,
bisects a failing batch, retries a bounded number of times within a bounded record age, and
then sends the failed batch's coordinates to an encrypted dead-letter queue (alarmed in
infra/monitoring.py). The publisher may put events on this bus only and read this table's
stream only. An optional webhook (stage settings ``webhook_url``, ``webhook_secret_name``)
forwards every change event to an HTTPS endpoint through an API destination with retries and
a dead-letter queue of its own."""

from __future__ import annotations

from aws_cdk import Duration, SecretValue
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.data import Data
from infra.functions import handler_function, own_role_and_logs, pin
from infra.nag import acknowledge, skip_checkov
from infra.stage import StageConfig
from registry.storage import keys as schema
from registry.stream.change_events import SOURCE

HANDLER = "publish_changes"
FUNCTION_ID = "PublishChanges"  # its logical id, stable for the console and `sam local invoke`
MEMORY_MB = 256
TIMEOUT = Duration.seconds(60)  # a batch of 100 records: ≤ 10 PutEvents calls with their retries
BATCH_SIZE = 100
MAX_BATCHING_WINDOW = Duration.seconds(0)  # publish at once: latency matters more than call count
RETRY_ATTEMPTS = 10  # after bisecting: a poison record ends in the dead-letter queue, not a stuck shard
MAX_RECORD_AGE = Duration.hours(6)  # the stream keeps records 24 h; give up (to the DLQ) well before
ARCHIVE_RETENTION = Duration.days(365)
DLQ_RETENTION = Duration.days(14)  # SQS's longest
WEBHOOK_RETRY_ATTEMPTS = 185  # EventBridge's most
WEBHOOK_MAX_EVENT_AGE = Duration.hours(24)  # its longest
WEBHOOK_RATE_PER_SECOND = 10
WEBHOOK_API_KEY_HEADER = "x-api-key"


def publisher_statistics_statement(table_arn: str) -> iam.PolicyStatement:
    """Fleet statistics (registry/stream/stats.py, registry/storage/stats.py): per batch, a consistent
    BatchGetItem of the shards it touches and one transaction (marker Put, shard UpdateItems under
    their version); a batch DynamoDB refused is kept in a deferred item (PutItem) that a later batch
    reads (Query), applies and deletes (DeleteItem). On the table itself (no index), and on those
    items only: their partition keys are ``STATS#<shard>``, ``STATSBATCH#<batch>`` and
    ``STATSDEFERRED`` (registry/storage/keys.py), so the publisher cannot read or write a device,
    its history or a credential."""
    statistics_items = [f"{schema.STATS_PREFIX}*", f"{schema.STATS_BATCH_PREFIX}*", schema.STATS_DEFERRED_PK]
    return iam.PolicyStatement(
        actions=[
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
            "dynamodb:BatchGetItem",
            "dynamodb:Query",
        ],
        resources=[table_arn],
        conditions={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": statistics_items}},
    )


def dead_letter_queue(scope: Construct, construct_id: str) -> sqs.Queue:
    queue = sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=DLQ_RETENTION,
    )
    acknowledge(queue, "AwsSolutions-SQS3", "This queue is itself a dead-letter queue (alarmed on its depth).")
    skip_checkov(
        queue,
        "CKV_AWS_27",
        "Encrypted with SQS-managed keys (SSE-SQS); a customer-managed key would add a key policy to keep "
        "right for dead letters that hold event coordinates and change events only.",
    )
    return queue


class ChangeEvents(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, stage: StageConfig, data: Data, layer: lambda_.ILayerVersion
    ) -> None:
        super().__init__(scope, construct_id)
        self.bus = events.EventBus(self, "Bus", description="Device Registry change events (docs/events.md)")
        self.archive = self.bus.archive(
            "Archive",
            description="Every change event, for replay (docs/events.md)",
            event_pattern=events.EventPattern(source=[SOURCE]),
            retention=ARCHIVE_RETENTION,
        )
        self.dead_letters = dead_letter_queue(self, "DeadLetters")

        self.role, self.log_group = own_role_and_logs(
            self,
            stage,
            "Publishes the device table's changes as events",
            [
                iam.PolicyStatement(actions=["events:PutEvents"], resources=[self.bus.event_bus_arn]),
                publisher_statistics_statement(data.table.table_arn),
            ],
        )
        self.function = handler_function(
            self,
            handler=HANDLER,
            description="Device Registry: the table's stream → change events on the bus (docs/events.md)",
            stage=stage,
            layer=layer,
            role=self.role,
            log_group=self.log_group,
            memory_mb=MEMORY_MB,
            timeout=TIMEOUT,
            environment={
                "EVENT_BUS_NAME": self.bus.event_bus_name,
                "TABLE_NAME": data.table.table_name,  # fleet statistics' counters
            },
        )
        pin(self.function, FUNCTION_ID, "tests/infra/test_change_events.py")
        # Grants the stream's read actions on this table's stream (and ListStreams, which IAM
        # cannot scope to a resource) and SendMessage on the dead-letter queue.
        self.function.add_event_source(
            sources.DynamoEventSource(
                data.table,
                starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                batch_size=BATCH_SIZE,
                max_batching_window=MAX_BATCHING_WINDOW,
                bisect_batch_on_error=True,
                retry_attempts=RETRY_ATTEMPTS,
                max_record_age=MAX_RECORD_AGE,
                report_batch_item_failures=True,
                parallelization_factor=1,  # one batch per shard at a time: revision order per device
                on_failure=sources.SqsDlq(self.dead_letters),
            )
        )
        self.webhook_dead_letters: sqs.Queue | None = None
        if stage.webhook_url:
            self._webhook(stage)
        acknowledge(
            self.role,
            "AwsSolutions-IAM5[Resource::*]",
            "dynamodb:ListStreams only (the event source mapping's grant): IAM cannot scope it to a "
            "resource. The stream's read actions are on this table's stream alone.",
        )
        self._explain_checkov_findings()

    def _webhook(self, stage: StageConfig) -> None:
        if not stage.webhook_url or not stage.webhook_secret_name:
            raise ValueError(f"{stage.name}: webhook_url needs webhook_secret_name (its API key in Secrets Manager)")
        connection = events.Connection(
            self,
            "WebhookConnection",
            description="The webhook's API key, from Secrets Manager",
            authorization=events.Authorization.api_key(
                WEBHOOK_API_KEY_HEADER, SecretValue.secrets_manager(stage.webhook_secret_name)
            ),
        )
        destination = events.ApiDestination(
            self,
            "Webhook",
            connection=connection,
            endpoint=stage.webhook_url,
            http_method=events.HttpMethod.POST,
            rate_limit_per_second=WEBHOOK_RATE_PER_SECOND,
            description="Every change event, POSTed to the stage's webhook_url",
        )
        self.webhook_dead_letters = dead_letter_queue(self, "WebhookDeadLetters")
        events.Rule(
            self,
            "WebhookRule",
            event_bus=self.bus,
            description="Change events → the webhook",
            event_pattern=events.EventPattern(source=[SOURCE]),
            targets=[
                targets.ApiDestination(
                    destination,
                    dead_letter_queue=self.webhook_dead_letters,
                    retry_attempts=WEBHOOK_RETRY_ATTEMPTS,
                    max_event_age=WEBHOOK_MAX_EVENT_AGE,
                )
            ],
        )

    def _explain_checkov_findings(self) -> None:
        skip_checkov(
            self.function,
            "CKV_AWS_115",
            "The stream's event source mapping runs one batch per shard at a time (parallelization "
            "factor 1): its concurrency is bounded by the table's shard count, not by a reservation.",
        )
        skip_checkov(
            self.function,
            "CKV_AWS_116",
            "Invoked by a stream event source mapping, whose on-failure destination is the dead-letter "
            "queue; a function DLQ applies to asynchronous invocations only.",
        )
        skip_checkov(
            self.function,
            "CKV_AWS_117",
            "It reaches only EventBridge and CloudWatch Logs, AWS endpoints, with IAM and TLS: a VPC would "
            "add NAT or endpoint costs and no isolation.",
        )
        skip_checkov(
            self.function,
            "CKV_AWS_173",
            "The environment holds the bus name and log settings, no secrets; Lambda encrypts it at rest "
            "with an AWS-managed key.",
        )
