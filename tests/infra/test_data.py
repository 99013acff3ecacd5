"""The tables as deployed: the same keys and indexes as registry.storage.keys (and so as the moto
tables the other tests use), encrypted, recoverable, retained in prod."""

from __future__ import annotations

from typing import Any

import pytest

from registry.storage import keys as table
from tests.infra.cfn import resources


def _tables(template: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    tables = list(resources(template, "AWS::DynamoDB::Table").values())
    device = next(t for t in tables if "GlobalSecondaryIndexes" in t["Properties"])
    idempotency = next(t for t in tables if t is not device)
    return device, idempotency


def _by_name(indexes: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    def normal(index: dict[str, Any]) -> dict[str, Any]:
        projection = dict(index["Projection"])
        if "NonKeyAttributes" in projection:
            projection["NonKeyAttributes"] = sorted(projection["NonKeyAttributes"])
        return {"KeySchema": index["KeySchema"], "Projection": projection}

    return {index["IndexName"]: normal(index) for index in indexes}


def test_device_table_keys_and_indexes_equal_the_table_definition(prod: dict[str, Any]) -> None:
    device = _tables(prod)[0]["Properties"]
    expected: dict[str, Any] = table.create_table_request("any")

    assert device["KeySchema"] == expected["KeySchema"]
    assert sorted(device["AttributeDefinitions"], key=str) == sorted(expected["AttributeDefinitions"], key=str)
    assert _by_name(device["LocalSecondaryIndexes"]) == _by_name(expected["LocalSecondaryIndexes"])
    assert _by_name(device["GlobalSecondaryIndexes"]) == _by_name(expected["GlobalSecondaryIndexes"])


def test_idempotency_table_matches_its_definition(prod: dict[str, Any]) -> None:
    idempotency = _tables(prod)[1]["Properties"]
    expected = table.create_idempotency_table_request("any")

    assert idempotency["KeySchema"] == expected["KeySchema"]
    assert idempotency["TimeToLiveSpecification"] == {"AttributeName": table.IDEMPOTENCY_TTL, "Enabled": True}


@pytest.mark.parametrize("which", [0, 1], ids=["devices", "idempotency"])
def test_tables_are_on_demand_encrypted_and_recoverable(prod: dict[str, Any], which: int) -> None:
    properties = _tables(prod)[which]["Properties"]

    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    # SSEEnabled without a key id: KMS with the AWS-managed key (aws/dynamodb).
    assert properties["SSESpecification"]["SSEEnabled"] is True
    assert properties["SSESpecification"].get("SSEType", "KMS") == "KMS"
    assert "KMSMasterKeyId" not in properties["SSESpecification"]
    assert properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True


def test_device_table_streams_both_images_and_expires_by_ttl(prod: dict[str, Any]) -> None:
    properties = _tables(prod)[0]["Properties"]

    assert properties["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert properties["TimeToLiveSpecification"] == {"AttributeName": table.TTL_ATTRIBUTE, "Enabled": True}


@pytest.mark.parametrize("which", [0, 1], ids=["devices", "idempotency"])
def test_prod_retains_and_protects_its_tables(prod: dict[str, Any], which: int) -> None:
    resource = _tables(prod)[which]

    assert resource["DeletionPolicy"] == "Retain"
    assert resource["UpdateReplacePolicy"] == "Retain"
    assert resource["Properties"]["DeletionProtectionEnabled"] is True


def test_dev_tables_can_be_destroyed(dev: dict[str, Any]) -> None:
    for resource in _tables(dev):
        assert resource["DeletionPolicy"] == "Delete"
        assert resource["Properties"].get("DeletionProtectionEnabled") is not True


def test_prod_user_pool_is_retained_and_protected(prod: dict[str, Any]) -> None:
    pool = next(iter(resources(prod, "AWS::Cognito::UserPool").values()))

    assert pool["DeletionPolicy"] == "Retain"
    assert pool["Properties"]["DeletionProtection"] == "ACTIVE"


@pytest.mark.parametrize("deployed", [0, 1, len(table.LOOKUP_INDEXES)])
def test_a_deployed_stack_gets_the_lookup_indexes_one_deployment_at_a_time(deployed: int) -> None:
    """CloudFormation creates one global index per table update: `-c lookup_indexes=n` keeps the
    summary indexes and the first n lookup indexes (docs/deployment.md)."""
    from aws_cdk import App, Stack
    from aws_cdk.assertions import Template

    from infra.data import Data
    from infra.stage import stage_config

    stack = Stack(App(context={"lookup_indexes": deployed}), "Tables")
    Data(stack, "Data", stage=stage_config("dev"))
    device = _tables(Template.from_stack(stack).to_json())[0]["Properties"]

    names = [index["IndexName"] for index in device["GlobalSecondaryIndexes"]]
    summary = [index.name for index in table.GLOBAL_INDEXES if index.name not in table.LOOKUP_INDEXES]
    assert names == summary + list(table.LOOKUP_INDEXES[:deployed])
