"""The Device Registry stack: data, auth, functions, API and monitoring, wired together.
Environment-agnostic (no account or region lookups), so ``cdk synth`` runs offline."""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.api import Api
from infra.auth import Auth, DeviceAuthorizer
from infra.change_events import ChangeEvents
from infra.console import Console
from infra.data import Data
from infra.functions import Functions
from infra.jobs import JobQueue, JobWorker
from infra.liveness import LivenessSweep
from infra.migrations import MigrationFunction
from infra.monitoring import Monitoring
from infra.snapstart import SnapStartGuards
from infra.stage import StageConfig


def stack_name(stage: StageConfig) -> str:
    return f"DeviceRegistry-{stage.name}"


class DeviceRegistryStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, stage: StageConfig) -> None:
        super().__init__(
            scope,
            construct_id,
            description=f"Device Registry API ({stage.name})",
            termination_protection=stage.deletion_protection,
        )
        self.data = Data(self, "Data", stage=stage)
        self.auth = Auth(self, "Auth", stage=stage)
        self.job_queue = JobQueue(self, "JobQueue")
        self.functions = Functions(
            self, "Functions", stage=stage, data=self.data, token_url=self.auth.token_url, jobs=self.job_queue
        )
        self.device_auth = DeviceAuthorizer(self, "DeviceAuth", stage=stage, data=self.data, layer=self.functions.layer)
        self.api = Api(self, "Api", stage=stage, auth=self.auth, device_auth=self.device_auth, functions=self.functions)
        self.console = Console(self, "Console", stage=stage, api=self.api.api, auth=self.auth)
        self.migrations = MigrationFunction(self, "Migrations", stage=stage, data=self.data, layer=self.functions.layer)
        self.events = ChangeEvents(self, "Events", stage=stage, data=self.data, layer=self.functions.layer)
        self.job_worker = JobWorker(
            self, "JobWorker", stage=stage, data=self.data, queue=self.job_queue, layer=self.functions.layer
        )
        self.liveness = LivenessSweep(self, "Liveness", stage=stage, data=self.data, layer=self.functions.layer)
        if stage.snap_start:
            versions = {
                route.function_id: function.target
                for route, function in self.functions.by_route.items()
                if isinstance(function.target, lambda_.Version)
            }
            SnapStartGuards(self, "SnapStart", stage=stage, versions=versions)
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            stage=stage,
            api=self.api,
            functions=self.functions,
            data=self.data,
            events=self.events,
            jobs=(self.job_queue, self.job_worker),
            console=self.console,
            liveness=self.liveness,
        )

        CfnOutput(self, "ApiUrl", value=self.api.url, description="Base URL of the API stage")
        if self.console.url:
            CfnOutput(self, "ConsoleUrl", value=self.console.url, description="The operator console (sign in)")
        CfnOutput(self, "TokenUrl", value=self.auth.token_url, description="OAuth2 token endpoint")
        CfnOutput(self, "ClientId", value=self.auth.client.user_pool_client_id)
        CfnOutput(self, "UserPoolId", value=self.auth.user_pool.user_pool_id)
        CfnOutput(self, "TableName", value=self.data.table.table_name)
        CfnOutput(self, "IdempotencyTableName", value=self.data.idempotency_table.table_name)
        CfnOutput(self, "AlarmTopicArn", value=self.monitoring.topic.topic_arn)
        CfnOutput(self, "EventBusName", value=self.events.bus.event_bus_name, description="Change events")
        CfnOutput(
            self, "MigrateFunctionName", value=self.migrations.function.function_name, description="Schema migrations"
        )
