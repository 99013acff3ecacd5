"""The liveness sweep (registry/devices/sweep.py, entry ``handlers/sweep_liveness.py``): no route; an
EventBridge schedule invokes it every ``liveness_sweep_s``. The route functions' runtime, architecture
and layer; a role of its own that may Query the device table (a device's state and sign of life)
and the ``due_by_deadline`` index only, put items (a transition's transaction) and update one (a
deleted device leaving the index): no Scan, no delete, no other index. Its alarms are in
infra/monitoring.py."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.data import Data
from infra.functions import handler_function, liveness_environment, own_role_and_logs, pin
from infra.nag import skip_checkov
from infra.stage import StageConfig
from registry.storage import keys as schema

HANDLER = "sweep_liveness"
FUNCTION_ID = "SweepLiveness"  # its logical id, stable for the console and `sam local invoke`
MEMORY_MB = 512
# A sweep silences devices 8 at a time (~20 ms each): 10,000 at once (1 % of 10^6) take ~30 s.
# Longer than the schedule's period: two sweeps may overlap, which is safe (every transition is
# a conditional transaction; the second finds the device silent already).
TIMEOUT = Duration.minutes(5)
TABLE_ACTIONS = ("dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem")
# EventBridge rules: "rate(value unit)" takes whole minutes at least (a schedule expression's
# finest unit is the minute); infra/stage.py refuses any other liveness_sweep_s.
SECONDS_PER_MINUTE = 60


class LivenessSweep(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, stage: StageConfig, data: Data, layer: lambda_.ILayerVersion
    ) -> None:
        super().__init__(scope, construct_id)
        statements = [
            iam.PolicyStatement(actions=list(TABLE_ACTIONS), resources=[data.table.table_arn]),
            iam.PolicyStatement(
                actions=["dynamodb:Query"],
                resources=[f"{data.table.table_arn}/index/{schema.DUE_BY_DEADLINE}"],
            ),
        ]
        self.role, self.log_group = own_role_and_logs(
            self, stage, "Liveness sweep: devices whose deadline passed go silent", statements
        )
        self.function = handler_function(
            self,
            handler=HANDLER,
            description="Device Registry: the liveness sweep (scheduled; docs/decisions.md, Liveness)",
            stage=stage,
            layer=layer,
            role=self.role,
            log_group=self.log_group,
            memory_mb=MEMORY_MB,
            timeout=TIMEOUT,
            environment={"TABLE_NAME": data.table.table_name, **liveness_environment(stage)},
        )
        pin(self.function, FUNCTION_ID, "tests/infra/test_liveness.py")
        self.schedule = events.Rule(
            self,
            "Schedule",
            description="Every liveness_sweep_s: the devices whose deadline passed go silent",
            schedule=events.Schedule.rate(Duration.minutes(stage.liveness_sweep_s // SECONDS_PER_MINUTE)),
            targets=[
                # No retries and a short event age: the next sweep finds the same devices due, so a
                # failed one is never worth running late (its errors are alarmed).
                targets.LambdaFunction(self.function, retry_attempts=0, max_event_age=Duration.minutes(1))
            ],
        )
        self._explain_checkov_findings()

    def _explain_checkov_findings(self) -> None:
        skip_checkov(
            self.function,
            "CKV_AWS_115",
            "One schedule invokes it, once a period: nothing to cap, and overlapping runs are safe "
            "(conditional transactions), so no reservation is taken from the account's pool.",
        )
        skip_checkov(
            self.function,
            "CKV_AWS_116",
            "A scheduled sweep that fails loses nothing: the next run finds the same devices due. Its "
            "errors are alarmed; a dead-letter queue would keep stale schedule events only.",
        )
        skip_checkov(
            self.function,
            "CKV_AWS_117",
            "It reaches only DynamoDB and CloudWatch Logs, AWS endpoints, with IAM and TLS: a VPC would "
            "add NAT or endpoint costs and no isolation.",
        )
        skip_checkov(
            self.function,
            "CKV_AWS_173",
            "The environment holds the table's name and liveness settings, no secrets; Lambda encrypts it "
            "at rest with an AWS-managed key.",
        )
