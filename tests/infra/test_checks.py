"""The whole template against CloudFormation's own rules (cfn-lint) and the AWS Solutions
best practices (cdk-nag): no error, and no finding that is not acknowledged with a reason."""

from __future__ import annotations

import pytest
from cdk_nag import AwsSolutionsChecks
from cfnlint.api import ManualArgs, lint_file

from tests.infra.conftest import EDGE, Synthesized

STAGES = ["dev", "prod", EDGE]
# cfn-lint's rules that compare a Lambda runtime's deprecation dates with today's date: a template
# that passes today fails them once the date passes, so a suite run ten years ahead failed every
# stage on python3.13. The date is the deploy's concern: `make preflight` checks the runtimes on
# the day of the deploy (ops/preflight.py, tests/integration/test_preflight.py).
RUNTIME_DATE_RULES = ["E2531", "E2533", "W2531"]


@pytest.mark.parametrize("stage", STAGES)
def test_cfn_lint_finds_no_error(synthesized: Synthesized, stage: str) -> None:
    arguments = ManualArgs(regions=["us-east-1", "eu-west-1"], ignore_checks=RUNTIME_DATE_RULES)
    matches = lint_file(synthesized.template_files[stage], arguments)
    errors = [f"{m.rule.id} {m.message} ({m.path_string})" for m in matches if m.rule.severity == "error"]

    assert not errors, "\n".join(errors)


@pytest.mark.parametrize("stage", STAGES)
def test_cdk_nag_aws_solutions_has_no_unacknowledged_finding(synthesized: Synthesized, stage: str) -> None:
    report = AwsSolutionsChecks().validate_scope(synthesized.stacks[stage])
    findings = [
        f"{violation.rule_name} at {resource.construct_path or resource.resource_logical_id}"
        for violation in report.violations
        for resource in violation.violating_resources
    ]

    assert not findings, "\n".join(findings)
    assert report.success


def test_a_construct_given_the_wrong_type_fails_the_synth() -> None:
    """mypy reads aws-cdk-lib as Any (pyproject.toml): the bindings check each argument against
    its declared type when infra/ runs, which every synth in these tests does."""
    from aws_cdk import App, Stack, aws_sqs

    stack = Stack(App(), "Typed")
    with pytest.raises(TypeError, match="visibility_timeout"):
        aws_sqs.Queue(stack, "Queue", visibility_timeout=30)  # a Duration, not seconds
