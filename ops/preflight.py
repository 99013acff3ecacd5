"""``make preflight``: before ``cdk deploy``, what in the deploying account and region would make
the deploy fail, in plain words, one line per check; exit 1 when anything would.

It reads the synthesized template (``cdk.out/DeviceRegistry-<stage>.template.json``, written by the
synth the make target runs first): the stage's reserved concurrency, its SnapStart functions and
region rule, the bootstrap version CloudFormation will assert, the custom domain's certificate,
the Cognito domain prefix, the names the template fixes and the functions' runtimes (against
Lambda's runtime deprecation dates, on the day of the deploy). The template is the one source: it is
whatever infra/stage.py and the deployment settings (``-c …``) made of the stage, exactly as
CloudFormation will get it. Credentials and region come from the environment, as for ``cdk deploy``
(``AWS_PROFILE``, ``AWS_REGION``, ...); it only reads, never changes anything."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from ops.report import Finding, Verdict

# Lambda keeps at least this many of an account's concurrent executions unreserved: a reservation
# that would leave fewer is refused (Lambda developer guide, "Configuring reserved concurrency").
# infra/stage.py applies the same rule to a default account's quota at synth time.
UNRESERVED_MINIMUM = 100
CONCURRENCY_QUOTA_CODE = "L-B99A9384"  # Service Quotas: Lambda, "Concurrent executions"
BOOTSTRAP_PARAMETER = "BootstrapVersion"  # the template parameter CDK reads from SSM

# Stack states from which CloudFormation takes no deployment, and what ends them.
DELETE_FIRST = "it can only be deleted, then deployed afresh"
BLOCKING_STATES = {
    "ROLLBACK_COMPLETE": f"its first create failed and was rolled back: {DELETE_FIRST}",
    "ROLLBACK_FAILED": f"its first create failed and so did the rollback: {DELETE_FIRST}",
    "DELETE_FAILED": f"a delete failed part-way: {DELETE_FIRST}",
    "UPDATE_ROLLBACK_FAILED": "an update failed and so did its rollback: finish the rollback first",
}


def resolve(value: Any, known: Mapping[str, str]) -> str | None:
    """A template value as the string CloudFormation will make of it: literals, a ``Ref`` that
    ``known`` names (pseudo parameters such as ``AWS::AccountId``) and ``Fn::Join`` of those; None
    otherwise."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((function, argument),) = value.items()
        if function == "Ref":
            return known.get(str(argument))
        if function == "Fn::Join":
            separator, parts = argument
            resolved = [resolve(part, known) for part in parts]
            return None if any(part is None for part in resolved) else str(separator).join(map(str, resolved))
    return None


@dataclass(frozen=True)
class FixedName:
    """A name the template gives a resource itself: if it exists already, the create fails."""

    kind: str  # a key of EXISTS
    name: str


# The resource properties that fix a physical name, for the kinds that keep a name taken when a
# failed or deleted stack retained (or could not delete) them.
NAMING_PROPERTIES = {
    "AWS::DynamoDB::Table": ("table", "TableName"),
    "AWS::Logs::LogGroup": ("log group", "LogGroupName"),
    "AWS::KMS::Alias": ("KMS alias", "AliasName"),
    "AWS::Events::EventBus": ("event bus", "Name"),
    "AWS::Lambda::Function": ("function", "FunctionName"),
}


