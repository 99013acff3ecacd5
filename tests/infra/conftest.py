"""The CDK app synthesized once per session, both stages in one assembly, with the same
context (feature flags) `cdk synth` reads from cdk.json."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App
from aws_cdk.assertions import Template

from infra import REPO_ROOT
from infra.app import build_app
from infra.stack import DeviceRegistryStack
from infra.stage import STAGES, stage_config

EDGE = "edge"
# As `cdk deploy -c cors_origins=... -c domain_name=... -c certificate_arn=... -c base_path=...` gives them.
EDGE_SETTINGS = {
    "cors_origins": "https://app.example.com,http://localhost:5173",
    "domain_name": "api.example.com",
    "certificate_arn": "arn:aws:acm:us-east-1:123456789012:certificate/0c9f3d1e-1111-2222-3333-444455556666",
    "base_path": "registry",
}


@dataclass
class Synthesized:
    app: App
    outdir: Path
    stacks: dict[str, DeviceRegistryStack]
    templates: dict[str, Template]
    template_files: dict[str, Path]

    def json(self, stage: str) -> dict[str, Any]:
        return dict(self.templates[stage].to_json())


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    context = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    outdir = tmp_path_factory.mktemp("cdk.out")
    # cdk-nag runs in test_checks, per stage, so a finding fails one test rather than the synth.
    app, stacks = build_app(context, outdir=str(outdir), stages=list(STAGES), nag=False)
    # A third stack: prod with the deployment settings a real deployment sets (CORS, custom domain
    # and base path), the largest combination.
    edge = replace(stage_config("prod", EDGE_SETTINGS.get), name=EDGE)
    stacks[EDGE] = DeviceRegistryStack(app, f"DeviceRegistry-{EDGE}", stage=edge)
    assembly = app.synth()
    return Synthesized(
        app=app,
        outdir=outdir,
        stacks=stacks,
        templates={name: Template.from_stack(stack) for name, stack in stacks.items()},
        template_files={
            name: Path(assembly.get_stack_by_name(stack.stack_name).template_full_path)
            for name, stack in stacks.items()
        },
    )


@pytest.fixture(scope="session")
def prod(synthesized: Synthesized) -> dict[str, Any]:
    return synthesized.json("prod")


@pytest.fixture(scope="session")
def dev(synthesized: Synthesized) -> dict[str, Any]:
    return synthesized.json("dev")


@pytest.fixture(scope="session")
def edge(synthesized: Synthesized) -> dict[str, Any]:
    """prod with CORS origins and a custom domain under a base path (EDGE_SETTINGS)."""
    return synthesized.json(EDGE)
