"""The schema migrations' one-off function (``registry/migrations``, entry
``handlers/migrate.py``): no API route, no schedule, invoked by hand after a deployment that
brings a migration (docs/deployment.md, "Schema migrations"). The same runtime, architecture and
layer as the route functions; an asset allow-listed the same way; a role of its own that may
Scan the device table (the only role that may) and read and update its items, nothing else."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.data import Data
from infra.functions import handler_function, liveness_environment, own_role_and_logs, pin
from infra.nag import skip_checkov
from infra.stage import StageConfig

HANDLER = "migrate"
FUNCTION_ID = "Migrate"  # its logical id, stable for the console and `sam local invoke`
# Lambda's longest run; the handler stops a minute before it (handlers/migrate.py) and the
# next invocation resumes from the ledger.
TIMEOUT = Duration.minutes(15)
MEMORY_MB = 512  # a page of 100 items and its writes; the same CPU share as the route functions
# Scan the table page by page; read an item again when a writer changed it; rewrite items
# (UpdateItem); read, list (Query on its own partition) and write (PutItem) the ledger.
TABLE_ACTIONS = ("dynamodb:Scan", "dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:PutItem", "dynamodb:Query")


class MigrationFunction(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, stage: StageConfig, data: Data, layer: lambda_.ILayerVersion
    ) -> None:
        super().__init__(scope, construct_id)
        # The table itself, not its indexes: a migration reads and writes base-table items.
        self.role, self.log_group = own_role_and_logs(
            self,
            stage,
            "Schema migrations of the device table",
            [iam.PolicyStatement(actions=list(TABLE_ACTIONS), resources=[data.table.table_arn])],
        )
        self.function = handler_function(
            self,
            handler=HANDLER,
            description="Device Registry: schema migrations (invoke by hand; docs/deployment.md)",
            stage=stage,
            layer=layer,
            role=self.role,
            log_group=self.log_group,
            memory_mb=MEMORY_MB,
            timeout=TIMEOUT,
            # The liveness numbers: migration 3 awaits old devices for the window the routes apply.
            environment={"TABLE_NAME": data.table.table_name, **liveness_environment(stage)},
        )
        pin(self.function, FUNCTION_ID, "tests/infra/test_migration_function.py")
        self._explain_checkov_findings()

    def _explain_checkov_findings(self) -> None:
        skip_checkov(
            self.function,
            "CKV_AWS_115",
            "Invoked by hand, once per migration: nothing to cap. Two invocations at once are safe "
            "(conditional rewrites, a ledger that is never reopened), so no reservation is needed either.",
        )
        skip_checkov(
            self.function,
            "CKV_AWS_116",
            "Invoked synchronously by an operator, who gets the answer or the error: no asynchronous "
            "event could be lost. A failed run resumes from the ledger when invoked again.",
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
            "The environment holds the table's name and log settings, no secrets; Lambda encrypts it at "
            "rest with an AWS-managed key.",
        )
