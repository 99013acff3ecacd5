"""`make preflight` reads what it checks from the synthesized template (ops/preflight.py): read from
each synthesized stage, it finds what the stage config and the deployment settings put there."""

from __future__ import annotations

import pytest

from infra.snapstart import SNAPSTART_REGIONS
from infra.stage import STAGES
from ops.preflight import StackTemplate
from tests.infra.conftest import EDGE, EDGE_SETTINGS, Synthesized

PSEUDO = {"AWS::AccountId": "123456789012", "AWS::Region": "eu-west-1"}


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_reservations_and_snapstart_read_are_the_stages(synthesized: Synthesized, stage: str) -> None:
    template = StackTemplate.read(synthesized.template_files[stage])
    config = STAGES[stage]

    assert template.stack_name == f"DeviceRegistry-{stage}"
    assert template.reserved_concurrency == (config.reserved_concurrency.total if config.reserved_concurrency else 0)
    assert bool(template.snap_start_functions) == config.snap_start
    assert template.snap_start_regions == (list(SNAPSTART_REGIONS) if config.snap_start else None)
    assert template.bootstrap_parameter == "/cdk-bootstrap/hnb659fds/version"
    assert template.required_bootstrap_version == 6
    assert template.cognito_domains(PSEUDO)[0][1] == f"device-registry-{stage}-123456789012"
    # The one name the stack fixes itself (CDK names the bus): a bus left behind would block it.
    assert [(fixed.kind, fixed.name[:-8]) for fixed in template.fixed_names(PSEUDO)] == [
        ("event bus", f"DeviceRegistry{stage}EventsBus")
    ]
    assert template.certificates == []


def test_the_custom_domains_certificate_is_found(synthesized: Synthesized) -> None:
    template = StackTemplate.read(synthesized.template_files[EDGE])

    assert template.certificates == [(EDGE_SETTINGS["domain_name"], EDGE_SETTINGS["certificate_arn"])]