@dataclass(frozen=True)
class StackTemplate:
    stack_name: str
    body: dict[str, Any]

    @classmethod
    def read(cls, path: Path) -> StackTemplate:
        return cls(path.name.removesuffix(".template.json"), json.loads(path.read_text()))

    def resources(self, *types: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """(logical id, type, properties) of each resource of these types."""
        for logical_id, resource in self.body.get("Resources", {}).items():
            if resource["Type"] in types:
                yield logical_id, resource["Type"], resource.get("Properties") or {}

    @property
    def reserved_concurrency(self) -> int:
        return sum(
            int(properties.get("ReservedConcurrentExecutions") or 0)
            for _, _, properties in self.resources("AWS::Lambda::Function")
        )

    @property
    def runtimes(self) -> dict[str, int]:
        """Each Lambda runtime the template names, and how many functions use it."""
        counted: dict[str, int] = {}
        for _, _, properties in self.resources("AWS::Lambda::Function"):
            if isinstance(runtime := properties.get("Runtime"), str):
                counted[runtime] = counted.get(runtime, 0) + 1
        return counted

    @property
    def snap_start_functions(self) -> int:
        return sum(
            (properties.get("SnapStart") or {}).get("ApplyOn") == "PublishedVersions"
            for _, _, properties in self.resources("AWS::Lambda::Function")
        )

    def _listed_in_rules(self, reference: str, *, refused: bool = False) -> list[str] | None:
        """The list a rule's ``Fn::Contains`` checks ``Ref: reference`` against, or None: a list
        the value must be in, or with ``refused`` one it must stay out of (under ``Fn::Not``, as
        CDK's bootstrap rule and infra/api.py's lower-throttle regions are)."""

        def walk(node: Any, negated: bool) -> Iterator[list[str]]:
            if isinstance(node, dict):
                contains = node.get("Fn::Contains")
                if (
                    negated == refused
                    and isinstance(contains, list)
                    and len(contains) == 2
                    and contains[1] == {"Ref": reference}
                ):
                    yield [str(item) for item in contains[0]]
                for key, child in node.items():
                    yield from walk(child, negated != (key == "Fn::Not"))
            elif isinstance(node, list):
                for child in node:
                    yield from walk(child, negated)

        return next(walk(self.body.get("Rules", {}), False), None)

    @property
    def snap_start_regions(self) -> list[str] | None:
        """The regions the template's own rule accepts (infra/snapstart.py's list)."""
        return self._listed_in_rules("AWS::Region")

    @property
    def bootstrap_parameter(self) -> str | None:
        return (self.body.get("Parameters", {}).get(BOOTSTRAP_PARAMETER) or {}).get("Default")

    @property
    def required_bootstrap_version(self) -> int | None:
        """CDK's CheckBootstrapVersion rule refuses the versions it lists: the next one is required."""
        refused = self._listed_in_rules(BOOTSTRAP_PARAMETER, refused=True)
        return max(int(version) for version in refused) + 1 if refused else None

    @property
    def certificates(self) -> list[tuple[str, str]]:
        """(custom domain name, its certificate's ARN) of each custom domain."""
        return [
            (str(properties.get("DomainName")), str(arn))
            for _, _, properties in self.resources("AWS::ApiGateway::DomainName")
            if (arn := properties.get("RegionalCertificateArn") or properties.get("CertificateArn"))
        ]

    def cognito_domains(self, pseudo: Mapping[str, str]) -> list[tuple[str, str | None]]:
        """(the user pool's logical id, the hosted domain's prefix) of each Cognito domain."""
        return [
            (str((properties.get("UserPoolId") or {}).get("Ref")), resolve(properties.get("Domain"), pseudo))
            for _, _, properties in self.resources("AWS::Cognito::UserPoolDomain")
            if not properties.get("CustomDomainConfig")
        ]

    def fixed_names(self, pseudo: Mapping[str, str]) -> list[FixedName]:
        names = []
        for _, kind, properties in self.resources(*NAMING_PROPERTIES):
            label, key = NAMING_PROPERTIES[kind]
            if key in properties and (name := resolve(properties[key], pseudo)):
                names.append(FixedName(label, name))
        return names


@dataclass
class Account:
    """The deploying account and region as boto3 finds them in the environment. ``clients`` may
    hold a client per service to use instead of a new one (a test's)."""

    session: boto3.Session = field(default_factory=boto3.Session)
    clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str, region: str | None = None) -> Any:
        key = service if region in (None, self.region) else f"{service}@{region}"
        if key not in self.clients:
            self.clients[key] = self.session.client(service, region_name=region or self.region)  # type: ignore[call-overload]
        return self.clients[key]

    @property
    def region(self) -> str | None:
        return self.session.region_name

    def identity(self) -> str:
        return str(self.client("sts").get_caller_identity()["Account"])


@dataclass(frozen=True)
class DeployedStack:
    """The stack as CloudFormation has it now (None: it does not exist)."""

    status: str
    termination_protection: bool
    physical_ids: dict[str, str]  # logical id → physical id

    @classmethod
    def find(cls, account: Account, name: str) -> DeployedStack | None:
        cloudformation = account.client("cloudformation")
        try:
            stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
        except ClientError as error:
            if "does not exist" in str(error):
                return None
            raise
        if stack["StackStatus"] == "REVIEW_IN_PROGRESS":  # a change set never executed: CDK creates it anew
            return None
        ids = {}
        for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=name):
            for resource in page["StackResourceSummaries"]:
                if resource.get("PhysicalResourceId"):
                    ids[resource["LogicalResourceId"]] = resource["PhysicalResourceId"]
        return cls(stack["StackStatus"], bool(stack.get("EnableTerminationProtection")), ids)

    @property
    def deployed(self) -> bool:
        """A deploy of the template would be an update of a working stack."""
        return self.status not in BLOCKING_STATES and not self.status.endswith("_IN_PROGRESS")


