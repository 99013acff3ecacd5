"""Deployment settings a synth refuses when the deploy would fail, with the setting to change:
method throttles over a region's account throttle, a certificate in another region; and what the
dev stage costs by default (docs/cost.md)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.app import build_app
from infra.stage import STAGES, stage_config
from tests.infra.cfn import only
from tests.infra.conftest import EDGE_SETTINGS

# API Gateway quotas: the 13 regions whose account throttle is 2,500 requests/s, burst 1,250.
LOW_THROTTLE_REGION = "ap-southeast-4"  # Melbourne: it has SnapStart, so only the throttle refuses prod


def test_prod_for_a_region_with_the_lower_account_throttle_is_refused_at_synth() -> None:
    with pytest.raises(ValueError, match=rf"add up to .* over the account throttle .*{LOW_THROTTLE_REGION}"):
        build_app({"stage": "prod", "region": LOW_THROTTLE_REGION}, nag=False)
    build_app({"stage": "dev", "region": LOW_THROTTLE_REGION}, nag=False)  # dev's sum fits anywhere


def test_a_certificate_from_another_region_is_refused_at_synth() -> None:
    with pytest.raises(ValueError, match="certificate_arn is in us-east-1, the stack deploys to eu-west-1"):
        build_app({**EDGE_SETTINGS, "stage": "prod", "region": "eu-west-1"}, nag=False)


def test_when_the_region_is_unknown_a_rule_checks_the_certificate_before_the_deploy(edge: dict[str, Any]) -> None:
    (assertion,) = [
        a for rule in edge["Rules"].values() for a in rule["Assertions"] if "certificate_arn" in a["AssertDescription"]
    ]

    assert assertion["Assert"] == {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]}


def test_a_certificate_arn_that_names_no_region_is_refused() -> None:
    with pytest.raises(ValueError, match="an ACM certificate ARN"):
        stage_config("dev", {**EDGE_SETTINGS, "certificate_arn": "not-an-arn"}.get)


def test_dev_pays_for_no_cache_cluster_and_no_snapshots_unless_asked(dev: dict[str, Any]) -> None:
    stage = only(dev, "AWS::ApiGateway::Stage")["Properties"]
    functions = [r["Properties"] for r in dev["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]

    assert not stage.get("CacheClusterEnabled") and "CacheClusterSize" not in stage
    assert not any("SnapStart" in f for f in functions)
    assert "Custom::AWS" not in json.dumps(dev)  # no cache, no cache-invalidation policy to apply
    asked = stage_config("dev", {"cache": "on", "snap_start": "on"}.get)
    assert asked.cache_cluster and asked.snap_start
    assert STAGES["prod"].cache_cluster and STAGES["prod"].snap_start
