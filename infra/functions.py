"""One Lambda function per route of the route table, each with its own role, its own log
group and a code asset holding only our code: the shared ``registry`` package and its own
handler module. Third-party libraries come from one layer of our own, built from the pinned
``requirements-lambda.txt`` without Docker (infra/layer.py), and boto3 from the runtime."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aws_cdk import Annotations, Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra import FUNCTIONS_DIR
from infra.bytecode import code_with_bytecode
from infra.data import Data

if TYPE_CHECKING:
    from infra.jobs import JobQueue
from infra.layer import LAMBDA_PYTHON, layer_dir, pinned
from infra.nag import LOGS_WITHOUT_CMK, acknowledge, skip_checkov
from infra.stage import JOBS_PATH, StageConfig
from registry import metrics
from registry.http.routes import ROUTES, Route, route_for
from registry.storage import keys as schema

# The layer (infra/layer.py) is built for this runtime's Python version and architecture.
RUNTIME = lambda_.Runtime.PYTHON_3_13
ARCHITECTURE = lambda_.Architecture.ARM_64
assert RUNTIME.name == f"python{LAMBDA_PYTHON}", "infra/layer.py builds the layer for another Python"

# Lambda gives CPU in proportion to memory (a full vCPU at 1,769 MB). 512 MB buys about
# 0.3 vCPU: enough that the cold import of boto3 + pydantic + Powertools (~0.3 s on a full
# core) stays near a second, while a warm request (one DynamoDB call) is I/O-bound and
# would not get faster with more. Tune with measured data (Lambda Power Tuning) later.
MEMORY_MB = 512
DOCS_MEMORY_MB = 256  # serves a static document: no DynamoDB, no request models
# Below API Gateway's 29 s integration timeout. The boto3 client bounds each DynamoDB call
# (registry/wiring.py: 3 attempts of 2 s connect + 3 s read, plus ≤ 3 s backoff: 18 s), so one
# slow call still ends in the handler's 503 with Retry-After. A write makes several calls (the
# idempotency record, the read, the transaction, more after a conflict), and the client bounds
# each, not their sum: a write whose calls all hit their worst case outlasts 25 s, and the client
# gets API Gateway's 504 instead (a problem document, as every gateway answer is).
TIMEOUT = Duration.seconds(25)
# Batch routes (registry/batch/runner.py): up to 100 items validated, written 8 at a time and answered
# in one body, so more CPU for the JSON and pydantic work (1,024 MB: ~0.6 vCPU); 100 writes at
# ~10-20 ms, 8 in flight, take well under a second, and the time left to API Gateway's 29 s
# covers a throttled store's retries (each call bounded as above).
BATCH_MEMORY_MB = 1024
BATCH_TIMEOUT = Duration.seconds(28)

SERVICE_NAME = "device-registry"

GET_ITEM = "dynamodb:GetItem"
PUT_ITEM = "dynamodb:PutItem"
UPDATE_ITEM = "dynamodb:UpdateItem"
DELETE_ITEM = "dynamodb:DeleteItem"
QUERY = "dynamodb:Query"
BATCH_GET_ITEM = "dynamodb:BatchGetItem"
CONDITION_CHECK = "dynamodb:ConditionCheckItem"
# What the Powertools idempotency utility does with its records: reads one, claims the key
# with a conditional put, stores the answer with an update, deletes the claim when the
# request fails (so that a retry runs again).
IDEMPOTENCY_ACTIONS = (GET_ITEM, PUT_ITEM, UPDATE_ITEM, DELETE_ITEM)


@dataclass(frozen=True)
class TableAccess:
    """What one route's code asks of the device table (handler → registry/devices/service.py →
    registry/storage/devices.py), so that its role allows exactly that: item actions on the table,
    Query on the named indexes only, and the idempotency table if it is a keyed write. A
    transaction (TransactWriteItems) is authorised by the actions of its items."""

    items: tuple[str, ...] = ()
    indexes: tuple[str, ...] = ()
    idempotency: bool = False
    # The partitions its item actions may touch (IAM dynamodb:LeadingKeys); () any.
    leading_keys: tuple[str, ...] = ()


_READS_ONE_ITEM = TableAccess(items=(GET_ITEM,))
_JOB_ITEMS = (schema.JOBS_PK, f"{schema.JOB_PREFIX}*")
# Read the current item, then one transaction of puts (new state, history entry, a claimed MAC).
_WRITES = (GET_ITEM, PUT_ITEM)
# A status report (registry/devices/liveness.py): as a write, and a Query of the state with the sign of life.
_REPORTS = (GET_ITEM, PUT_ITEM, QUERY)
# Least privilege per route, by handler (tests/infra/test_iam.py holds every route to it).
TABLE_ACCESS = {
    # As of a time: one Query of one config-kind entry (a GetItem of revision 1 for the
    # registration time, where an old entry lacks it).
    "get_device": TableAccess(items=(GET_ITEM,), indexes=(schema.HISTORY_BY_KIND,)),
    # As of a time: one Query of the newest entry of any kind; an old config-kind entry that lacks
    # the status then in force adds a Query of the status entries.
    # Now: one Query of the device's partition for its state and its sign of life (liveness). As of
    # a time: the same, plus one Query of the liveness transition then in force.
    "get_status": TableAccess(items=(GET_ITEM, QUERY), indexes=(schema.HISTORY_BY_TIME, schema.HISTORY_BY_KIND)),
    # The two revisions (or the device, for the latest); for each, the other kind's entry then in
    # force when the entry does not carry it.
    "diff_device": TableAccess(items=(GET_ITEM,), indexes=(schema.HISTORY_BY_KIND,)),
    "get_history_entry": _READS_ONE_ITEM,
    # One Query on the sparse list index that matches the filters; a lookup index (fleet queries)
    # names devices whose items one BatchGetItem then reads. Never a Query of the table itself.
    # The page's signs of life (liveness, last_seen_at) in one more BatchGetItem. Not the sweep's index.
    "list_devices": TableAccess(
        items=(BATCH_GET_ITEM,),
        indexes=tuple(index.name for index in schema.GLOBAL_INDEXES if index.name != schema.DUE_BY_DEADLINE),
    ),
    # One Query on the table or a history index; an empty first page adds a GetItem of the
    # device, to tell "no such device" (404) from "no entries in this window".
    "list_history": TableAccess(items=(GET_ITEM, QUERY), indexes=tuple(index.name for index in schema.LOCAL_INDEXES)),
    # GetItem here only names the holder of a taken MAC when the cancellation did not.
    "create_device": TableAccess(items=_WRITES, idempotency=True),
    # A report: the state and sign of life in one Query, a status change as above, a refresh one PutItem.
    "put_status": TableAccess(items=_REPORTS, idempotency=True),
    # Each device as create_device registers one.
    "create_devices": TableAccess(items=_WRITES, idempotency=True),
    # The devices in one BatchGetItem, then each change as put_status writes it (a conflict re-reads one).
    "report_statuses": TableAccess(items=(*_REPORTS, BATCH_GET_ITEM), idempotency=True),
    # These two also delete: the MAC claim a change of address or a deletion releases, and a
    # deletion the device's credentials (read first, GetItem of their set).
    # A new report_interval_s reads the sign of life (BatchGetItem) to move its deadline.
    "update_device": TableAccess(items=(*_WRITES, DELETE_ITEM, BATCH_GET_ITEM), idempotency=True),
    "delete_device": TableAccess(items=(*_WRITES, DELETE_ITEM), idempotency=True),
    # The device and the revision reverted to in one BatchGetItem; for a status revision, one
    # Query of the config entry then in force; the MAC claim moves when the address does.
    "revert_device": TableAccess(
        items=(*_WRITES, BATCH_GET_ITEM, DELETE_ITEM), indexes=(schema.HISTORY_BY_KIND,), idempotency=True
    ),
    # Claims the MAC again; releases nothing.
    "restore_device": TableAccess(items=_WRITES, idempotency=True),
    # One Query of an address's holder intervals, on the table itself; no index, no write.
    "list_mac_holders": TableAccess(items=(QUERY,)),
    "list_ip_holders": TableAccess(items=(QUERY,)),
    # One BatchGetItem of the fleet statistics' counter shards (registry/storage/keys.py stats_shard_key).
    "device_stats": TableAccess(items=(BATCH_GET_ITEM,)),
    "swagger": TableAccess(),  # a static document
    # Device credentials (registry/storage/credentials.py). Create: one transaction checking that the
    # device is live, adding the id to the device's credential set, putting the credential item.
    # No idempotency: its answer holds the secret, which must never be stored.
    "create_credential": TableAccess(items=(CONDITION_CHECK, UPDATE_ITEM, PUT_ITEM)),
    # The device and its credential set, then the credential items: two BatchGetItems.
    "list_credentials": TableAccess(items=(BATCH_GET_ITEM,)),
    # Delete the credential item, drop its id from the set: one transaction.
    "delete_credential": TableAccess(items=(DELETE_ITEM, UPDATE_ITEM), idempotency=True),
    # A device's own routes: its item (GetItem), and a status report as put_status writes it.
    "get_own_device": _READS_ONE_ITEM,
    "get_own_status": TableAccess(items=(QUERY,)),  # its state and sign of life, one Query
    "put_own_status": TableAccess(items=_REPORTS, idempotency=True),
    # Fleet jobs (docs/jobs.md): the jobs' items only; the worker (infra/jobs.py) does the devices' writes.
    # A job's item put (failed, with an update, when its first step cannot be enqueued).
    "create_job": TableAccess(items=(PUT_ITEM, UPDATE_ITEM), idempotency=True, leading_keys=_JOB_ITEMS),
    # One Query of the jobs' partition, newest first.
    "list_jobs": TableAccess(items=(QUERY,), leading_keys=_JOB_ITEMS),
    "get_job": TableAccess(items=(GET_ITEM,), leading_keys=_JOB_ITEMS),
    # The job (404), then one Query of its results.
    "list_job_results": TableAccess(items=(GET_ITEM, QUERY), leading_keys=_JOB_ITEMS),
    # A conditional update of the job; on refusal, a GetItem to say 404 or 409.
    "cancel_job": TableAccess(items=(UPDATE_ITEM, GET_ITEM), idempotency=True, leading_keys=_JOB_ITEMS),
    # The job rolled back, then the new job as create_job puts it.
    "rollback_job": TableAccess(items=(GET_ITEM, PUT_ITEM, UPDATE_ITEM), idempotency=True, leading_keys=_JOB_ITEMS),
}
# The routes that enqueue a job's first step (sqs:SendMessage on the job queue); every job route
# gets the queue's URL (JOB_QUEUE_URL, registry/settings.py).
JOB_ENQUEUERS = frozenset({"create_job", "rollback_job"})


# The functions that need the retention setting (STATUS_HISTORY_DAYS): the ones that write
# status-kind entries (their expires_at), and the reads whose answer may need an entry older
# than the retention horizon (status as_of, diff). Every other reader tells an expired entry by
# its own expires_at, and config-kind writes never expire.
RETENTION_HANDLERS = frozenset({"put_status", "put_own_status", "report_statuses", "get_status", "diff_device"})


def memory_mb(route: Route) -> int:
    if route == DOCS_ROUTE:
        return DOCS_MEMORY_MB
    return BATCH_MEMORY_MB if route.batch else MEMORY_MB


def handler_string(route: Route) -> str:
    return f"handlers.{route.handler}.lambda_handler"


# The route serving the OpenAPI document (registry/openapi.json, written by `make openapi`
# with the generator registry/openapi.py, which runs at build time only and ships nowhere).
DOCS_ROUTE = route_for("swagger")


def asset_excludes(route: Route) -> list[str]:
    return handler_asset_excludes(route.handler, openapi=route == DOCS_ROUTE)


def handler_asset_excludes(handler: str, *, openapi: bool = False) -> list[str]:
    """An allow-list in .gitignore syntax: ``registry/`` and the handler module ``handler``
    (a route's, or the migration function's), nothing else from ``functions/`` (no other
    handlers, no caches, nothing added there later by accident)."""
    excludes = [
        "/*",
        "!/registry/",
        "!/handlers/",
        "/handlers/*",
        "!/handlers/__init__.py",
        f"!/handlers/{handler}.py",
        "__pycache__/",
        "*.pyc",
        "/registry/openapi.py",
    ]
    if not openapi:
        excludes.append("/registry/openapi.json")
    return excludes


def own_role_and_logs(
    scope: Construct, stage: StageConfig, description: str, statements: Sequence[iam.PolicyStatement] = ()
) -> tuple[iam.Role, logs.LogGroup]:
    """A function's own log group, and its own role that may write there and nowhere else (the
    AWSLambdaBasicExecutionRole managed policy would let it write to every log group), and do what
    ``statements`` allow. Its policy is inline, part of the role: one resource per function, where
    a separate IAM policy would add one to the stack for every function (docs/decisions.md,
    "Headroom")."""
    log_group = logs.LogGroup(scope, "Logs", retention=stage.log_retention, removal_policy=stage.removal_policy)
    writes_logs = iam.PolicyStatement(
        actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[log_group.log_group_arn]
    )
    role = iam.Role(
        scope,
        "Role",
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        description=description,
        inline_policies={"Access": iam.PolicyDocument(statements=[writes_logs, *statements])},
    )
    skip_checkov(log_group, "CKV_AWS_158", LOGS_WITHOUT_CMK)
    return role, log_group


def pin(function: lambda_.Function, logical_id: str, fidelity_test: str) -> None:
    """A stable logical id (e.g. GetDevice) for `sam local invoke` and the console, and the
    pinned runtime acknowledged where cdk-nag asks for the latest."""
    cfn_function = function.node.default_child
    assert isinstance(cfn_function, lambda_.CfnFunction)
    cfn_function.override_logical_id(logical_id)
    acknowledge(
        function,
        "AwsSolutions-L1",
        f"{RUNTIME.name} is pinned: the functions' layer is built for it (infra/layer.py) and "
        f"{fidelity_test} runs this asset on it; move them together.",
    )


def handler_function(
    scope: Construct,
    *,
    handler: str,
    description: str,
    stage: StageConfig,
    layer: lambda_.ILayerVersion | None,
    role: iam.Role,
    log_group: logs.LogGroup,
    memory_mb: int,
    timeout: Duration,
    environment: dict[str, str],
) -> lambda_.Function:
    """A function that is not a route (the migration runner, the change publisher): the route
    functions' runtime, architecture and layer, an asset of ``registry/`` and its own handler
    module, and Powertools' service name and log level. ``layer`` None: no layer (a function of
    the standard library only), or the console's own files."""
    return lambda_.Function(
        scope,
        "Function",
        description=description,
        runtime=RUNTIME,
        architecture=ARCHITECTURE,
        handler=f"handlers.{handler}.lambda_handler",
        code=code_with_bytecode(FUNCTIONS_DIR, handler_asset_excludes(handler)),
        layers=[layer] if layer else None,
        memory_size=memory_mb,
        timeout=timeout,
        environment={**environment, "POWERTOOLS_SERVICE_NAME": SERVICE_NAME, "POWERTOOLS_LOG_LEVEL": stage.log_level},
        role=role,
        log_group=log_group,
    )


