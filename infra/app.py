"""Builds the CDK app: one stack for the stage chosen with ``-c stage=dev|prod``, checked by
cdk-nag's AwsSolutions pack as a validation plugin (every finding fixed or acknowledged in
the construct it concerns, with its reason)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from aws_cdk import App, Validations
from cdk_nag import AwsSolutionsChecks

from infra.snapstart import REGION_CONTEXT_KEY, check_region
from infra.stack import DeviceRegistryStack, stack_name
from infra.stage import STAGE_CONTEXT_KEY, check_certificate_region, stage_config


def build_app(
    context: Mapping[str, Any] | None = None,
    outdir: str | None = None,
    stages: list[str] | None = None,
    nag: bool = True,
) -> tuple[App, dict[str, DeviceRegistryStack]]:
    """The app with one stack per stage: by default the one named by ``-c stage=`` (dev).
    ``nag=False`` leaves the cdk-nag plugin out, for tests that run its checks themselves."""
    app = App(context=dict(context) if context is not None else None, outdir=outdir)
    names = stages or [app.node.try_get_context(STAGE_CONTEXT_KEY) or "dev"]
    # The stacks are environment-agnostic; the CLI still says where it would deploy them.
    region = app.node.try_get_context(REGION_CONTEXT_KEY) or os.environ.get("CDK_DEFAULT_REGION")
    stacks = {}
    for name in names:
        stage = stage_config(name, app.node.try_get_context)
        check_region(stage, region)
        stage.check_throttle(region)
        check_certificate_region(stage, region)
        stacks[name] = DeviceRegistryStack(app, stack_name(stage), stage=stage)
    if nag:
        Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app, stacks
