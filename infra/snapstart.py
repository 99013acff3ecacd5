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
  A schedule invokes every live alias once a day with a request for a path no route serves
  (``KEEP_WARM_PATH``): the handler answers 404 from its resolver without touching DynamoDB,
  and the version never goes idle. docs/deployment.md has the details.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import Aws, CfnRule, CfnRuleAssertion, Duration, Fn
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

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
    """The region rule, and a daily keep-warm invocation of each SnapStart alias."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: StageConfig,
        aliases: Mapping[str, lambda_.IAlias],
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
        event = events.RuleTargetInput.from_object(keep_warm_event(stage))
        for name, alias in aliases.items():
            # One rule per alias: a rule takes at most 5 targets.
            events.Rule(
                self,
                f"KeepWarm{name}",
                description=f"Invokes {name}'s SnapStart alias daily so its version never goes idle",
                schedule=events.Schedule.rate(KEEP_WARM_INTERVAL),
                targets=[targets.LambdaFunction(alias, event=event, retry_attempts=2)],
            )