def liveness_environment(stage: StageConfig) -> dict[str, str]:
    """The liveness settings (registry/settings.py get_liveness_settings) as the functions read them."""
    return {
        "LIVENESS_RESOLUTION_S": str(stage.liveness_resolution_s),
        "MISSED_REPORTS": str(stage.missed_reports),
        "DEFAULT_REPORT_INTERVAL_S": str(stage.default_report_interval_s),
        "MIN_REPORT_INTERVAL_S": str(stage.min_report_interval_s),
    }


# The route functions that apply the liveness rules: reports (signs of life, deadlines), writes of
# report_interval_s (its least, the deadline it moves).
LIVENESS_HANDLERS = frozenset(
    {
        "put_status",
        "put_own_status",
        "report_statuses",
        "create_device",
        "create_devices",
        "update_device",
        "revert_device",
    }
)


class RouteFunction(Construct):
    """A route's Lambda function with its role and log group."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        route: Route,
        stage: StageConfig,
        layer: lambda_.ILayerVersion,
        environment: dict[str, str],
        statements: Sequence[iam.PolicyStatement] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        self.role, self.log_group = own_role_and_logs(self, stage, f"{route.method} {route.path}", statements)
        self.function = lambda_.Function(
            self,
            "Function",
            description=f"Device Registry: {route.method} {route.path}",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=handler_string(route),
            code=code_with_bytecode(FUNCTIONS_DIR, asset_excludes(route)),
            layers=[layer],
            memory_size=memory_mb(route),
            timeout=BATCH_TIMEOUT if route.batch else TIMEOUT,
            environment=environment,
            role=self.role,
            log_group=self.log_group,
            snap_start=lambda_.SnapStartConf.ON_PUBLISHED_VERSIONS if self._snaps(route, stage) else None,
            reserved_concurrent_executions=stage.reserved_concurrency.of(route) if stage.reserved_concurrency else None,
            # The version a deployment replaces is deleted with it: a version kept would keep its
            # SnapStart cache, billed until it goes inactive 14 idle days later (docs/cost.md).
            current_version_options=lambda_.VersionOptions(removal_policy=RemovalPolicy.DESTROY),
        )
        # What API Gateway invokes: with SnapStart, the current published version (SnapStart
        # applies to published versions only; each deployment that changes the function publishes
        # one, and the API's integration moves to it); otherwise the function itself. No alias: it
        # would add a resource per route and serve nothing a version does not (docs/decisions.md).
        self.target: lambda_.IFunction = self.function
        if self._snaps(route, stage):
            self.target = self.function.current_version
            Annotations.of(self.function).acknowledge_warning(
                "@aws-cdk/aws-lambda:snapStartRequirePublish",
                "current_version publishes a version on every code or configuration change; the API invokes it",
            )
        pin(self.function, route.function_id, "tests/infra/test_runtime_fidelity.py")
        self._explain_checkov_findings(stage)

    @staticmethod
    def _snaps(route: Route, stage: StageConfig) -> bool:
        # Not the docs function: it has no DynamoDB client and already starts below the floor.
        return stage.snap_start and route != DOCS_ROUTE

    def _explain_checkov_findings(self, stage: StageConfig) -> None:
        skip_checkov(
            self.function,
            "CKV_AWS_116",
            "Invoked synchronously by API Gateway (the caller gets the error), and daily by the keep-warm "
            "function with a request that carries nothing: no event could be lost, so nothing to dead-letter.",
        )
        skip_checkov(
            self.function,
            "CKV_AWS_117",
            "It reaches only AWS service endpoints (DynamoDB, X-Ray, CloudWatch) with IAM and TLS and "
            "nothing inside a VPC: a VPC would add NAT or endpoint costs and cold-start time, no isolation.",
        )
        skip_checkov(
            self.function,
            "CKV_AWS_173",
            "The environment holds table names and settings, no secrets; Lambda encrypts it at rest "
            "with an AWS-managed key, and a customer-managed key would protect nothing more.",
        )
        if stage.reserved_concurrency is None:
            skip_checkov(
                self.function,
                "CKV_AWS_115",
                f"The {stage.name} stage reserves no concurrency, so it deploys into any account (a new one's "
                "quota refuses reservations); its method throttles bound it (docs/deployment.md).",
            )


class Functions(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, stage: StageConfig, data: Data, token_url: str, jobs: JobQueue
    ) -> None:
        super().__init__(scope, construct_id)
        versions = pinned()
        self.layer = layer = lambda_.LayerVersion(
            self,
            "Libraries",
            code=lambda_.Code.from_asset(str(layer_dir())),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description=(
                f"aws-lambda-powertools {versions['aws-lambda-powertools']}, pydantic {versions['pydantic']} "
                "(requirements-lambda.txt)"
            ),
            removal_policy=stage.removal_policy,
        )
        powertools = {
            "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
            "POWERTOOLS_METRICS_NAMESPACE": metrics.NAMESPACE,
            "POWERTOOLS_LOG_LEVEL": stage.log_level,
            # We use no pydantic plugins; not looking for them saves a few ms of every cold start.
            "PYDANTIC_DISABLE_PLUGINS": "__all__",
        }
        tables = {
            "TABLE_NAME": data.table.table_name,
            "IDEMPOTENCY_TABLE_NAME": data.idempotency_table.table_name,
        }

        retention = {"STATUS_HISTORY_DAYS": str(stage.status_history_days)}

        self.by_route: dict[Route, RouteFunction] = {}
        for route in ROUTES:
            environment = {**powertools, **tables} if route.auth else {**powertools, "OAUTH_TOKEN_URL": token_url}
            if route.handler in RETENTION_HANDLERS:
                environment.update(retention)
            if route.handler in LIVENESS_HANDLERS:
                environment.update(liveness_environment(stage))
            if route.path.startswith(JOBS_PATH):
                environment["JOB_QUEUE_URL"] = jobs.queue.queue_url
            if stage.cors_origins:  # registry/http/edge.py adds the CORS headers to every answer
                environment["CORS_ORIGINS"] = ",".join(stage.cors_origins)
            function = RouteFunction(
                self,
                route.function_id,
                route=route,
                stage=stage,
                layer=layer,
                # The docs function reads no table; it names the token endpoint, so that Swagger
                # UI's Authorize can get a token (client credentials) from the Cognito domain.
                environment=environment,
                statements=self._statements(route, data)
                + ([jobs.send_statement()] if route.handler in JOB_ENQUEUERS else []),
            )
            self.by_route[route] = function

    @staticmethod
    def _statements(route: Route, data: Data) -> list[iam.PolicyStatement]:
        access = TABLE_ACCESS[route.handler]
        statements = []
        if access.items:
            conditions = (
                {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": list(access.leading_keys)}}
                if access.leading_keys
                else None
            )
            statements.append(
                iam.PolicyStatement(actions=list(access.items), resources=[data.table.table_arn], conditions=conditions)
            )
        if access.indexes:
            indexes = [f"{data.table.table_arn}/index/{name}" for name in access.indexes]
            statements.append(iam.PolicyStatement(actions=[QUERY], resources=indexes))
        if access.idempotency:
            statements.append(
                iam.PolicyStatement(actions=list(IDEMPOTENCY_ACTIONS), resources=[data.idempotency_table.table_arn])
            )
        return statements
