"""What a deploy must respect (docs/deployment.md): each AWS quota or deploy-time behaviour the
synthesized templates could break, checked on every combination a deployment can synthesize
(dev; prod; prod with CORS, a custom domain and a base path). Each rule names its source; the
limits are written out here, not imported from the stack."""

from __future__ import annotations

import json
import math
import uuid
from fnmatch import fnmatch
from typing import Any

import boto3
import pytest
from aws_cdk import App, Stack
from aws_cdk.assertions import Template as Assertions
from moto import mock_aws

from infra.data import Data
from infra.stage import LOW_THROTTLE_REGIONS, stage_config
from registry.http.routes import ROUTES
from registry.storage import keys as table
from tests.infra.cfn import as_list, only, render, resource_paths, resources, statements_of_role
from tests.infra.conftest import EDGE, Synthesized

COMBINATIONS = ["dev", "prod", EDGE]
Template = dict[str, Any]

# CloudFormation quotas (User Guide, "CloudFormation quotas"): resources per stack; template
# body size in an S3 object (what `cdk deploy` uploads past 51,200 bytes, the direct limit).
RESOURCES_PER_STACK = 500
TEMPLATE_BYTES_VIA_S3 = 1_000_000
# Custom resources (User Guide, "Custom resources" response objects): "The total size of the
# response body can't exceed 4096 bytes" (aws-cdk #28145, #28498: "Response object is too long").
CUSTOM_RESOURCE_RESPONSE_BYTES = 4_096
# API Gateway quotas: "Authorizers per API" 10; the account throttle per region.
AUTHORIZERS_PER_API = 10
ACCOUNT_RATE, ACCOUNT_BURST = 10_000, 5_000
LOW_ACCOUNT_RATE, LOW_ACCOUNT_BURST = 2_500, 1_250
# DynamoDB quotas: "Global secondary indexes per table" 20.
GSIS_PER_TABLE = 20
# Lambda quotas: "Concurrent executions" 1,000 by default, of which reservations must leave 100.
ACCOUNT_CONCURRENCY, UNRESERVED_MINIMUM = 1_000, 100
# IAM quotas: "Role inline policy size" 10,240 characters (all inline policies of a role together).
ROLE_INLINE_POLICY_CHARACTERS = 10_240
# CloudWatch: "Alarms based on metric math expressions can reference a maximum of 10 metrics".
METRICS_PER_ALARM = 10
# Cognito (Developer Guide, "Pre token generation Lambda trigger"): "In user pools with the
# Essentials or Plus feature plan, you can generate the version two or V2_0 trigger event with
# access token customization" (and V3_0); ("Customizing user pool workflows with Lambda triggers")
# Cognito calls a trigger synchronously and waits 5 seconds for its answer, then retries or fails.
ACCESS_TOKEN_TRIGGER_PLANS = {"ESSENTIALS", "PLUS"}
ACCESS_TOKEN_TRIGGER_VERSIONS = {"V2_0", "V3_0"}
COGNITO_TRIGGER_SECONDS = 5


def _combinations() -> list[Any]:
    return [pytest.param(name, id=name) for name in COMBINATIONS]


@pytest.fixture(params=COMBINATIONS)
def combination(request: pytest.FixtureRequest, synthesized: Synthesized) -> Template:
    return synthesized.json(str(request.param))


def test_resources_per_stack(combination: Template) -> None:
    assert len(combination["Resources"]) <= RESOURCES_PER_STACK


@pytest.mark.parametrize("stage", _combinations())
def test_template_size(synthesized: Synthesized, stage: str) -> None:
    """`cdk deploy` uploads the template to the bootstrap bucket (it is over 51,200 bytes)."""
    assert synthesized.template_files[stage].stat().st_size <= TEMPLATE_BYTES_VIA_S3


def _flatten(value: Any, path: tuple[str, ...] = ()) -> dict[str, Any]:
    """CDK's aws-custom-resource handler's ``flatten``: nested keys joined with dots, arrays by index."""
    if isinstance(value, dict | list):
        items = value.items() if isinstance(value, dict) else enumerate(value)
        flat: dict[str, Any] = {}
        for key, item in items:
            flat.update(_flatten(item, (*path, str(key))))
        return flat
    return {".".join(path): value}