@dataclass
class Preflight:
    template: StackTemplate
    account: Account
    account_id: str
    stack: DeployedStack | None
    today: date  # the deploy's date (UTC): what the runtime's dates are compared with

    @property
    def pseudo(self) -> dict[str, str]:
        return {"AWS::AccountId": self.account_id, "AWS::Region": str(self.account.region)}

    def findings(self) -> list[Finding]:
        checks = {
            "region": self.region,
            "bootstrap": self.bootstrap,
            "concurrency": self.concurrency,
            "certificate": self.certificate,
            "cognito-domain": self.cognito_domain,
            "leftovers": self.leftovers,
            "runtime": self.runtime,
        }
        findings = []
        for name, check in checks.items():
            try:
                findings.append(check())
            except (ClientError, BotoCoreError) as error:  # AccessDenied, say: unknown is not "fine"
                findings.append(Finding(name, Verdict.FAIL, f"could not check ({error})"))
        return findings

    # -- the checks ------------------------------------------------------------------------

    def region(self) -> Finding:
        region, regions, functions = (
            self.account.region,
            self.template.snap_start_regions,
            self.template.snap_start_functions,
        )
        if not functions or regions is None:
            return Finding("region", Verdict.PASS, f"{region}: the stage uses no SnapStart, any region will do")
        if region in regions:
            return Finding(
                "region", Verdict.PASS, f"{region} offers SnapStart for Python ({functions} functions use it)"
            )
        return Finding(
            "region",
            Verdict.FAIL,
            f"{region} does not offer Lambda SnapStart for Python, which {functions} of the stage's functions use: "
            f"deploy to one of {', '.join(regions)} (AWS_REGION), or turn snap_start off for the stage",
        )

    def bootstrap(self) -> Finding:
        parameter, required = self.template.bootstrap_parameter, self.template.required_bootstrap_version
        command = f"npx cdk bootstrap aws://{self.account_id}/{self.account.region}"
        if parameter is None or required is None:
            return Finding("bootstrap", Verdict.PASS, "the template asks for no bootstrap version")
        try:
            version = int(self.account.client("ssm").get_parameter(Name=parameter)["Parameter"]["Value"])
        except ClientError as error:
            if error.response["Error"]["Code"] != "ParameterNotFound":
                raise
            return Finding(
                "bootstrap",
                Verdict.FAIL,
                f"CDK is not bootstrapped in {self.account.region} (no SSM parameter {parameter}): run `{command}`",
            )
        if version < required:
            return Finding(
                "bootstrap",
                Verdict.FAIL,
                f"the CDK bootstrap stack is version {version}, the template needs {required} or later: "
                f"run `{command}`",
            )
        return Finding("bootstrap", Verdict.PASS, f"CDK bootstrap version {version} (the template needs {required})")

    def concurrency(self) -> Finding:
        wanted = self.template.reserved_concurrency
        if not wanted:
            return Finding("concurrency", Verdict.PASS, "the stage reserves no concurrency")
        limits = self.account.client("lambda").get_account_settings()["AccountLimit"]
        quota, unreserved = int(limits["ConcurrentExecutions"]), int(limits["UnreservedConcurrentExecutions"])
        # An update swaps the stack's own reservations for the template's: taken to be the same.
        held = wanted if self.stack is not None and self.stack.deployed else 0
        left = unreserved + held - wanted
        summary = (
            f"the stage reserves {wanted} concurrent executions; the account's quota is {quota}, "
            f"{quota - unreserved - held} reserved by other functions: {left} would stay unreserved"
        )
        if left >= UNRESERVED_MINIMUM:
            return Finding("concurrency", Verdict.PASS, f"{summary} (Lambda keeps at least {UNRESERVED_MINIMUM})")
        needed = quota + UNRESERVED_MINIMUM - left
        return Finding(
            "concurrency",
            Verdict.FAIL,
            f"{summary}, and Lambda refuses any reservation that leaves fewer than {UNRESERVED_MINIMUM}: ask for a "
            f"quota of at least {needed} (`aws service-quotas request-service-quota-increase --service-code lambda "
            f"--quota-code {CONCURRENCY_QUOTA_CODE} --desired-value {needed}`), or lower the stage's reservations",
        )

    def certificate(self) -> Finding:
        certificates = self.template.certificates
        if not certificates:
            return Finding("certificate", Verdict.PASS, "no custom domain")
        problems, fine = [], []
        for domain, arn in certificates:
            region = arn.split(":")[3] if arn.count(":") >= 5 else None
            if region != self.account.region:
                problems.append(
                    f"{domain}: the certificate {arn} is in {region}, and a regional custom domain needs one in "
                    f"{self.account.region}: request or import it there (ACM) and pass its ARN as certificate_arn"
                )
                continue
            try:
                status = self.account.client("acm").describe_certificate(CertificateArn=arn)["Certificate"]["Status"]
            except ClientError as error:
                problems.append(f"{domain}: no certificate {arn} in this account ({error.response['Error']['Code']})")
                continue
            if status != "ISSUED":
                problems.append(
                    f"{domain}: the certificate {arn} is {status}, not ISSUED"
                    + (": finish its DNS validation first" if status == "PENDING_VALIDATION" else "")
                )
            else:
                fine.append(f"{domain}: the certificate is ISSUED in {region}")
        if problems:
            return Finding("certificate", Verdict.FAIL, "; ".join(problems))
        return Finding("certificate", Verdict.PASS, "; ".join(fine))

    def cognito_domain(self) -> Finding:
        domains = self.template.cognito_domains(self.pseudo)
        if not domains:
            return Finding("cognito-domain", Verdict.PASS, "no Cognito hosted domain")
        problems, fine = [], []
        cognito = self.account.client("cognito-idp")
        for pool_logical_id, prefix in domains:
            if prefix is None:
                problems.append("the template's domain prefix could not be resolved")
                continue
            owner = (cognito.describe_user_pool_domain(Domain=prefix).get("DomainDescription") or {}).get("UserPoolId")
            own_pool = self.stack.physical_ids.get(pool_logical_id) if self.stack else None
            if owner is None:
                fine.append(f"the prefix {prefix} is free")
            elif owner == own_pool:
                fine.append(f"the prefix {prefix} is this stack's own")
            else:
                problems.append(
                    f"the prefix {prefix} is taken (by user pool {owner}, in this or another account; prefixes are "
                    f"unique per region): if that pool is yours and left over, `aws cognito-idp "
                    f"delete-user-pool-domain --domain {prefix} --user-pool-id {owner}`"
                )
        if problems:
            return Finding("cognito-domain", Verdict.FAIL, "; ".join(problems))
        return Finding("cognito-domain", Verdict.PASS, "; ".join(fine))

    def runtime(self) -> Finding:
        """Lambda refuses to create functions on a runtime from its create-block date and to update
        them from its update-block date (the runtime support policy; the dates as the pinned
        cfn-lint ships them, ``LmbdRuntimeLifecycle.json``), so a deploy on or after either fails.
        Checked here, on the day of the deploy, not by the template tests (tests/infra/test_checks.py
        leaves cfn-lint's date rules out), which pass on any date."""
        lifecycle = runtime_lifecycle()
        failures, notes = [], []
        for runtime, functions in sorted(self.template.runtimes.items()):
            dates = lifecycle.get(runtime)
            if not dates:
                continue
            successor = f"move to {dates['successor']}" if dates.get("successor") else "move to a newer runtime"
            used = f"{runtime} ({functions} functions)"
            if self.today >= date.fromisoformat(dates["create-block"]):
                failures.append(
                    f"{used}: Lambda refuses to create functions on it since {dates['create-block']} and to update "
                    f"them from {dates['update-block']}: {successor} (infra/functions.py RUNTIME)"
                )
            elif self.today >= date.fromisoformat(dates["deprecated"]):
                notes.append(
                    f"{used} is deprecated since {dates['deprecated']}: {successor} before {dates['create-block']}"
                )
        if failures:
            return Finding("runtime", Verdict.FAIL, "; ".join(failures))
        if notes:
            return Finding("runtime", Verdict.NOTE, "; ".join(notes))
        named = ", ".join(sorted(self.template.runtimes)) or "no runtime named"
        return Finding("runtime", Verdict.PASS, f"{named}: supported by Lambda on {self.today.isoformat()}")

    def leftovers(self) -> Finding:
        """The stack in a state that takes no deploy; names the template fixes that exist already;
        and what an earlier attempt retained (tagged with the stack's name, no stack owning it)."""
        name = self.template.stack_name
        if self.stack is not None and not self.stack.deployed:
            return self._blocked_stack(self.stack)
        if self.stack is not None:
            return Finding("leftovers", Verdict.PASS, f"{name} is {self.stack.status}: the deploy updates it")
        taken = [fixed for fixed in self.template.fixed_names(self.pseudo) if self._exists(fixed)]
        retained = self._retained()
        if taken:
            return Finding(
                "leftovers",
                Verdict.FAIL,
                f"{len(taken)} name(s) the template gives its resources exist already, so their creation fails: "
                "remove them (each with its command) or deploy under another stage name",
                tuple(f"{fixed.kind} {fixed.name}: `{REMOVE_NAMED[fixed.kind](fixed.name)}`" for fixed in taken)
                + retained,
            )
        if retained:
            return Finding(
                "leftovers",
                Verdict.NOTE,
                f"an earlier attempt left {len(retained)} resource(s) tagged {name} behind; they block nothing (new "
                "ones get new names) but keep their data and cost; each with the command that removes it",
                retained,
            )
        return Finding("leftovers", Verdict.PASS, f"no stack {name} yet and nothing left over from an earlier attempt")

    def _blocked_stack(self, stack: DeployedStack) -> Finding:
        name = self.template.stack_name
        if stack.status.endswith("_IN_PROGRESS"):
            return Finding("leftovers", Verdict.FAIL, f"{name} is {stack.status}: wait until it ends, then run again")
        if stack.status == "UPDATE_ROLLBACK_FAILED":
            command = f"aws cloudformation continue-update-rollback --stack-name {name}"
        else:
            unprotect = (
                "aws cloudformation update-termination-protection --no-enable-termination-protection "
                f"--stack-name {name} && "
                if stack.termination_protection
                else ""
            )
            command = f"{unprotect}aws cloudformation delete-stack --stack-name {name}"
        return Finding(
            "leftovers",
            Verdict.FAIL,
            f"{name} is {stack.status} ({BLOCKING_STATES[stack.status]}): `{command}` "
            "(a delete keeps the retained tables, user pool, log groups and key: check again afterwards)",
        )

    def _exists(self, fixed: FixedName) -> bool:
        try:
            if fixed.kind == "table":
                self.account.client("dynamodb").describe_table(TableName=fixed.name)
            elif fixed.kind == "log group":
                groups = self.account.client("logs").describe_log_groups(logGroupNamePrefix=fixed.name)["logGroups"]
                return any(group["logGroupName"] == fixed.name for group in groups)
            elif fixed.kind == "KMS alias":
                aliases = self.account.client("kms").get_paginator("list_aliases").paginate()
                return any(alias["AliasName"] == fixed.name for page in aliases for alias in page["Aliases"])
            elif fixed.kind == "event bus":
                self.account.client("events").describe_event_bus(Name=fixed.name)
            else:
                self.account.client("lambda").get_function(FunctionName=fixed.name)
        except ClientError as error:
            if "NotFound" in error.response["Error"]["Code"]:
                return False
            raise
        return True

    def _retained(self) -> tuple[str, ...]:
        """Every resource still tagged ``aws:cloudformation:stack-name`` = the stack's name (CloudFormation
        tags what it creates; the tags stay on what it retains), with the command that removes it."""
        tag = {"Key": "aws:cloudformation:stack-name", "Values": [self.template.stack_name]}
        arns = [
            mapping["ResourceARN"]
            for page in self.account.client("resourcegroupstaggingapi")
            .get_paginator("get_resources")
            .paginate(TagFilters=[tag])
            for mapping in page["ResourceTagMappingList"]
        ]
        arns += [arn for arn in self._tagged_user_pools() if arn not in arns]
        return tuple(f"{arn}: `{removal_command(arn)}`" for arn in sorted(arns))

    def _tagged_user_pools(self) -> Iterator[str]:
        """User pools tagged with the stack's name (asked of Cognito too: not every endpoint of the
        tagging API lists them)."""
        cognito = self.account.client("cognito-idp")
        for page in cognito.get_paginator("list_user_pools").paginate(MaxResults=60):
            for summary in page["UserPools"]:
                pool = cognito.describe_user_pool(UserPoolId=summary["Id"])["UserPool"]
                if (pool.get("UserPoolTags") or {}).get("aws:cloudformation:stack-name") == self.template.stack_name:
                    yield str(pool["Arn"])


