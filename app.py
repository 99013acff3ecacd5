#!/usr/bin/env python3
"""The CDK app: `cdk synth` / `cdk deploy -c stage=dev|prod` (see docs/deployment.md)."""

from infra.app import build_app

app, _ = build_app()
app.synth()
