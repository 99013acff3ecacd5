"""Alarms on what fails callers, all notifying the alarm topic; no log kept forever."""

from __future__ import annotations

import json
from typing import Any

import pytest

from benchmarks import bill
from registry.http.routes import ROUTES
from tests.infra.cfn import only, resources


def _alarms(template: dict[str, Any]) -> list[dict[str, Any]]:
    return [r["Properties"] for r in resources(template, "AWS::CloudWatch::Alarm").values()]


def _metrics(alarm: dict[str, Any]) -> list[dict[str, Any]]:
    """An alarm's metrics: its own, or each one its metric math expression reads."""
    if "MetricName" in alarm:
        return [alarm]
    return [query["MetricStat"]["Metric"] for query in alarm["Metrics"] if "MetricStat" in query]


def _dimension_refs(metric: dict[str, Any]) -> set[str]:
    return {
        d["Value"]["Ref"] for d in metric.get("Dimensions", []) if isinstance(d["Value"], dict) and "Ref" in d["Value"]
    }


def _watched(template: dict[str, Any], namespace: str) -> set[tuple[str, str]]:
    return {
        (ref, metric["MetricName"])
        for alarm in _alarms(template)
        for metric in _metrics(alarm)
        if metric["Namespace"] == namespace
        for ref in _dimension_refs(metric)
    }


def test_every_function_has_its_errors_and_throttles_alarmed(prod: dict[str, Any]) -> None:
    """By metric math: an alarm sums the errors and throttles of a few functions (any one's
    breach fires it), so that a route adds metrics to an alarm rather than two alarms."""
    watched = _watched(prod, "AWS/Lambda")

    for route in ROUTES:
        assert (route.function_id, "Errors") in watched
        assert (route.function_id, "Throttles") in watched
    for alarm in _alarms(prod):
        if "Metrics" in alarm:
            (expression,) = [q for q in alarm["Metrics"] if q.get("ReturnData", True) and "Expression" in q]
            assert expression["Expression"].startswith("SUM([FILL(")
            assert alarm["Threshold"] == 1 and alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"


def test_api_5xx_and_dynamodb_throttling_are_alarmed(prod: dict[str, Any]) -> None:
    metrics = {(m["Namespace"], m["MetricName"]) for alarm in _alarms(prod) for m in _metrics(alarm)}
    throttled_tables = {ref for ref, _ in _watched(prod, "AWS/DynamoDB")}

    assert ("AWS/ApiGateway", "5XXError") in metrics
    assert {("AWS/DynamoDB", "ReadThrottleEvents"), ("AWS/DynamoDB", "WriteThrottleEvents")} <= metrics
    assert throttled_tables == set(resources(prod, "AWS::DynamoDB::Table"))


def test_every_alarm_notifies_the_encrypted_alarm_topic(prod: dict[str, Any]) -> None:
    topic_id = next(iter(resources(prod, "AWS::SNS::Topic")))

    assert only(prod, "AWS::SNS::Topic")["Properties"]["KmsMasterKeyId"]
    for alarm in _alarms(prod):
        assert alarm["AlarmActions"] == [{"Ref": topic_id}]


def test_every_log_group_has_a_retention(prod: dict[str, Any], dev: dict[str, Any]) -> None:
    for template in (prod, dev):
        for name, log_group in resources(template, "AWS::Logs::LogGroup").items():
            assert log_group["Properties"].get("RetentionInDays"), name


def test_cloudwatch_may_use_the_alarm_topic_key_only_for_alarms_of_this_account(prod: dict[str, Any]) -> None:
    statements = only(prod, "AWS::KMS::Key")["Properties"]["KeyPolicy"]["Statement"]
    for_cloudwatch = [s for s in statements if s["Principal"].get("Service") == "cloudwatch.amazonaws.com"]

    assert len(for_cloudwatch) == 1
    conditions = for_cloudwatch[0]["Condition"]
    assert conditions["StringEquals"]["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}
    assert ":alarm:*" in json.dumps(conditions["ArnLike"]["aws:SourceArn"])


def test_cloudwatch_may_publish_to_the_alarm_topic_beside_the_tls_only_deny(prod: dict[str, Any]) -> None:
    """enforce_ssl's policy replaces SNS's default one: without an Allow for CloudWatch, alarms
    would notify nobody. Allowed for this stack's alarms of this account only."""
    statements = only(prod, "AWS::SNS::TopicPolicy")["Properties"]["PolicyDocument"]["Statement"]
    (deny,) = [s for s in statements if s["Effect"] == "Deny"]
    (allow,) = [s for s in statements if s["Effect"] == "Allow"]
    alarm_arns = [{"Fn::GetAtt": [name, "Arn"]} for name in resources(prod, "AWS::CloudWatch::Alarm")]

    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert allow["Principal"] == {"Service": "cloudwatch.amazonaws.com"} and allow["Action"] == "sns:Publish"
    assert allow["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert sorted(map(json.dumps, allow["Condition"]["ArnLike"]["aws:SourceArn"])) == sorted(
        map(json.dumps, alarm_arns)
    )


def test_docs_cost_md_prices_the_alarm_metrics_the_stack_has(prod: dict[str, Any], dev: dict[str, Any]) -> None:
    """benchmarks/bill.py counts the alarm metrics from the route table; CloudWatch bills each."""
    for template in (prod, dev):
        counted = sum(len(_metrics(alarm)) for alarm in _alarms(template))
        assert counted == bill.alarm_metrics(len(ROUTES))


def test_the_consoles_sign_in_trigger_is_alarmed(prod: dict[str, Any]) -> None:
    """Cognito refuses a sign-in whose trigger fails: an operator locked out is an alarm."""
    triggers = [
        c["LambdaArn"]["Fn::GetAtt"][0]
        for pool in resources(prod, "AWS::Cognito::UserPool").values()
        if isinstance(c := pool["Properties"].get("LambdaConfig", {}).get("PreTokenGenerationConfig"), dict)
    ]
    if not triggers:
        pytest.skip("console/dist not built (make console): the stack has no console")
    watched = _watched(prod, "AWS/Lambda")

    for function in triggers:
        assert {(function, "Errors"), (function, "Throttles")} <= watched