REMOVE_NAMED = {
    "table": lambda name: (
        f"aws dynamodb update-table --table-name {name} --no-deletion-protection-enabled; "
        f"aws dynamodb delete-table --table-name {name}"
    ),
    "log group": lambda name: f"aws logs delete-log-group --log-group-name {name}",
    "KMS alias": lambda name: f"aws kms delete-alias --alias-name {name}",
    "event bus": lambda name: f"aws events delete-event-bus --name {name}",
    "function": lambda name: f"aws lambda delete-function --function-name {name}",
}


def removal_command(arn: str) -> str:
    """The AWS CLI command that removes the resource ``arn`` (deletion protection lifted first)."""
    _, _, service, _, _, resource = arn.split(":", 5)
    if service == "dynamodb" and resource.startswith("table/"):
        return REMOVE_NAMED["table"](resource.removeprefix("table/"))
    if service == "logs" and resource.startswith("log-group:"):
        return REMOVE_NAMED["log group"](resource.removeprefix("log-group:").removesuffix(":*"))
    if service == "kms" and resource.startswith("key/"):
        return f"aws kms schedule-key-deletion --key-id {resource.removeprefix('key/')} --pending-window-in-days 7"
    if service == "kms" and resource.startswith("alias/"):
        return REMOVE_NAMED["KMS alias"](resource)
    if service == "cognito-idp" and resource.startswith("userpool/"):
        pool = resource.removeprefix("userpool/")
        return (
            f"aws cognito-idp update-user-pool --user-pool-id {pool} --deletion-protection INACTIVE; "
            f"aws cognito-idp delete-user-pool --user-pool-id {pool}"
        )
    if service == "events" and resource.startswith("event-bus/"):
        return REMOVE_NAMED["event bus"](resource.removeprefix("event-bus/"))
    if service == "lambda" and resource.startswith("layer:"):
        layer, _, version = resource.removeprefix("layer:").partition(":")
        return f"aws lambda delete-layer-version --layer-name {layer} --version-number {version}"
    return f"delete it in the console or with the {service} CLI ({arn})"