def _handler_response(call: dict[str, Any], answer: dict[str, Any], logical_id: str) -> str:
    """The body CDK's handler PUTs to CloudFormation: the flattened answer (with apiVersion and
    region), kept to the keys starting with one of ``outputPaths``."""
    data = {"apiVersion": "2015-07-09", "region": "ap-southeast-4", **_flatten(answer)}
    paths = [call["outputPath"]] if "outputPath" in call else call.get("outputPaths")
    if paths is not None:
        data = {key: value for key, value in data.items() if any(key.startswith(p) for p in paths)}
    stack_id = f"arn:aws:cloudformation:ap-southeast-4:123456789012:stack/DeviceRegistry-prod/{uuid.uuid4()}"
    return json.dumps(
        {
            "Status": "SUCCESS",
            "Reason": "OK",
            "PhysicalResourceId": call["physicalResourceId"]["id"],
            "StackId": stack_id,
            "RequestId": str(uuid.uuid4()),
            "LogicalResourceId": logical_id,
            "NoEcho": False,
            "Data": data,
        }
    )


def _update_stage_answer(template: Template, call: dict[str, Any]) -> dict[str, Any]:
    """What API Gateway (moto) answers the call, on a stage with the template's method settings."""
    stage = only(template, "AWS::ApiGateway::Stage")["Properties"]
    with mock_aws():
        client = boto3.client("apigateway", region_name="us-east-1")
        api = client.create_rest_api(name="registry")["id"]
        root = client.get_resources(restApiId=api)["items"][0]["id"]
        client.put_method(restApiId=api, resourceId=root, httpMethod="GET", authorizationType="NONE")
        client.put_integration(restApiId=api, resourceId=root, httpMethod="GET", type="MOCK")
        deployment = client.create_deployment(restApiId=api)["id"]
        client.create_stage(
            restApiId=api,
            stageName=stage["StageName"],
            deploymentId=deployment,
            variables={},
            tracingEnabled=True,
            cacheClusterEnabled=bool(stage.get("CacheClusterEnabled")),
        )
        declared = [
            {"op": "replace", "path": f"{s['ResourcePath']}/{s['HttpMethod']}/{name}", "value": str(s[key]).lower()}
            for s in stage["MethodSettings"]
            for key, name in (
                ("ThrottlingRateLimit", "throttling/rateLimit"),
                ("ThrottlingBurstLimit", "throttling/burstLimit"),
                ("MetricsEnabled", "metrics/enabled"),
                ("LoggingLevel", "logging/loglevel"),
                ("CachingEnabled", "caching/enabled"),
            )
            if key in s
        ]
        client.update_stage(restApiId=api, stageName=stage["StageName"], patchOperations=declared)
        answer = client.update_stage(
            restApiId=api, stageName=stage["StageName"], patchOperations=call["parameters"]["patchOperations"]
        )
    answer.pop("ResponseMetadata", None)
    answer["accessLogSettings"] = {"format": stage["AccessLogSetting"]["Format"], "destinationArn": "arn:aws:logs:x"}
    return dict(json.loads(json.dumps(answer, default=str)))


def _sdk_calls(template: Template) -> list[tuple[str, dict[str, Any]]]:
    return [
        (name, json.loads(render(resource["Properties"][event])))
        for name, resource in resources(template, "Custom::AWS").items()
        for event in ("Create", "Update")
        if event in resource["Properties"]
    ]


def test_custom_resource_responses_fit_cloudformations_limit(combination: Template) -> None:
    """Each AwsCustomResource's answer, as CDK's handler builds it from what API Gateway answers."""
    for logical_id, call in _sdk_calls(combination):
        assert (call["service"], call["action"]) == ("APIGateway", "updateStage"), "a call this rule cannot answer"
        answer = _update_stage_answer(combination, call)
        whole = _handler_response({**call, "outputPaths": None}, answer, logical_id)
        kept = _handler_response(call, answer, logical_id)

        assert len(whole.encode()) > CUSTOM_RESOURCE_RESPONSE_BYTES  # what the rule is there for
        assert len(kept.encode()) <= CUSTOM_RESOURCE_RESPONSE_BYTES, f"{logical_id}: {len(kept)} bytes"


def test_cache_key_parameters_are_declared_request_parameters(combination: Template) -> None:
    """API Gateway refuses a method whose cache key names a parameter it does not declare."""
    for method in resources(combination, "AWS::ApiGateway::Method").values():
        props = method["Properties"]
        for key in props.get("Integration", {}).get("CacheKeyParameters", []):
            assert key in props.get("RequestParameters", {}), key


