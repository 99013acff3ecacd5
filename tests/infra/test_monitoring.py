"""Alarms on what fails callers, all notifying the alarm topic; no log kept forever."""

from __future__ import annotations

import json
from typing import Any

from registry.http.routes import ROUTES
from tests.infra.cfn import only, resources


def _alarms(template: dict[str, Any]) -> list[dict[str, Any]]:
    return [r["Properties"] for r in resources(template, "AWS::CloudWatch::Alarm").values()]


def _dimension_refs(alarm: dict[str, Any]) -> set[str]:
    return {
        d["Value"]["Ref"] for d in alarm.get("Dimensions", []) if isinstance(d["Value"], dict) and "Ref" in d["Value"]
    }


def test_every_function_has_an_errors_and_a_throttles_alarm(prod: dict[str, Any]) -> None:
    watched = {
        (ref, alarm["MetricName"])
        for alarm in _alarms(prod)
        if alarm["Namespace"] == "AWS/Lambda"
        for ref in _dimension_refs(alarm)
    }

    for route in ROUTES:
        assert (route.function_id, "Errors") in watched
        assert (route.function_id, "Throttles") in watched


def test_api_5xx_and_dynamodb_throttling_are_alarmed(prod: dict[str, Any]) -> None:
    metrics = {(alarm["Namespace"], alarm["MetricName"]) for alarm in _alarms(prod)}
    throttled_tables = {
        ref for alarm in _alarms(prod) if alarm["Namespace"] == "AWS/DynamoDB" for ref in _dimension_refs(alarm)
    }

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
