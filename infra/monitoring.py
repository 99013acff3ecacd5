"""Alarms on what means "the API is failing its callers": 5xx answers, function errors and
throttles, DynamoDB throttling. They notify an encrypted SNS topic; subscribe to it
(e-mail, chat, paging) per environment.

Per-function metrics are alarmed by metric math, a few functions an alarm (CloudWatch takes at
most 10 metrics in an alarm's expression): a route adds metrics, rarely an alarm (docs/decisions.md,
"Headroom"). The alarm's graph shows which function it was."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Aws, Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.api import Api
from infra.change_events import ChangeEvents
from infra.console import Console
from infra.data import Data
from infra.functions import SERVICE_NAME, Functions
from infra.jobs import JobQueue, JobWorker
from infra.liveness import LivenessSweep
from infra.stage import StageConfig
from registry import metrics

PERIOD = Duration.minutes(5)
# CloudWatch: "Alarms based on metric math expressions can reference a maximum of 10 metrics"
# (a hard limit); each function contributes two (errors, throttles).
METRICS_PER_ALARM = 10
FUNCTIONS_PER_ALARM = METRICS_PER_ALARM // 2
STREAM_LAG_MS = 60_000  # change events more than a minute behind the writes
ALARM_ARNS = f"arn:{Aws.PARTITION}:cloudwatch:{Aws.REGION}:{Aws.ACCOUNT_ID}:alarm:*"


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: StageConfig,
        api: Api,
        functions: Functions,
        data: Data,
        events: ChangeEvents,
        jobs: tuple[JobQueue, JobWorker],
        console: Console | None = None,
        liveness: LivenessSweep | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        # A customer-managed key: CloudWatch cannot publish to a topic encrypted with the
        # AWS-managed aws/sns key, whose key policy cannot be extended.
        key = kms.Key(
            self,
            "AlarmTopicKey",
            description="Encrypts the Device Registry alarm topic",
            enable_key_rotation=True,
            removal_policy=stage.removal_policy,
        )
        # CloudWatch may use the key only for alarms of this account and region (a service
        # principal acts for every account: without the conditions, a confused deputy could).
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsOfThisAccount",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],  # in a key policy, "*" is this key
                conditions={
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                    "ArnLike": {"aws:SourceArn": ALARM_ARNS},
                },
            )
        )
        self.topic = sns.Topic(self, "AlarmTopic", master_key=key, enforce_ssl=True)

        self.alarms: list[cloudwatch.Alarm] = []
        self._alarm(
            "Api5xx",
            api.api.metric_server_error(period=PERIOD, statistic="Sum"),
            "The API answered 5xx (a handler failed or timed out, or DynamoDB was unavailable).",
        )
        routes = list(functions.by_route.items())
        for group, start in enumerate(range(0, len(routes), FUNCTIONS_PER_ALARM), start=1):
            chunk = routes[start : start + FUNCTIONS_PER_ALARM]
            metrics: dict[str, cloudwatch.IMetric] = {}
            for index, (_, function) in enumerate(chunk):
                metrics[f"errors{index}"] = function.function.metric_errors(period=PERIOD, statistic="Sum")
                metrics[f"throttles{index}"] = function.function.metric_throttles(period=PERIOD, statistic="Sum")
            named = ", ".join(f"{route.method} {route.path}" for route, _ in chunk)
            self._alarm(
                f"RouteFunctions{group}",
                _sum_of(metrics, "errors and throttles"),
                f"A route function failed (crash, timeout, out of memory) or was throttled (account "
                f"concurrency): {named}. The alarm's graph shows which.",
            )
        table_metrics = {
            f"{metric[:1].lower()}{table.node.id}": table.metric(metric, period=PERIOD, statistic="Sum")
            for table in (data.table, data.idempotency_table)
            for metric in ("ReadThrottleEvents", "WriteThrottleEvents")
        }
        self._alarm(
            "TableThrottles",
            _sum_of(table_metrics, "throttled requests"),
            "DynamoDB throttled requests to the device or the idempotency table (the alarm's graph shows which).",
        )

        self._change_event_alarms(events)
        self._job_alarms(*jobs)
        if console is not None and console.sign_in_trigger is not None:
            trigger = console.sign_in_trigger
            self._alarm(
                "ConsoleSignInErrors",
                _sum_of(
                    {
                        "errors": trigger.metric_errors(period=PERIOD, statistic="Sum"),
                        "throttles": trigger.metric_throttles(period=PERIOD, statistic="Sum"),
                    },
                    "errors and throttles",
                ),
                "The console's sign-in trigger failed or was throttled: Cognito then refuses the operator's "
                "sign-in (handlers/console_token.py).",
            )
        if liveness is not None:
            self._liveness_alarms(liveness)
        self._let_cloudwatch_publish()

    def _let_cloudwatch_publish(self) -> None:
        """The topic's policy (enforce_ssl makes one, with a single Deny) replaces SNS's default,
        so CloudWatch may publish only if it says so: for these alarms of this account only (a
        service principal acts for every account; the conditions close the confused deputy)."""
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsOfThisStack",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                    "ArnLike": {"aws:SourceArn": [alarm.alarm_arn for alarm in self.alarms]},
                },
            )
        )

    def _change_event_alarms(self, events: ChangeEvents) -> None:
        """Change events late, failing or dead-lettered (docs/events.md)."""
        publisher = events.function
        self._alarm(
            "PublishChangesErrors",
            publisher.metric_errors(period=PERIOD, statistic="Sum"),
            "The change-event publisher failed a batch (it is retried, then dead-lettered).",
        )
        self._alarm(
            "PublishChangesIteratorAge",
            publisher.metric("IteratorAge", period=PERIOD, statistic="Maximum"),
            "Change events are more than a minute behind the table's writes (the stream's iterator age).",
            threshold=STREAM_LAG_MS,
        )
        for name, queue in (
            ("ChangeEventsDeadLetters", events.dead_letters),
            ("WebhookDeadLetters", events.webhook_dead_letters),
        ):
            if queue is not None:
                self._alarm(
                    name,
                    queue.metric_approximate_number_of_messages_visible(period=PERIOD, statistic="Maximum"),
                    f"Dead letters in {name}: change events not delivered (docs/events.md says how to recover).",
                )

    def _liveness_alarms(self, liveness: LivenessSweep) -> None:
        """The sweep failing, or not running: either way silent devices go unnoticed."""
        sweep = liveness.function
        self._alarm(
            "SweepLivenessErrors",
            sweep.metric_errors(period=PERIOD, statistic="Sum"),
            "The liveness sweep failed (the next run finds the same devices due; silence is reported late).",
        )
        self._alarm(
            "SweepLivenessNotRunning",
            sweep.metric_invocations(period=Duration.minutes(10), statistic="Sum"),
            "The liveness sweep has not run for 10 minutes (its schedule is off or deleted).",
            missing=True,
        )

    def _job_alarms(self, queue: JobQueue, worker: JobWorker) -> None:
        """Fleet jobs failing, their worker failing or throttled, their steps dead-lettered (docs/jobs.md)."""
        self._alarm(
            "JobsFailed",
            cloudwatch.Metric(
                namespace=metrics.NAMESPACE,
                metric_name=metrics.Counter.JOBS_FAILED.value,
                dimensions_map={"service": SERVICE_NAME},
                period=PERIOD,
                statistic="Sum",
            ),
            "A fleet job finished failed or completed_with_failures: GET /jobs/{id}/results?outcome=failed says why.",
        )
        self._alarm(
            "JobWorkerErrors",
            _sum_of(
                {
                    "errors": worker.function.metric_errors(period=PERIOD, statistic="Sum"),
                    "throttles": worker.function.metric_throttles(period=PERIOD, statistic="Sum"),
                },
                "errors and throttles",
            ),
            "The job worker failed a step (it is delivered again) or was throttled.",
        )
        self._alarm(
            "JobDeadLetters",
            queue.dead_letters.metric_approximate_number_of_messages_visible(period=PERIOD, statistic="Maximum"),
            "A job step was dead-lettered: it failed past its deliveries and could not even mark its job failed.",
        )

    def _alarm(
        self,
        construct_id: str,
        metric: cloudwatch.IMetric,
        description: str,
        threshold: float = 1,
        *,
        missing: bool = False,
    ) -> None:
        """An alarm at ``threshold`` or more; ``missing``: when the metric has fewer (no data at all too)."""
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            metric=metric,
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD
            if missing
            else cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.BREACHING
            if missing
            else cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        alarm.add_alarm_action(actions.SnsAction(self.topic))
        alarm.add_ok_action(actions.SnsAction(self.topic))
        self.alarms.append(alarm)


def _sum_of(metrics: Mapping[str, cloudwatch.IMetric], label: str) -> cloudwatch.MathExpression:
    """One time series, the sum of ``metrics`` (a metric without data counts 0)."""
    assert len(metrics) <= METRICS_PER_ALARM
    return cloudwatch.MathExpression(
        expression="SUM([" + ", ".join(f"FILL({name}, 0)" for name in metrics) + "])",
        using_metrics=metrics,
        label=label,
        period=PERIOD,
    )
