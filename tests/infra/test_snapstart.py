"""SnapStart (prod): it is deployed only where Lambda offers it, and no version goes idle long
enough for Lambda to drop its snapshot (one schedule, one keep-warm function for all of them)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from infra import REPO_ROOT
from infra.app import build_app
from infra.snapstart import check_region
from infra.stage import STAGES
from tests.infra.cfn import as_list, render, resources, statements_of_role
from tests.infra.conftest import Synthesized

# Written out here: regions with and without SnapStart for Python (Lambda developer guide,
# "Supported Regions": every commercial region but New Zealand and Taipei; no China, no GovCloud).
WITH_SNAPSTART = ["us-east-1", "eu-west-1", "ap-northeast-1", "sa-east-1"]
WITHOUT_SNAPSTART = ["ap-southeast-6", "ap-east-2", "cn-north-1", "us-gov-west-1"]
IDLE_DAYS_BEFORE_INACTIVE = 14


def _region_assertions(template: dict[str, Any]) -> list[dict[str, Any]]:
    """The template's rule assertions about the region it is deployed in (CDK adds a rule of
    its own, on the bootstrap version)."""
    return [
        assertion
        for rule in template.get("Rules", {}).values()
        for assertion in rule["Assertions"]
        if "AWS::Region" in json.dumps(assertion["Assert"]) and "SnapStart" in assertion["AssertDescription"]
    ]


def test_prod_cannot_be_deployed_to_a_region_without_snapstart(prod: dict[str, Any]) -> None:
    """A CloudFormation rule: checked before anything is created, with its reason as the error."""
    (assertion,) = _region_assertions(prod)
    regions, region = assertion["Assert"]["Fn::Contains"]

    assert region == {"Ref": "AWS::Region"}
    assert set(WITH_SNAPSTART) <= set(regions)
    assert not set(WITHOUT_SNAPSTART) & set(regions)
    assert "SnapStart" in assertion["AssertDescription"]


def test_dev_uses_no_snapstart_and_deploys_anywhere(dev: dict[str, Any]) -> None:
    assert not _region_assertions(dev)
    for region in WITHOUT_SNAPSTART:
        check_region(STAGES["dev"], region)


@pytest.mark.parametrize("region", WITHOUT_SNAPSTART)
def test_synth_of_prod_for_a_region_without_snapstart_fails_with_a_clear_message(
    monkeypatch: pytest.MonkeyPatch, region: str
) -> None:
    monkeypatch.setenv("CDK_DEFAULT_REGION", region)  # what the CDK CLI sets from the profile

    with pytest.raises(ValueError, match=rf"Stage prod uses Lambda SnapStart, which {region} does not offer"):
        build_app({"stage": "prod"}, nag=False)


def test_a_region_given_as_context_is_checked_too() -> None:
    with pytest.raises(ValueError, match="ap-southeast-6 does not offer"):
        build_app({"stage": "prod", "region": "ap-southeast-6"}, nag=False)


KEEP_WARM = "KeepWarm"  # the keep-warm function's logical id (infra/snapstart.py pins it)


def _keep_warm_rule(template: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The one schedule of the keep-warm function (the liveness sweep has a schedule of its own),
    and what it asks that function to do."""
    (rule,) = [
        r["Properties"]
        for r in resources(template, "AWS::Events::Rule").values()
        if {"Fn::GetAtt": [KEEP_WARM, "Arn"]} in [t["Arn"] for t in r["Properties"].get("Targets", [])]
    ]
    (target,) = rule["Targets"]
    return rule, json.loads(render(target["Input"]))


