"""``make preflight`` (ops/preflight.py) against moto: each check fails on the account state that
would fail the deploy, saying what to do, and passes on one that would not.

The templates here carry only what each check reads, shaped as CDK synthesizes it (the
synthesized stages themselves are read in tests/infra/test_preflight_templates.py). moto 5.2.5
answers every call but Lambda's GetAccountSettings (404 "Not yet implemented"), so that one call
is botocore's Stubber, which checks request and answer against Lambda's service model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws, settings
from moto.cloudformation.models import cloudformation_backends

from infra.functions import RUNTIME
from ops.preflight import Account, StackTemplate, run, runtime_lifecycle
from ops.report import Finding, Verdict

ACCOUNT = "123456789012"  # moto's
STACK = "DeviceRegistry-prod"
BOOTSTRAP = "/cdk-bootstrap/hnb659fds/version"
PREFIX = f"device-registry-prod-{ACCOUNT}"
SNAPSTART_REGIONS = ["us-east-1", "eu-west-1"]
TODAY = date(2026, 12, 7)  # the deploy's date, injected: the runtime check compares with it


def template(**parts: Any) -> dict[str, Any]:
    """A template with the pieces a check reads, each as CDK writes it."""
    body: dict[str, Any] = {"Resources": {}, "Rules": {}, "Parameters": {}}
    resources = body["Resources"]
    for n, reserved in enumerate(parts.get("reserved", ())):
        resources[f"Route{n}"] = {
            "Type": "AWS::Lambda::Function",
            "Properties": {"ReservedConcurrentExecutions": reserved},
        }
    if parts.get("snap_start"):
        resources["Route0"] = {
            "Type": "AWS::Lambda::Function",
            "Properties": {"SnapStart": {"ApplyOn": "PublishedVersions"}},
        }
        body["Rules"]["SnapStartRegion"] = {
            "Assertions": [{"Assert": {"Fn::Contains": [SNAPSTART_REGIONS, {"Ref": "AWS::Region"}]}}]
        }
    if parts.get("bootstrap"):
        body["Parameters"]["BootstrapVersion"] = {"Type": "AWS::SSM::Parameter::Value<String>", "Default": BOOTSTRAP}
        body["Rules"]["CheckBootstrapVersion"] = {
            "Assertions": [
                {"Assert": {"Fn::Not": [{"Fn::Contains": [["1", "2", "3", "4", "5"], {"Ref": "BootstrapVersion"}]}]}}
            ]
        }
    if "certificate" in parts:
        resources["ApiDomain"] = {
            "Type": "AWS::ApiGateway::DomainName",
            "Properties": {"DomainName": "api.example.com", "RegionalCertificateArn": parts["certificate"]},
        }
    if parts.get("cognito"):
        resources["AuthUserPool"] = {"Type": "AWS::Cognito::UserPool", "DeletionPolicy": "Retain"}
        resources["AuthUserPoolDomain"] = {
            "Type": "AWS::Cognito::UserPoolDomain",
            "Properties": {
                "Domain": {"Fn::Join": ["-", ["device-registry-prod", {"Ref": "AWS::AccountId"}]]},
                "UserPoolId": {"Ref": "AuthUserPool"},
            },
        }
    if "runtime" in parts:
        for n in range(2):
            resources[f"Runtime{n}"] = {"Type": "AWS::Lambda::Function", "Properties": {"Runtime": parts["runtime"]}}
    if "event_bus" in parts:
        resources["EventsBus"] = {"Type": "AWS::Events::EventBus", "Properties": {"Name": parts["event_bus"]}}
    return body


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


def preflight(
    body: dict[str, Any],
    tmp_path: Path,
    *,
    region: str = "us-east-1",
    limits: dict[str, int] | None = None,
    today: date = TODAY,
) -> tuple[dict[str, Finding], int]:
    path = tmp_path / f"{STACK}.template.json"
    path.write_text(json.dumps(body))
    account = Account(boto3.Session(region_name=region))
    if limits is not None:
        client = boto3.client("lambda", region_name=region)
        stubber = Stubber(client)
        stubber.add_response("get_account_settings", {"AccountLimit": limits})
        stubber.activate()
        account.clients["lambda"] = client
    findings, status = run(StackTemplate.read(path), account, today)
    return {finding.check: finding for finding in findings}, status


def limits(quota: int, unreserved: int) -> dict[str, int]:
    return {"ConcurrentExecutions": quota, "UnreservedConcurrentExecutions": unreserved}


def test_every_check_passes_on_a_ready_account_and_exits_0(aws, tmp_path):
    boto3.client("ssm").put_parameter(Name=BOOTSTRAP, Value="30", Type="String")
    body = template(reserved=[60, 40], snap_start=True, bootstrap=True, cognito=True, runtime=RUNTIME.name)
    findings, status = preflight(body, tmp_path, limits=limits(1000, 1000))
    assert status == 0
    checks = ("credentials", "region", "bootstrap", "concurrency", "certificate", "cognito-domain", "leftovers")
    assert {name: f.verdict for name, f in findings.items()} == {name: Verdict.PASS for name in (*checks, "runtime")}
    assert findings["runtime"].message == f"{RUNTIME.name}: supported by Lambda on 2026-12-07"
    assert findings["credentials"].message == f"account {ACCOUNT}, region us-east-1"


def test_a_region_without_snapstart_for_python_fails_naming_the_regions_that_have_it(aws, tmp_path):
    findings, status = preflight(template(snap_start=True), tmp_path, region="ap-southeast-6")
    assert status == 1
    assert findings["region"].verdict is Verdict.FAIL
    assert "ap-southeast-6 does not offer Lambda SnapStart for Python" in findings["region"].message
    assert "us-east-1, eu-west-1" in findings["region"].message


def test_a_stage_without_snapstart_deploys_to_any_region(aws, tmp_path):
    findings, _ = preflight(template(), tmp_path, region="ap-southeast-6")
    assert findings["region"].verdict is Verdict.PASS


@pytest.mark.parametrize(
    ("stored", "says"),
    [
        (None, "CDK is not bootstrapped in us-east-1"),
        ("5", "the CDK bootstrap stack is version 5, the template needs 6"),
    ],
)
def test_a_missing_or_old_bootstrap_fails_with_the_command_that_fixes_it(aws, tmp_path, stored, says):
    if stored:
        boto3.client("ssm").put_parameter(Name=BOOTSTRAP, Value=stored, Type="String")
    findings, status = preflight(template(bootstrap=True), tmp_path)
    assert status == 1
    assert says in findings["bootstrap"].message
    assert f"`npx cdk bootstrap aws://{ACCOUNT}/us-east-1`" in findings["bootstrap"].message


def test_the_bootstrap_version_the_template_requires_passes(aws, tmp_path):
    boto3.client("ssm").put_parameter(Name=BOOTSTRAP, Value="6", Type="String")
    findings, _ = preflight(template(bootstrap=True), tmp_path)
    assert findings["bootstrap"].verdict is Verdict.PASS


def test_reservations_the_account_cannot_hold_fail_with_the_quota_to_ask_for(aws, tmp_path):
    # 950 unreserved (another function of the account reserves 50): 898 leave 52 of the 100 Lambda keeps.
    findings, status = preflight(template(reserved=[450, 448]), tmp_path, limits=limits(1000, 950))
    assert status == 1
    message = findings["concurrency"].message
    assert "the stage reserves 898 concurrent executions; the account's quota is 1000, 50 reserved by other" in message
    assert "52 would stay unreserved" in message
    assert "--quota-code L-B99A9384 --desired-value 1048" in message


def test_a_new_accounts_low_quota_fails_any_reservation(aws, tmp_path):
    findings, status = preflight(template(reserved=[10]), tmp_path, limits=limits(50, 50))
    assert status == 1
    assert "--desired-value 110" in findings["concurrency"].message


def test_reservations_that_leave_lambdas_minimum_pass(aws, tmp_path):
    findings, _ = preflight(template(reserved=[450, 450]), tmp_path, limits=limits(1000, 1000))
    assert findings["concurrency"].verdict is Verdict.PASS
    assert "100 would stay unreserved" in findings["concurrency"].message


def test_an_update_counts_the_stacks_own_reservations_as_its_own(aws, tmp_path):
    boto3.client("cloudformation").create_stack(StackName=STACK, TemplateBody=json.dumps(_topic_stack()))
    # The deployed stack holds its 900 already: 100 unreserved is what it leaves.
    findings, _ = preflight(template(reserved=[450, 450]), tmp_path, limits=limits(1000, 100))
    assert findings["concurrency"].verdict is Verdict.PASS


def test_a_stage_without_reservations_needs_no_concurrency(aws, tmp_path):
    findings, _ = preflight(template(), tmp_path)  # no Lambda call at all: no stub needed
    assert findings["concurrency"].message == "the stage reserves no concurrency"


def test_a_certificate_in_another_region_fails(aws, tmp_path):
    arn = f"arn:aws:acm:eu-west-1:{ACCOUNT}:certificate/0c9f3d1e-1111-2222-3333-444455556666"
    findings, status = preflight(template(certificate=arn), tmp_path)
    assert status == 1
    assert "is in eu-west-1, and a regional custom domain needs one in us-east-1" in findings["certificate"].message


def test_a_certificate_not_yet_validated_fails(aws, tmp_path):
    arn = boto3.client("acm").request_certificate(DomainName="api.example.com", ValidationMethod="DNS")[
        "CertificateArn"
    ]
    findings, status = preflight(template(certificate=arn), tmp_path)
    assert status == 1
    assert "is PENDING_VALIDATION, not ISSUED: finish its DNS validation first" in findings["certificate"].message


def test_an_unknown_certificate_fails(aws, tmp_path):
    arn = f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/0c9f3d1e-1111-2222-3333-444455556666"
    findings, _ = preflight(template(certificate=arn), tmp_path)
    assert findings["certificate"].verdict is Verdict.FAIL
    assert "no certificate" in findings["certificate"].message


def test_an_issued_certificate_in_the_region_passes(aws, tmp_path, monkeypatch):
    arn = boto3.client("acm").request_certificate(DomainName="api.example.com", ValidationMethod="DNS")[
        "CertificateArn"
    ]
    monkeypatch.setattr(settings, "ACM_VALIDATION_WAIT", -1)  # moto: DNS validation done
    findings, _ = preflight(template(certificate=arn), tmp_path)
    assert findings["certificate"].verdict is Verdict.PASS
    assert findings["certificate"].message == "api.example.com: the certificate is ISSUED in us-east-1"


def test_a_cognito_domain_prefix_taken_fails_naming_the_pool_that_holds_it(aws, tmp_path):
    cognito = boto3.client("cognito-idp")
    pool = cognito.create_user_pool(PoolName="AuthUserPool-left-over")["UserPool"]["Id"]
    cognito.create_user_pool_domain(Domain=PREFIX, UserPoolId=pool)
    findings, status = preflight(template(cognito=True), tmp_path)
    assert status == 1
    message = findings["cognito-domain"].message
    assert f"the prefix {PREFIX} is taken (by user pool {pool}" in message
    assert f"`aws cognito-idp delete-user-pool-domain --domain {PREFIX} --user-pool-id {pool}`" in message


def test_a_free_cognito_domain_prefix_passes(aws, tmp_path):
    findings, _ = preflight(template(cognito=True), tmp_path)
    assert findings["cognito-domain"].message == f"the prefix {PREFIX} is free"


def _topic_stack() -> dict[str, Any]:
    return {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}


def test_a_stack_left_rolled_back_fails_with_the_commands_that_clear_it(aws, tmp_path):
    cloudformation = boto3.client("cloudformation")
    stack_id = cloudformation.create_stack(
        StackName=STACK, TemplateBody=json.dumps(_topic_stack()), EnableTerminationProtection=True
    )["StackId"]
    # moto never fails a create; a failed first create ends in this state, protection kept.
    cloudformation_backends[ACCOUNT]["us-east-1"].stacks[stack_id].status = "ROLLBACK_COMPLETE"
    findings, status = preflight(template(), tmp_path)
    assert status == 1
    message = findings["leftovers"].message
    assert f"{STACK} is ROLLBACK_COMPLETE (its first create failed and was rolled back" in message
    assert (
        f"`aws cloudformation update-termination-protection --no-enable-termination-protection --stack-name {STACK} "
        f"&& aws cloudformation delete-stack --stack-name {STACK}`"
    ) in message


def test_a_deployed_stack_is_an_update(aws, tmp_path):
    boto3.client("cloudformation").create_stack(StackName=STACK, TemplateBody=json.dumps(_topic_stack()))
    findings, _ = preflight(template(), tmp_path)
    assert findings["leftovers"].verdict is Verdict.PASS
    assert findings["leftovers"].message == f"{STACK} is CREATE_COMPLETE: the deploy updates it"


def test_a_name_the_template_fixes_taken_already_fails_with_its_removal_command(aws, tmp_path):
    boto3.client("events").create_event_bus(Name="DeviceRegistryprodEventsBus")
    findings, status = preflight(template(event_bus="DeviceRegistryprodEventsBus"), tmp_path)
    assert status == 1
    assert findings["leftovers"].verdict is Verdict.FAIL
    assert (
        "event bus DeviceRegistryprodEventsBus: `aws events delete-event-bus --name DeviceRegistryprodEventsBus`"
        in findings["leftovers"].details
    )


def test_what_an_earlier_attempt_retained_is_listed_with_removal_commands(aws, tmp_path):
    tags = {"aws:cloudformation:stack-name": STACK}
    table = f"{STACK}-DataDevices4E0E9284-1A2B3C"
    boto3.client("dynamodb").create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
    )
    boto3.client("logs").create_log_group(logGroupName=f"{STACK}-ApiAccessLogs-9Z8Y", tags=tags)
    key = boto3.client("kms").create_key(Tags=[{"TagKey": k, "TagValue": v} for k, v in tags.items()])
    pool = boto3.client("cognito-idp").create_user_pool(PoolName="AuthUserPool8115E87F-x", UserPoolTags=tags)
    boto3.client("cognito-idp").create_user_pool(PoolName="someone-elses")  # not listed
    findings, status = preflight(template(event_bus="DeviceRegistryprodEventsBus"), tmp_path)
    leftovers = findings["leftovers"]
    assert leftovers.verdict is Verdict.NOTE and status == 0  # new resources get new names
    assert "an earlier attempt left 4 resource(s) tagged DeviceRegistry-prod behind" in leftovers.message
    commands = "\n".join(leftovers.details)
    assert f"aws dynamodb update-table --table-name {table} --no-deletion-protection-enabled; " in commands
    assert f"aws logs delete-log-group --log-group-name {STACK}-ApiAccessLogs-9Z8Y`" in commands
    assert f"aws kms schedule-key-deletion --key-id {key['KeyMetadata']['KeyId']}" in commands
    assert f"aws cognito-idp delete-user-pool --user-pool-id {pool['UserPool']['Id']}`" in commands
    assert "someone-elses" not in commands


def test_no_credentials_is_one_failing_line(tmp_path, monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    findings, status = preflight(template(), tmp_path)
    assert status == 1
    assert list(findings) == ["credentials"]
    assert findings["credentials"].message.startswith("no usable AWS credentials")


def test_a_stack_with_only_an_unexecuted_change_set_is_a_create(aws, tmp_path):
    boto3.client("cloudformation").create_change_set(
        StackName=STACK, ChangeSetName="never-run", TemplateBody=json.dumps(_topic_stack()), ChangeSetType="CREATE"
    )
    findings, status = preflight(template(), tmp_path)
    assert status == 0
    assert findings["leftovers"].message.startswith(f"no stack {STACK} yet")


def test_the_command_prints_one_line_per_check_and_exits_1_until_the_account_is_ready(tmp_path):
    """``python -m ops.preflight`` as `make preflight` runs it, against moto's server (AWS_ENDPOINT_URL)."""
    from moto.server import ThreadedMotoServer

    from tests.support import ROOT, free_port, python_path

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    try:
        path = tmp_path / "DeviceRegistry-dev.template.json"
        path.write_text(json.dumps(template(bootstrap=True, cognito=True)))
        environment = {**os.environ, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_REGION": "eu-west-1"}
        environment["PYTHONPATH"] = python_path()
        command = [sys.executable, "-m", "ops.preflight", str(path)]

        first = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=120, cwd=ROOT)
        ssm = boto3.client("ssm", endpoint_url=f"http://127.0.0.1:{port}", region_name="eu-west-1")
        ssm.put_parameter(Name=BOOTSTRAP, Value="6", Type="String")
        second = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=120, cwd=ROOT)
    finally:
        server.stop()

    assert first.returncode == 1, first.stdout + first.stderr
    lines = first.stdout.splitlines()
    assert [line.split(":")[0] for line in lines[:-1]] == [
        "PASS credentials",
        "PASS region",
        "FAIL bootstrap",
        "PASS concurrency",
        "PASS certificate",
        "PASS cognito-domain",
        "PASS leftovers",
        "PASS runtime",
    ]
    assert lines[-1] == "DeviceRegistry-dev.template.json: a deploy would fail (FAIL above)"
    assert second.returncode == 0, second.stdout + second.stderr
    assert second.stdout.splitlines()[-1] == "DeviceRegistry-dev.template.json: nothing found that would fail a deploy"