def _policy_documents(template: Template, kind: str, target: str) -> list[dict[str, Any]]:
    field = {"AWS::SNS::TopicPolicy": "Topics", "AWS::SQS::QueuePolicy": "Queues"}[kind]
    return [
        statement
        for policy in resources(template, kind).values()
        if {"Ref": target} in policy["Properties"][field]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def _allows(statement: dict[str, Any], service: str, action: str) -> bool:
    principal = statement.get("Principal", {})
    services = as_list(principal.get("Service", [])) if isinstance(principal, dict) else []
    return (
        statement["Effect"] == "Allow"
        and service in services
        and any(fnmatch(action, pattern) for pattern in as_list(statement["Action"]))
    )


def test_cloudwatch_may_publish_each_alarm_to_its_topic(combination: Template) -> None:
    """A topic policy replaces SNS's default one: CloudWatch publishes only where it says so."""
    for alarm_id, alarm in resources(combination, "AWS::CloudWatch::Alarm").items():
        for action in alarm["Properties"].get("AlarmActions", []) + alarm["Properties"].get("OKActions", []):
            statements = _policy_documents(combination, "AWS::SNS::TopicPolicy", action["Ref"])
            allowing = [s for s in statements if _allows(s, "cloudwatch.amazonaws.com", "sns:Publish")]
            assert allowing, f"{alarm_id} cannot publish to {action['Ref']}"
            conditions = allowing[0]["Condition"]
            assert conditions["StringEquals"]["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}
            assert {"Fn::GetAtt": [alarm_id, "Arn"]} in as_list(conditions["ArnLike"]["aws:SourceArn"])


def _key_policy(template: Template, key: Any) -> list[dict[str, Any]]:
    key_id = key["Fn::GetAtt"][0] if "Fn::GetAtt" in key else key["Ref"]
    return list(template["Resources"][key_id]["Properties"]["KeyPolicy"]["Statement"])


def test_kms_keys_let_cloudwatch_use_the_topic_and_logs_their_log_groups(combination: Template) -> None:
    for topic in resources(combination, "AWS::SNS::Topic").values():
        if "KmsMasterKeyId" in topic["Properties"]:
            statements = _key_policy(combination, topic["Properties"]["KmsMasterKeyId"])
            for action in ("kms:Decrypt", "kms:GenerateDataKey"):
                assert any(_allows(s, "cloudwatch.amazonaws.com", action) for s in statements), action
    for name, group in resources(combination, "AWS::Logs::LogGroup").items():
        if "KmsKeyId" in group["Properties"]:
            statements = _key_policy(combination, group["Properties"]["KmsKeyId"])
            assert any("logs." in json.dumps(s.get("Principal")) for s in statements), name


def test_eventbridge_and_stream_failures_may_reach_their_dead_letter_queues(combination: Template) -> None:
    for rule in resources(combination, "AWS::Events::Rule").values():
        for target in rule["Properties"]["Targets"]:
            if "DeadLetterConfig" in target:
                queue = target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
                statements = _policy_documents(combination, "AWS::SQS::QueuePolicy", queue)
                assert any(_allows(s, "events.amazonaws.com", "sqs:SendMessage") for s in statements), queue
    for mapping in resources(combination, "AWS::Lambda::EventSourceMapping").values():
        failure = mapping["Properties"].get("DestinationConfig", {}).get("OnFailure")
        if failure:
            function = mapping["Properties"]["FunctionName"]["Ref"]
            role = combination["Resources"][function]["Properties"]["Role"]["Fn::GetAtt"][0]
            allowed = [
                s
                for s in statements_of_role(combination, role)
                if "sqs:SendMessage" in as_list(s["Action"]) and failure["Destination"] in as_list(s["Resource"])
            ]
            assert allowed, f"{function} cannot dead-letter to {failure['Destination']}"


def _invoked(uri: Any) -> Any:
    """The function (or alias) an integration or authorizer URI names, as a template token."""
    parts = uri["Fn::Join"][1]
    return next(
        part
        for part in parts
        if isinstance(part, dict) and ("Fn::GetAtt" in part or ("Ref" in part and not part["Ref"].startswith("AWS::")))
    )


def test_api_gateway_may_invoke_every_function_it_integrates(combination: Template) -> None:
    """Through the integration's role (it trusts API Gateway and may invoke the target), or a
    Lambda permission for API Gateway on the target."""
    permitted = {
        json.dumps(p["Properties"]["FunctionName"], sort_keys=True)
        for p in resources(combination, "AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "apigateway.amazonaws.com"
    }
    for method in resources(combination, "AWS::ApiGateway::Method").values():
        integration = method["Properties"].get("Integration", {})
        if integration.get("Type") != "AWS_PROXY":
            continue
        target = _invoked(integration["Uri"])
        if "Credentials" in integration:
            role = integration["Credentials"]["Fn::GetAtt"][0]
            trust = combination["Resources"][role]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
            assert any(_allows(s, "apigateway.amazonaws.com", "sts:AssumeRole") for s in trust)
            invocable = [
                r
                for s in statements_of_role(combination, role)
                if "lambda:InvokeFunction" in as_list(s["Action"])
                for r in as_list(s["Resource"])
            ]
            assert target in invocable, target
        else:
            assert json.dumps(target, sort_keys=True) in permitted, target
    for authorizer in resources(combination, "AWS::ApiGateway::Authorizer").values():
        uri = authorizer["Properties"].get("AuthorizerUri")
        if uri and "AuthorizerCredentials" not in authorizer["Properties"]:
            function = _invoked(uri)["Fn::GetAtt"][0]
            assert json.dumps({"Fn::GetAtt": [function, "Arn"]}, sort_keys=True) in permitted, function


def _cognito_triggers(template: Template) -> list[tuple[str, str, dict[str, Any]]]:
    """(pool, trigger, its configuration) for every Lambda trigger of every user pool."""
    return [
        (name, trigger, configuration if isinstance(configuration, dict) else {"LambdaArn": configuration})
        for name, pool in resources(template, "AWS::Cognito::UserPool").items()
        for trigger, configuration in pool["Properties"].get("LambdaConfig", {}).items()
    ]


def test_access_token_customization_is_on_a_feature_plan_that_has_it(combination: Template) -> None:
    for pool, trigger, configuration in _cognito_triggers(combination):
        if trigger == "PreTokenGenerationConfig" and configuration["LambdaVersion"] in ACCESS_TOKEN_TRIGGER_VERSIONS:
            assert combination["Resources"][pool]["Properties"]["UserPoolTier"] in ACCESS_TOKEN_TRIGGER_PLANS


def test_cognito_may_invoke_each_trigger_and_gets_its_answer_in_time(combination: Template) -> None:
    permissions = [p["Properties"] for p in resources(combination, "AWS::Lambda::Permission").values()]
    for pool, trigger, configuration in _cognito_triggers(combination):
        if "LambdaArn" not in configuration:
            continue
        function = configuration["LambdaArn"]["Fn::GetAtt"][0]
        assert combination["Resources"][function]["Properties"]["Timeout"] < COGNITO_TRIGGER_SECONDS, trigger
        assert any(
            p["Principal"] == "cognito-idp.amazonaws.com"
            and p["FunctionName"] == {"Fn::GetAtt": [function, "Arn"]}
            and p["SourceArn"] == {"Fn::GetAtt": [pool, "Arn"]}
            for p in permissions
        ), trigger


def test_role_inline_policies_fit_iams_limit(combination: Template) -> None:
    for name, role in resources(combination, "AWS::IAM::Role").items():
        size = sum(
            len(json.dumps(p["PolicyDocument"], separators=(",", ":"))) for p in role["Properties"].get("Policies", [])
        )
        assert size <= ROLE_INLINE_POLICY_CHARACTERS, f"{name}: {size}"


def _reserved(template: Template) -> int:
    return sum(
        f["Properties"].get("ReservedConcurrentExecutions", 0)
        for f in resources(template, "AWS::Lambda::Function").values()
    )


def test_reservations_leave_lambdas_unreserved_minimum(synthesized: Synthesized) -> None:
    """Every combination alone, and dev beside the largest prod in one default account."""
    for stage in COMBINATIONS:
        assert _reserved(synthesized.json(stage)) <= ACCOUNT_CONCURRENCY - UNRESERVED_MINIMUM
    largest = max(_reserved(synthesized.json(stage)) for stage in ("prod", EDGE))
    assert _reserved(synthesized.json("dev")) + largest <= ACCOUNT_CONCURRENCY - UNRESERVED_MINIMUM


def _method_limits(template: Template) -> list[tuple[int, int]]:
    """Each method's (rate, burst): its own method setting, else the stage's ``/*/*``."""
    stage = only(template, "AWS::ApiGateway::Stage")["Properties"]
    settings = {(s["ResourcePath"], s["HttpMethod"]): s for s in stage["MethodSettings"]}
    default = settings[("/*", "*")]
    paths = resource_paths(template)
    limits = []
    for method in resources(template, "AWS::ApiGateway::Method").values():
        props = method["Properties"]
        path = paths.get(props["ResourceId"].get("Ref", ""), "/")
        setting = settings.get(("/" + path.replace("/", "~1"), props["HttpMethod"]), default)
        limits.append((setting["ThrottlingRateLimit"], setting["ThrottlingBurstLimit"]))
    return limits


def test_method_throttles_add_up_to_no_more_than_the_accounts(combination: Template) -> None:
    """Each method's limit is a bucket of its own, so the stage can take their sum: it fits the
    account's throttle, and where it exceeds the 13 newer regions' lower one, a rule refuses them."""
    limits = _method_limits(combination)
    rate, burst = sum(r for r, _ in limits), sum(b for _, b in limits)

    assert rate <= ACCOUNT_RATE and burst <= ACCOUNT_BURST
    refused = [
        set(assertion["Assert"]["Fn::Not"][0]["Fn::Contains"][0])
        for rule in combination.get("Rules", {}).values()
        for assertion in rule["Assertions"]
        if "Fn::Not" in assertion["Assert"] and "AWS::Region" in json.dumps(assertion["Assert"])
    ]
    if rate > LOW_ACCOUNT_RATE or burst > LOW_ACCOUNT_BURST:
        assert refused == [set(LOW_THROTTLE_REGIONS)] and len(LOW_THROTTLE_REGIONS) == 13
    else:
        assert not refused


def test_authorizers_per_api(combination: Template) -> None:
    assert len(resources(combination, "AWS::ApiGateway::Authorizer")) <= AUTHORIZERS_PER_API


def test_global_indexes_per_table(combination: Template) -> None:
    for name, resource in resources(combination, "AWS::DynamoDB::Table").items():
        assert len(resource["Properties"].get("GlobalSecondaryIndexes", [])) <= GSIS_PER_TABLE, name


def test_metric_math_alarms_reference_at_most_ten_metrics(combination: Template) -> None:
    for name, alarm in resources(combination, "AWS::CloudWatch::Alarm").items():
        metrics = [m for m in alarm["Properties"].get("Metrics", []) if "MetricStat" in m]
        assert len(metrics) <= METRICS_PER_ALARM, name


def _lookup_step(deployed: int | None) -> list[str]:
    """The device table's global indexes when synthesized with ``-c lookup_indexes=deployed``."""
    stack = Stack(App(context={"lookup_indexes": deployed} if deployed is not None else None), "Tables")
    Data(stack, "Data", stage=stage_config("dev"))
    tables = resources(dict(Assertions.from_stack(stack).to_json()), "AWS::DynamoDB::Table")
    device = next(t for t in tables.values() if "GlobalSecondaryIndexes" in t["Properties"])
    return [index["IndexName"] for index in device["Properties"]["GlobalSecondaryIndexes"]]


def test_each_deployment_step_changes_one_global_index_at_most(combination: Template) -> None:
    """CloudFormation: "Cannot perform more than one GSI creation or deletion in a single update".
    From a stack without the lookup indexes, `-c lookup_indexes=1, 2, ...` adds one each; the last
    step is the template every combination synthesizes."""
    steps = [_lookup_step(n) for n in range(len(table.LOOKUP_INDEXES) + 1)]
    device = next(
        t for t in resources(combination, "AWS::DynamoDB::Table").values() if "StreamSpecification" in t["Properties"]
    )
    declared = [index["IndexName"] for index in device["Properties"]["GlobalSecondaryIndexes"]]

    for before, after in zip(steps, [*steps[1:], declared], strict=True):
        assert len(set(before) ^ set(after)) <= 1, (before, after)


# ---- Headroom (docs/decisions.md, "Headroom"): 70 % of the 500, after what this turn adds ----

HEADROOM = 350
# What one more route costs in prod (docs/decisions.md): its function, role (policy inline), log
# group and SnapStart version; its method, a HEAD beside a GET; a path of its own adds an
# API resource and its one ANY mock; every five functions share one alarm.
PER_ROUTE = {"dev": 3, "prod": 4, EDGE: 4}


def test_no_combination_passes_the_headroom_line(combination: Template) -> None:
    assert len(combination["Resources"]) <= HEADROOM


@pytest.mark.parametrize("stage", _combinations())
def test_what_one_more_route_costs(synthesized: Synthesized, stage: str) -> None:
    """The resources that exist once per route function: a route adds exactly PER_ROUTE of them,
    plus its method(s), and (a new path) one API resource and one mock; alarms every five."""
    template = synthesized.json(stage)
    per_function = set()
    for route in ROUTES:
        function = template["Resources"][route.function_id]["Properties"]
        owned = {route.function_id, function["Role"]["Fn::GetAtt"][0], function["LoggingConfig"]["LogGroup"]["Ref"]}
        owned |= {
            name
            for name, r in resources(template, "AWS::Lambda::Version").items()
            if r["Properties"]["FunctionName"] == {"Ref": route.function_id}
        }
        # The docs function has no SnapStart version (test_functions.py says why): one fewer.
        assert len(owned) <= PER_ROUTE[stage], (route.handler, sorted(owned))
        assert len(owned) == PER_ROUTE[stage] or not any("Version" in name for name in owned)
        per_function |= owned
    methods = resources(template, "AWS::ApiGateway::Method")
    paths = {route.path for route in ROUTES}
    gets = [route for route in ROUTES if route.method == "GET"]
    route_alarms = [name for name in resources(template, "AWS::CloudWatch::Alarm") if "RouteFunctions" in name]

    # The operator console's two GETs (infra/console.py) are the console's, not routes of the table.
    console = [name for name, r in methods.items() if "ServeConsole" in json.dumps(r["Properties"].get("Integration"))]

    assert len(methods) - len(console) == len(ROUTES) + len(gets) + len(paths)
    assert len(route_alarms) == math.ceil(len(ROUTES) / 5)


# This turn's other work, counted the same way (prod with CORS and a custom domain, the largest):
# routes cost PER_ROUTE each, plus a method (and a HEAD per GET), plus an API resource and its
# mock per new path, plus an alarm per five functions. Each entry counts until what it plans is in
# the template (``landed``), then the template's own count holds it.
PLANNED = {
    # POST/GET /jobs, GET /jobs/{id}, its results, cancel, rollback, and two more: 8 routes, 4 GETs,
    # 5 new paths.
    "job routes": 8 * PER_ROUTE[EDGE] + (8 + 4) + 5 * 2 + 2,
    # Landed (infra/liveness.py): function, role, log group, schedule, its permission, and two alarms
    # (errors, not running) in infra/monitoring.py.
    "liveness sweep": 7,
    # A queue-fed function (or a state machine): function, role, log group, queue and dead-letter
    # queue with their policies, the event source mapping, an alarm on the dead letters. Landed
    # (infra/jobs.py): 12 — those 9 (the role's grant from the mapping is its policy), and alarms on
    # failed jobs, the worker's errors and throttles, and the dead letters; the 6 job routes too.
    "job worker": 3 + 4 + 1 + 1,
    # The operator console, served by the API itself (infra/console.py, docs/decisions.md): its
    # function, role, policy, log group, layer, app client, 2 API resources, 2 methods and 2
    # permissions; its sign-in trigger's group, function, role, log group, permission and alarm.
    # In the template whenever console/dist is built (`make console`).
    "console hosting": 12 + 6,
}


def _landed(template: Template) -> set[str]:
    """The planned additions already in ``template``."""
    functions = " ".join(resources(template, "AWS::Lambda::Function")).lower()
    found = set()
    if any(route.path.startswith("/jobs") for route in ROUTES):
        found.add("job routes")
    if "sweep" in functions or "liveness" in functions:
        found.add("liveness sweep")
    if "worker" in functions or "runjobs" in functions or resources(template, "AWS::StepFunctions::StateMachine"):
        found.add("job worker")
    if "ServeConsole" in template["Resources"]:
        found.add("console hosting")
    return found


def test_the_largest_combination_stays_under_the_line_after_this_turns_additions(synthesized: Synthesized) -> None:
    largest = max(COMBINATIONS, key=lambda stage: len(synthesized.json(stage)["Resources"]))
    template = synthesized.json(largest)
    still_to_come = {what: count for what, count in PLANNED.items() if what not in _landed(template)}

    assert len(template["Resources"]) + sum(still_to_come.values()) <= HEADROOM, still_to_come