def runtime_lifecycle() -> dict[str, dict[str, str]]:
    """Lambda's runtime dates by runtime (``deprecated``, ``create-block``, ``update-block``,
    ``successor``), as cfn-lint ships them (its rules E2531/E2533/W2531 read the same file)."""
    from cfnlint.data import AdditionalSpecs
    from cfnlint.helpers import load_resource

    found: dict[str, dict[str, str]] = load_resource(AdditionalSpecs, "LmbdRuntimeLifecycle.json")
    return found


def run(template: StackTemplate, account: Account, today: date | None = None) -> tuple[list[Finding], int]:
    """Every check's finding, and the exit status: 1 when a deploy would fail, else 0. ``today``:
    the deploy's date (UTC) unless given."""
    try:
        account_id = account.identity()
    except (ClientError, BotoCoreError) as error:
        return [Finding("credentials", Verdict.FAIL, f"no usable AWS credentials ({error})")], 1
    if not account.region:
        return [Finding("credentials", Verdict.FAIL, "no region: set AWS_REGION (or the profile's region)")], 1
    where = Finding("credentials", Verdict.PASS, f"account {account_id}, region {account.region}")
    try:
        stack = DeployedStack.find(account, template.stack_name)
    except (ClientError, BotoCoreError) as error:
        return [where, Finding("stack", Verdict.FAIL, f"could not read the stack {template.stack_name} ({error})")], 1
    preflight = Preflight(template, account, account_id, stack, today or datetime.now(UTC).date())
    findings = [where, *preflight.findings()]
    return findings, int(any(finding.verdict is Verdict.FAIL for finding in findings))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.preflight", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "template", type=Path, help="the synthesized template, cdk.out/DeviceRegistry-<stage>.template.json"
    )
    args = parser.parse_args(argv)
    if not args.template.is_file():
        print(f"no template {args.template}: run `make synth STAGE=…` first (make preflight does)", file=sys.stderr)
        return 2
    # The region `cdk deploy` goes to: AWS_REGION first (boto3 alone reads AWS_DEFAULT_REGION), then the profile's.
    session = boto3.Session(region_name=os.environ.get("AWS_REGION") or None)
    findings, status = run(StackTemplate.read(args.template), Account(session))
    for finding in findings:
        finding.print()
    print(
        f"{args.template.name}: "
        + ("a deploy would fail (FAIL above)" if status else "nothing found that would fail a deploy")
    )
    return status


if __name__ == "__main__":
    sys.exit(main())