def test_every_snapstart_version_is_invoked_well_within_the_idle_limit(prod: dict[str, Any]) -> None:
    """One schedule runs the keep-warm function, which invokes every version the API serves."""
    versions = resources(prod, "AWS::Lambda::Version")
    rule, request = _keep_warm_rule(prod)
    (target,) = rule["Targets"]
    keep_warm = target["Arn"]["Fn::GetAtt"][0]
    role = prod["Resources"][keep_warm]["Properties"]["Role"]["Fn::GetAtt"][0]
    invocable = [
        r
        for s in statements_of_role(prod, role)
        if "lambda:InvokeFunction" in as_list(s["Action"])
        for r in as_list(s["Resource"])
    ]
    invokers = {
        permission["Properties"]["FunctionName"]["Fn::GetAtt"][0]
        for permission in resources(prod, "AWS::Lambda::Permission").values()
        if permission["Properties"]["Principal"] == "events.amazonaws.com"
    }
    served = [{"Ref": name} for name in versions]

    # No schedule invokes a SnapStart function itself: only the keep-warm function, through its versions.
    snapstart_functions = {version["Properties"]["FunctionName"]["Ref"] for version in versions.values()}
    assert versions and len(request["functions"]) == len(versions) and keep_warm == KEEP_WARM
    assert keep_warm in invokers and not invokers & snapstart_functions
    assert sorted(map(json.dumps, invocable)) == sorted(map(json.dumps, served))
    named = {part["Ref"] for part in target["Input"]["Fn::Join"][1] if isinstance(part, dict) and "Ref" in part}
    assert set(versions) <= named
    amount, unit = rule["ScheduleExpression"].removeprefix("rate(").removesuffix(")").split()
    days = int(amount) / {"day": 1, "days": 1, "hour": 24, "hours": 24}[unit]
    assert days <= IDLE_DAYS_BEFORE_INACTIVE / 7
    assert rule["State"] == "ENABLED"


def test_the_keep_warm_function_invokes_each_version_it_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    """Its inline code, run with boto3 answering through moto: an unknown version fails the run
    (EventBridge retries it) rather than being skipped in silence."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        import importlib

        from infra import keep_warm_handler

        handler = importlib.reload(keep_warm_handler).handler
        with pytest.raises(ClientError, match="ResourceNotFoundException"):
            handler({"functions": ["arn:aws:lambda:us-east-1:123456789012:function:nowhere:1"], "request": {}}, None)
        assert handler({"functions": [], "request": {}}, None) == 0


def test_the_keep_warm_request_is_answered_404_without_touching_dynamodb(synthesized: Synthesized) -> None:
    """Each alias's function, from its own asset with its own environment, answers the daily
    request with a 404 from its resolver: DynamoDB is unreachable here, so any call to it would
    have turned the answer into a 503."""
    template = synthesized.json("prod")
    versions = resources(template, "AWS::Lambda::Version")
    _, request = _keep_warm_rule(template)
    runs = {}
    for version in versions.values():
        function_id = version["Properties"]["FunctionName"]["Ref"]
        function = template["Resources"][function_id]["Properties"]
        asset = synthesized.outdir / f"asset.{function['Code']['S3Key'].removesuffix('.zip')}"
        module, _, entry = function["Handler"].rpartition(".")
        variables = function["Environment"]["Variables"]
        env = {name: value if isinstance(value, str) else f"resolved-{name}" for name, value in variables.items()}
        env |= {"PYTHONPATH": str(asset), "PATH": os.environ["PATH"], "AWS_DEFAULT_REGION": "us-east-1"}
        env |= {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
        env |= {"AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:9", "POWERTOOLS_LOG_LEVEL": "CRITICAL"}
        code = (
            "import json, sys, types\n"
            f"from {module} import {entry} as handler\n"
            "context = types.SimpleNamespace(function_name='f', memory_limit_in_mb=512, "
            "invoked_function_arn='arn:aws:lambda:us-east-1:123456789012:function:f', aws_request_id='r')\n"
            "print(json.dumps(handler(json.loads(sys.stdin.read()), context)))\n"
        )
        run = subprocess.Popen(
            [sys.executable, "-c", code],
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert run.stdin is not None
        run.stdin.write(json.dumps(request["request"]))
        run.stdin.close()
        runs[function_id] = run
    answers = {}
    for function_id, run in runs.items():
        assert run.stdout is not None and run.stderr is not None
        output, errors = run.stdout.read(), run.stderr.read()
        run.wait(timeout=120)
        assert run.returncode == 0, f"{function_id}:\n{errors[-2000:]}"
        answers[function_id] = json.loads(output.strip().splitlines()[-1])["statusCode"]

    assert answers and set(answers.values()) == {404}, answers


def test_a_replaced_version_is_deleted_so_its_snapshot_is_not_billed_on(prod: dict[str, Any]) -> None:
    """A version kept after the deploy that replaces it keeps its SnapStart cache for 14 more days."""
    versions = resources(prod, "AWS::Lambda::Version")

    assert versions and all(v["DeletionPolicy"] == "Delete" for v in versions.values())
