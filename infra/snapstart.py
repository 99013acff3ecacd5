"""SnapStart's two edges, for the stages that use it (prod): the regions that have it, and
versions left idle.

* **Regions.** Lambda offers SnapStart for Python in every commercial region except Asia
  Pacific (New Zealand) and Asia Pacific (Taipei), and in neither China nor GovCloud (Lambda
  developer guide, "Improving startup performance with Lambda SnapStart", Supported Regions;
  checked 2026-11). The stack is environment-agnostic, so its region is known at synth time
  only when the CDK CLI knows it (``CDK_DEFAULT_REGION``, or ``-c region=``): then the synth
  refuses another region. Always, a CloudFormation rule asserts ``AWS::Region`` against the
  same list, so a deployment anywhere else fails before it creates anything, with the reason.
  A region AWS adds later fails loudly too, until it is added here.
* **Idle versions.** A published version not invoked for 14 days becomes ``Inactive``: Lambda
  drops its snapshot, the next invocation fails with ``SnapStartNotReadyException`` while
  Lambda takes a new one, and until the version is ``Active`` again API Gateway answers 5xx.
  One schedule runs one small function (``infra/keep_warm_handler.py``, inline) once a day,
  which invokes every published version the API serves with a request for a path no route serves (``KEEP_WARM_PATH``):
  the handler answers 404 from its resolver without touching DynamoDB, and the version never
  goes idle. One rule and one function for all versions, where a rule per version (a rule
  takes at most 5 targets) and a permission each would add two resources per route
  (docs/decisions.md, "Headroom"). docs/deployment.md has the details.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import Aws, CfnRule, CfnRuleAssertion, Duration, Fn
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra import REPO_ROOT
from infra.functions import ARCHITECTURE, RUNTIME, own_role_and_logs, pin
from infra.nag import skip_checkov
from infra.stage import StageConfig

SNAPSTART_REGIONS = (
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "af-south-1",
    "ap-east-1",
    "ap-south-1",
    "ap-south-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
)
REGION_CONTEXT_KEY = "region"
# Lambda makes a version Inactive after 14 idle days; once a day leaves a wide margin (a
# failed or skipped invocation, a schedule paused for a few days).
KEEP_WARM_INTERVAL = Duration.days(1)
KEEP_WARM_PATH = "/_keep-warm"
KEEP_WARM_FUNCTION_ID = "KeepWarm"
KEEP_WARM_SOURCE = REPO_ROOT / "infra" / "keep_warm_handler.py"


def unsupported_region_message(stage: StageConfig, region: str) -> str:
    return (
        f"Stage {stage.name} uses Lambda SnapStart, which {region} does not offer for Python. "
        f"Deploy it to one of: {', '.join(SNAPSTART_REGIONS)}; or turn snap_start off for the "
        "stage in infra/stage.py (docs/deployment.md, SnapStart)."
    )


def check_region(stage: StageConfig, region: str | None) -> None:
    """At synth time, when the target region is known: refuse one without SnapStart."""
    if stage.snap_start and region and region not in SNAPSTART_REGIONS:
        raise ValueError(unsupported_region_message(stage, region))


def keep_warm_event(stage: StageConfig) -> dict[str, Any]:
    """A REST proxy event for a path that no route serves: every handler answers 404."""
    return {
        "resource": KEEP_WARM_PATH,
        "path": KEEP_WARM_PATH,
        "httpMethod": "GET",
        "headers": None,
        "multiValueHeaders": None,
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": KEEP_WARM_PATH,
            "httpMethod": "GET",
            "path": f"/{stage.name}{KEEP_WARM_PATH}",
            "stage": stage.name,
            "requestId": "keep-warm",
        },
        "body": None,
        "isBase64Encoded": False,
    }


class SnapStartGuards(Construct):
    """The region rule, and a daily keep-warm invocation of each SnapStart version."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: StageConfig,
        versions: Mapping[str, lambda_.IVersion],
    ) -> None:
        super().__init__(scope, construct_id)
        CfnRule(
            self,
            "Region",
            assertions=[
                CfnRuleAssertion(
                    assert_=Fn.condition_contains(list(SNAPSTART_REGIONS), Aws.REGION),
                    assert_description=unsupported_region_message(stage, "this region"),
                )
            ],
        )
        self._keep_warm(stage, versions)

    def _keep_warm(self, stage: StageConfig, versions: Mapping[str, lambda_.IVersion]) -> None:
        invoke = iam.PolicyStatement(
            actions=["lambda:InvokeFunction"], resources=[version.function_arn for version in versions.values()]
        )
        role, log_group = own_role_and_logs(self, stage, "Invokes every SnapStart version daily", [invoke])
        function = lambda_.Function(
            self,
            "Function",
            description="Device Registry: invokes each SnapStart version daily so that none goes idle",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler="index.handler",
            code=lambda_.Code.from_inline(KEEP_WARM_SOURCE.read_text()),
            memory_size=128,
            timeout=Duration.seconds(60),
            role=role,
            log_group=log_group,
        )
        pin(function, KEEP_WARM_FUNCTION_ID, "tests/infra/test_snapstart.py")
        for check, why in KEEP_WARM_CHECKOV_SKIPS.items():
            skip_checkov(function, check, why)
        request = {
            "functions": [version.function_arn for version in versions.values()],
            "request": keep_warm_event(stage),
        }
        events.Rule(
            self,
            "KeepWarmSchedule",
            description="Invokes every SnapStart version daily (through the KeepWarm function)",
            schedule=events.Schedule.rate(KEEP_WARM_INTERVAL),
            targets=[
                targets.LambdaFunction(function, event=events.RuleTargetInput.from_object(request), retry_attempts=2)
            ],
        )


KEEP_WARM_CHECKOV_SKIPS = {
    "CKV_AWS_115": "Runs once a day from one schedule: nothing to cap.",
    "CKV_AWS_116": "Invoked by its schedule, which retries it; a missed day leaves 13 more before a version idles.",
    "CKV_AWS_117": "It calls only the Lambda API (an AWS endpoint, IAM, TLS): a VPC would add cost, no isolation.",
    "CKV_AWS_173": "No environment variables.",
}
