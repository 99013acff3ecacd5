"""The liveness sweep in AWS terms: a function invoked by an EventBridge schedule every
``liveness_sweep_s`` (no API route), a least-privilege role (Query the device table and the
``due_by_deadline`` index, put and update items: no Scan, no delete, no other index), alarms on
its errors and on its not running, its sample event served by its asset on Python 3.13 with only
the runtime and the layer, and the deploy rules it respects (whole-minute rates, the table's
global index quota)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from infra.stage import STAGES
from local.dynamodb import EmbeddedDynamoDB, create_tables
from registry.http.routes import ROUTES
from registry.storage import keys
from tests.infra.cfn import as_list, integration_target, methods, resources, role_of, statements_of_role
from tests.infra.conftest import Synthesized
from tests.infra.test_runtime_fidelity import run_on_runtime

FUNCTION_ID = "SweepLiveness"
EVENT = Path(__file__).resolve().parents[2] / "events" / "sweep_liveness.json"
# Written out here, not imported from the stack: what a sweep does to the table.
TABLE_ACTIONS = {"dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem"}
# DynamoDB: at most 20 global secondary indexes per table (a quota that cannot be raised).
GSI_QUOTA = 20


def _function(template: dict[str, Any]) -> dict[str, Any]:
    return dict(template["Resources"][FUNCTION_ID]["Properties"])


def _device_table_id(template: dict[str, Any]) -> str:
    tables = resources(template, "AWS::DynamoDB::Table")
    return next(t for t, r in tables.items() if "GlobalSecondaryIndexes" in r["Properties"])


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_a_schedule_invokes_the_sweep_every_liveness_sweep_s_and_nothing_else_may(
    synthesized: Synthesized, stage: str
) -> None:
    template = synthesized.json(stage)
    [(rule, target)] = [
        (r["Properties"], target)
        for r in resources(template, "AWS::Events::Rule").values()
        for target in r["Properties"].get("Targets", [])
        if target["Arn"] == {"Fn::GetAtt": [FUNCTION_ID, "Arn"]}
    ]
    assert rule["ScheduleExpression"] == f"rate({STAGES[stage].liveness_sweep_s // 60} minute)"
    assert target["Arn"] == {"Fn::GetAtt": [FUNCTION_ID, "Arn"]}
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 0, "MaximumEventAgeInSeconds": 60}
    permissions = [
        p["Properties"]
        for p in resources(template, "AWS::Lambda::Permission").values()
        if f'"{FUNCTION_ID}"' in json.dumps(p["Properties"]["FunctionName"])
    ]
    assert [p["Principal"] for p in permissions] == ["events.amazonaws.com"]
    assert FUNCTION_ID not in {integration_target(template, method) for method in methods(template).values()}


def test_its_role_may_query_the_table_and_the_due_index_and_put_and_update_items_only(prod: dict[str, Any]) -> None:
    table = _device_table_id(prod)
    grants: dict[str, set[str]] = {}
    for statement in statements_of_role(prod, role_of(prod, FUNCTION_ID)):
        actions = {a for a in as_list(statement["Action"]) if a.startswith("dynamodb:")}
        for resource in as_list(statement["Resource"]) if actions else []:
            grants.setdefault(json.dumps(resource), set()).update(actions)

    index = {"Fn::Join": ["", [{"Fn::GetAtt": [table, "Arn"]}, f"/index/{keys.DUE_BY_DEADLINE}"]]}
    assert grants == {
        json.dumps({"Fn::GetAtt": [table, "Arn"]}): TABLE_ACTIONS,
        json.dumps(index): {"dynamodb:Query"},
    }


def test_its_errors_and_its_not_running_are_alarmed_to_the_alarm_topic(prod: dict[str, Any]) -> None:
    alarms = {
        name: alarm["Properties"]
        for name, alarm in resources(prod, "AWS::CloudWatch::Alarm").items()
        if f'"{FUNCTION_ID}"' in json.dumps(alarm["Properties"])
    }
    by_metric = {alarm["MetricName"]: alarm for alarm in alarms.values()}

    assert set(by_metric) == {"Errors", "Invocations"}
    assert (by_metric["Errors"]["ComparisonOperator"], by_metric["Errors"]["Threshold"]) == (
        "GreaterThanOrEqualToThreshold",
        1,
    )
    assert (by_metric["Invocations"]["ComparisonOperator"], by_metric["Invocations"]["TreatMissingData"]) == (
        "LessThanThreshold",
        "breaching",
    )
    topic = next(iter(resources(prod, "AWS::SNS::Topic")))
    assert all(alarm["AlarmActions"] == [{"Ref": topic}] for alarm in alarms.values())


def test_the_route_functions_that_apply_the_rules_get_the_stages_liveness_settings(prod: dict[str, Any]) -> None:
    stage = STAGES["prod"]
    expected = {
        "LIVENESS_RESOLUTION_S": str(stage.liveness_resolution_s),
        "MISSED_REPORTS": str(stage.missed_reports),
        "DEFAULT_REPORT_INTERVAL_S": str(stage.default_report_interval_s),
        "MIN_REPORT_INTERVAL_S": str(stage.min_report_interval_s),
    }
    reporting = [
        route.function_id for route in ROUTES if route.handler in {"put_status", "report_statuses", "update_device"}
    ]
    for function_id in (FUNCTION_ID, *reporting):
        variables = prod["Resources"][function_id]["Properties"]["Environment"]["Variables"]
        assert {name: variables.get(name) for name in expected} == expected, function_id


def test_the_device_table_stays_within_the_global_index_quota(prod: dict[str, Any]) -> None:
    table = resources(prod, "AWS::DynamoDB::Table")[_device_table_id(prod)]["Properties"]
    names = [index["IndexName"] for index in table["GlobalSecondaryIndexes"]]
    assert keys.DUE_BY_DEADLINE in names and keys.LIST_BY_LIVENESS in names
    assert len(names) <= GSI_QUOTA


@pytest.mark.parametrize("seconds", [30, 90, 0])
def test_a_sweep_period_that_is_not_whole_minutes_is_refused_before_synth(seconds: int) -> None:
    with pytest.raises(ValueError, match="liveness_sweep_s"):
        dataclasses.replace(STAGES["dev"], liveness_sweep_s=seconds)


def test_its_asset_serves_the_sample_schedule_event_on_the_runtime_python(
    synthesized: Synthesized, tmp_path: Path
) -> None:
    template = synthesized.json("prod")
    function = _function(template)
    s3_key = function["Code"]["S3Key"]
    table_name = "devices-sweep"
    server = EmbeddedDynamoDB().start()
    try:
        create_tables(server.endpoint, table_name, "idempotency-sweep")
        env = {
            **{name: value for name, value in function["Environment"]["Variables"].items() if isinstance(value, str)},
            "TABLE_NAME": table_name,
            "IDEMPOTENCY_TABLE_NAME": "idempotency-sweep",
            "AWS_ENDPOINT_URL_DYNAMODB": server.endpoint,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }
        run = run_on_runtime(
            function, synthesized.outdir / f"asset.{s3_key.removesuffix('.zip')}", EVENT, env, tmp_path
        )
    finally:
        server.stop()
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.splitlines()[-1])
    assert result["outside"] == []
    answer = result["response"]
    assert (answer["shards"], answer["due"], answer["silenced"]) == (keys.DUE_SHARDS, 0, 0)
