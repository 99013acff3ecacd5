"""Change events in AWS (issue 11, items 1-2; infra/change_events.py): the stack's own bus with an
archive, the publisher on the table's stream with partial batch responses, bisecting, bounded
retries and an encrypted dead-letter queue, least privilege, alarms, the optional webhook, and
an asset that imports and publishes on Python 3.13 with only the layer and the runtime's boto3."""

from __future__ import annotations

import json
from dataclasses import replace
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_cdk import App
from aws_cdk.assertions import Template

from infra.stack import DeviceRegistryStack
from infra.stage import STAGES
from local.dynamodb import EmbeddedDynamoDB
from registry.http.routes import ROUTES
from registry.storage import keys as table
from registry.storage.codec import encode
from tests.infra.cfn import actions, as_list, only, resources, role_of, statements_by_role, statements_of_role
from tests.infra.conftest import Synthesized
from tests.infra.test_runtime_fidelity import run_on_runtime
from tests.support import ROOT

FUNCTION_ID = "PublishChanges"
# Written out here, not imported from the stack: what reading a table's stream takes.
STREAM_ACTIONS = {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"}
STATS_ACTIONS = {
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
}
SAMPLE_EVENT = ROOT / "events" / "publish_changes.json"


def _function(template: dict[str, Any]) -> dict[str, Any]:
    return dict(template["Resources"][FUNCTION_ID]["Properties"])


def _device_table_id(template: dict[str, Any]) -> str:
    tables = resources(template, "AWS::DynamoDB::Table")
    return next(t for t, r in tables.items() if "GlobalSecondaryIndexes" in r["Properties"])


def _bus_id(template: dict[str, Any]) -> str:
    return next(iter(resources(template, "AWS::Events::EventBus")))


def _mapping(template: dict[str, Any]) -> dict[str, Any]:
    """The stream's event source mapping (the job queue has one too: tests/infra/test_jobs.py)."""
    mappings = resources(template, "AWS::Lambda::EventSourceMapping").values()
    (stream,) = [m for m in mappings if "StartingPosition" in m["Properties"]]
    return dict(stream["Properties"])


def _event_queues(template: dict[str, Any]) -> dict[str, Any]:
    """The change events' queues: not the job queue and its dead letters (FIFO, infra/jobs.py)."""
    return {
        name: q for name, q in resources(template, "AWS::SQS::Queue").items() if not q["Properties"].get("FifoQueue")
    }


def _queue_id(arn: Any) -> str:
    return str(arn["Fn::GetAtt"][0])


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_one_bus_of_its_own_archives_every_change_event(synthesized: Synthesized, stage: str) -> None:
    template = synthesized.json(stage)
    bus = _bus_id(template)
    archive = only(template, "AWS::Events::Archive")["Properties"]

    assert "Name" in resources(template, "AWS::Events::EventBus")[bus]["Properties"]
    assert archive["SourceArn"] == {"Fn::GetAtt": [bus, "Arn"]}
    assert json.loads(json.dumps(archive["EventPattern"])) == {"source": ["device-registry"]}
    assert archive["RetentionDays"] >= 365
    assert template["Outputs"]["EventBusName"]["Value"] == {"Ref": bus}


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_publisher_runs_like_the_route_functions_and_knows_only_its_bus(
    synthesized: Synthesized, stage: str
) -> None:
    template = synthesized.json(stage)
    function = _function(template)
    route_function = template["Resources"][ROUTES[0].function_id]["Properties"]

    assert function["Handler"] == "handlers.publish_changes.lambda_handler"
    assert (function["Runtime"], function["Architectures"], function["Layers"]) == (
        route_function["Runtime"],
        route_function["Architectures"],
        route_function["Layers"],
    )
    assert function["Environment"]["Variables"]["EVENT_BUS_NAME"] == {"Ref": _bus_id(template)}
    # The table only for the fleet statistics' counters (registry/stream/stats.py).
    assert function["Environment"]["Variables"]["TABLE_NAME"] == {"Ref": _device_table_id(template)}


def test_the_stream_mapping_reports_item_failures_bisects_retries_boundedly_and_dead_letters(
    prod: dict[str, Any],
) -> None:
    mapping = _mapping(prod)

    assert mapping["FunctionName"] == {"Ref": FUNCTION_ID}
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": [_device_table_id(prod), "StreamArn"]}
    assert mapping["StartingPosition"] == "TRIM_HORIZON"
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BisectBatchOnFunctionError"] is True
    assert 0 < mapping["MaximumRetryAttempts"] <= 10
    assert 60 <= mapping["MaximumRecordAgeInSeconds"] < 24 * 3600  # before the stream drops the record
    assert mapping.get("ParallelizationFactor", 1) == 1  # one batch per shard at a time: order per device
    dlq = _queue_id(mapping["DestinationConfig"]["OnFailure"]["Destination"])
    queue = prod["Resources"][dlq]["Properties"]
    assert queue["SqsManagedSseEnabled"] is True
    assert queue["MessageRetentionPeriod"] == 14 * 24 * 3600


def test_every_dead_letter_queue_refuses_plain_http(prod: dict[str, Any]) -> None:
    policies = resources(prod, "AWS::SQS::QueuePolicy").values()
    guarded = {
        q["Ref"]
        for p in policies
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s["Effect"] == "Deny" and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
        for q in p["Properties"]["Queues"]
    }
    assert set(resources(prod, "AWS::SQS::Queue")) <= guarded


def test_the_publisher_may_put_events_on_its_bus_read_this_tables_stream_and_nothing_else(prod: dict[str, Any]) -> None:
    statements = [
        s
        for s in statements_of_role(prod, role_of(prod, FUNCTION_ID))
        if not any(a.startswith("logs:") for a in as_list(s["Action"]))
    ]
    by_action = {action: s["Resource"] for s in statements for action in as_list(s["Action"])}
    dlq = _queue_id(_mapping(prod)["DestinationConfig"]["OnFailure"]["Destination"])

    assert by_action["events:PutEvents"] == {"Fn::GetAtt": [_bus_id(prod), "Arn"]}
    for action in STREAM_ACTIONS:
        assert by_action[action] == {"Fn::GetAtt": [_device_table_id(prod), "StreamArn"]}
    assert by_action["dynamodb:ListStreams"] == "*"  # IAM cannot scope it; it reads no data
    # and the fleet statistics (shards read, one transaction a batch, deferred counts), on the table only
    assert all(by_action[action] == {"Fn::GetAtt": [_device_table_id(prod), "Arn"]} for action in STATS_ACTIONS)
    assert {a for a in by_action if a.startswith("dynamodb:")} == STREAM_ACTIONS | STATS_ACTIONS | {
        "dynamodb:ListStreams"
    }
    assert {a for a in by_action if a.startswith("sqs:")} == {
        "sqs:SendMessage",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
    }
    assert all(by_action[a] == {"Fn::GetAtt": [dlq, "Arn"]} for a in by_action if a.startswith("sqs:"))
    assert set(by_action) - {"events:PutEvents"} - STREAM_ACTIONS - STATS_ACTIONS - {"dynamodb:ListStreams"} == {
        a for a in by_action if a.startswith("sqs:")
    }


def test_no_other_role_may_put_events(prod: dict[str, Any]) -> None:
    putting = {
        role for role, statements in statements_by_role(prod).items() if "events:PutEvents" in actions(statements)
    }
    assert putting == {role_of(prod, FUNCTION_ID)}


def test_stream_lag_dead_letters_and_publisher_errors_are_alarmed_on_the_topic(prod: dict[str, Any]) -> None:
    alarms = [r["Properties"] for r in resources(prod, "AWS::CloudWatch::Alarm").values()]
    topic = next(iter(resources(prod, "AWS::SNS::Topic")))
    dlq = _queue_id(_mapping(prod)["DestinationConfig"]["OnFailure"]["Destination"])

    def watching(metric: str) -> list[dict[str, Any]]:
        return [a for a in alarms if a.get("MetricName") == metric]

    errors = [
        a for a in watching("Errors") if {"Name": "FunctionName", "Value": {"Ref": FUNCTION_ID}} in a["Dimensions"]
    ]
    age = [
        a for a in watching("IteratorAge") if {"Name": "FunctionName", "Value": {"Ref": FUNCTION_ID}} in a["Dimensions"]
    ]
    depth = [
        a
        for a in watching("ApproximateNumberOfMessagesVisible")
        if {"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq, "QueueName"]}} in a["Dimensions"]
    ]
    assert len(errors) == len(age) == len(depth) == 1
    assert age[0]["Statistic"] == "Maximum" and age[0]["Threshold"] <= 60_000
    for alarm in (errors[0], age[0], depth[0]):
        assert {"Ref": topic} in alarm["AlarmActions"]


def test_no_webhook_unless_the_stage_names_one(prod: dict[str, Any], dev: dict[str, Any]) -> None:
    for template in (prod, dev):
        assert not resources(template, "AWS::Events::ApiDestination")
        assert not [r for r in resources(template, "AWS::Events::Rule").values() if "EventBusName" in r["Properties"]]
        assert len(_event_queues(template)) == 1


def test_a_webhook_gets_every_event_with_retries_and_a_dead_letter_queue_of_its_own() -> None:
    stage = replace(
        STAGES["dev"], webhook_url="https://hooks.example.com/registry", webhook_secret_name="registry/hook"
    )
    template = Template.from_stack(DeviceRegistryStack(App(), "DeviceRegistry-hooked", stage=stage)).to_json()

    connection = only(template, "AWS::Events::Connection")["Properties"]
    destination = only(template, "AWS::Events::ApiDestination")["Properties"]
    # The webhook's rule is the one on the stack's bus; the others are schedules (keep-warm, liveness).
    (rule,) = [
        r["Properties"] for r in resources(template, "AWS::Events::Rule").values() if "EventBusName" in r["Properties"]
    ]
    (target,) = rule["Targets"]
    queues = _event_queues(template)
    alarms = [r["Properties"] for r in resources(template, "AWS::CloudWatch::Alarm").values()]

    assert connection["AuthorizationType"] == "API_KEY"
    assert "registry/hook" in json.dumps(connection["AuthParameters"])
    assert (destination["InvocationEndpoint"], destination["HttpMethod"]) == (
        "https://hooks.example.com/registry",
        "POST",
    )
    assert rule["EventBusName"] == {"Ref": _bus_id(template)}
    assert rule["EventPattern"] == {"source": ["device-registry"]}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0
    assert target["RetryPolicy"]["MaximumEventAgeInSeconds"] > 0
    webhook_dlq = _queue_id(target["DeadLetterConfig"]["Arn"])
    assert webhook_dlq in queues and len(queues) == 2
    assert queues[webhook_dlq]["Properties"]["SqsManagedSseEnabled"] is True
    assert [
        a
        for a in alarms
        if {"Name": "QueueName", "Value": {"Fn::GetAtt": [webhook_dlq, "QueueName"]}} in a.get("Dimensions", [])
    ]


def test_a_webhook_without_its_secret_or_over_plain_http_is_refused() -> None:
    with pytest.raises(ValueError, match="webhook_secret_name"):
        replace(STAGES["dev"], webhook_url="https://hooks.example.com/registry")
    with pytest.raises(ValueError, match="https"):
        replace(STAGES["dev"], webhook_url="http://hooks.example.com/registry", webhook_secret_name="s")


def _asset(synthesized: Synthesized) -> Path:
    s3_key = _function(synthesized.json("prod"))["Code"]["S3Key"]
    return synthesized.outdir / f"asset.{s3_key.removesuffix('.zip')}"


def test_its_asset_holds_the_registry_package_and_only_its_own_handler(synthesized: Synthesized) -> None:
    root = _asset(synthesized)
    files = {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()}

    assert {"registry/stream/change_events.py", "registry/stream/publisher.py", "handlers/publish_changes.py"} <= files
    sources = {f for f in files if "__pycache__" not in f}  # each beside its .pyc (infra/bytecode.py)
    assert {f for f in sources if f.startswith("handlers/")} == {"handlers/__init__.py", "handlers/publish_changes.py"}
    assert not [f for f in files if f.startswith("registry/openapi")]


def test_its_asset_publishes_the_sample_stream_batch_on_the_runtime_python_with_only_the_runtime_and_its_layer(
    synthesized: Synthesized, tmp_path: Path
) -> None:
    function = _function(synthesized.json("prod"))
    version = function["Runtime"].removeprefix("python")
    server = EmbeddedDynamoDB().start()
    try:
        credentials = {
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }
        events = boto3.client(
            "events",
            endpoint_url=server.endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        events.create_event_bus(Name="registry-fidelity")
        dynamodb = boto3.client(
            "dynamodb",
            endpoint_url=server.endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        dynamodb.create_table(**table.create_table_request("registry-fidelity"))  # the stats' counters
        env = {
            **{name: value for name, value in function["Environment"]["Variables"].items() if isinstance(value, str)},
            "EVENT_BUS_NAME": "registry-fidelity",
            "AWS_ENDPOINT_URL_EVENTBRIDGE": server.endpoint,
            "TABLE_NAME": "registry-fidelity",
            "AWS_ENDPOINT_URL_DYNAMODB": server.endpoint,
            **credentials,
        }
        run = run_on_runtime(function, _asset(synthesized), SAMPLE_EVENT, env, tmp_path)
        counters = dynamodb.batch_get_item(
            RequestItems={
                "registry-fidelity": {"Keys": [encode(table.stats_shard_key(n)) for n in range(table.STATS_SHARDS)]}
            }
        )["Responses"]["registry-fidelity"]
    finally:
        server.stop()

    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.splitlines()[-1])
    assert result["python"] == version and result["outside"] == []
    assert result["response"] == {"batchItemFailures": []}, run.stdout[-3000:]
    assert counters, "the batch's device state records reached the fleet statistics"


def test_the_publisher_may_write_the_statistics_items_only(prod: dict[str, Any]) -> None:
    """Its statistics reads and writes carry dynamodb:LeadingKeys: the counter shards, the batch
    markers and the deferred counts (registry/storage/keys.py), never a device, its history or a
    credential (issue 21 item 6)."""
    statements = [
        s for s in statements_of_role(prod, role_of(prod, FUNCTION_ID)) if set(as_list(s["Action"])) & STATS_ACTIONS
    ]
    (statement,) = statements
    patterns = statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]

    def writable(key: dict[str, str]) -> bool:
        return any(fnmatchcase(key[table.PK], pattern) for pattern in patterns)

    assert set(as_list(statement["Action"])) == STATS_ACTIONS
    assert all(writable(table.stats_shard_key(shard)) for shard in range(table.STATS_SHARDS))
    assert writable(table.stats_batch_key("3f2a9c", 0))
    assert writable(table.stats_deferred_key("3f2a9c"))
    assert not writable(table.device_key("sensor-1"))
    assert not writable(table.credential_key("c1"))
    assert not writable({table.PK: "STATS"}) and not writable({table.PK: "XSTATS#01"})