def test_the_functions_runtime_deprecated_by_the_deploys_date_is_a_note_and_blocked_is_a_failure(aws, tmp_path):
    """Lambda's runtime dates (cfn-lint's data) against the day of the deploy: the template tests
    leave these date rules out, so the suite passes on any date and the deploy is told."""
    dates = runtime_lifecycle()[RUNTIME.name]
    deprecated, blocked = date.fromisoformat(dates["deprecated"]), date.fromisoformat(dates["create-block"])
    body = template(runtime=RUNTIME.name)

    on_time, _ = preflight(body, tmp_path, today=deprecated - timedelta(days=1))
    late, late_status = preflight(body, tmp_path, today=deprecated)
    blocked_findings, blocked_status = preflight(body, tmp_path, today=blocked)

    assert on_time["runtime"].verdict is Verdict.PASS
    assert (late["runtime"].verdict, late_status) == (Verdict.NOTE, 0)
    assert f"{RUNTIME.name} (2 functions) is deprecated since {dates['deprecated']}" in late["runtime"].message
    assert (blocked_findings["runtime"].verdict, blocked_status) == (Verdict.FAIL, 1)
    message = blocked_findings["runtime"].message
    assert f"refuses to create functions on it since {dates['create-block']}" in message
    assert "infra/functions.py RUNTIME" in message
