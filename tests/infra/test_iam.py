"""Least privilege: read routes cannot write, nobody scans, the docs touch no table."""

from __future__ import annotations

import json
from typing import Any

import pytest

from registry.routes import ROUTES, Route
from tests.infra.cfn import actions, as_list, resources, role_of, statements_of_role

# Written out here, not imported from the stack: every DynamoDB action that changes data.
DYNAMODB_WRITES = {
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:TransactWriteItems",
    "dynamodb:PartiQLInsert",
    "dynamodb:PartiQLUpdate",
    "dynamodb:PartiQLDelete",
    "dynamodb:CreateTable",
    "dynamodb:UpdateTable",
    "dynamodb:DeleteTable",
    "dynamodb:RestoreTableToPointInTime",
}


def _statements(template: dict[str, Any], route: Route) -> list[dict[str, Any]]:
    return statements_of_role(template, role_of(template, route.function_id))


def _table_ids(template: dict[str, Any]) -> tuple[str, str]:
    tables = resources(template, "AWS::DynamoDB::Table")
    device = next(t for t, r in tables.items() if "GlobalSecondaryIndexes" in r["Properties"])
    idempotency = next(t for t in tables if t != device)
    return device, idempotency


@pytest.mark.parametrize("route", [pytest.param(r, id=r.handler) for r in ROUTES if not r.is_write])
def test_read_functions_have_no_write_action(prod: dict[str, Any], route: Route) -> None:
    granted = actions(_statements(prod, route))

    assert not granted & DYNAMODB_WRITES
    assert {a for a in granted if a.startswith("dynamodb:")} <= {"dynamodb:GetItem", "dynamodb:Query"}


@pytest.mark.parametrize("route", [pytest.param(r, id=r.handler) for r in ROUTES if r.scope and not r.is_write])
def test_read_functions_read_the_device_table_and_its_indexes_only(prod: dict[str, Any], route: Route) -> None:
    device, idempotency = _table_ids(prod)
    statement = next(s for s in _statements(prod, route) if "dynamodb:GetItem" in as_list(s["Action"]))
    targets = json.dumps(statement["Resource"])

    assert set(as_list(statement["Action"])) == {"dynamodb:GetItem", "dynamodb:Query"}
    assert device in targets and idempotency not in targets
    assert "*" not in targets


@pytest.mark.parametrize("route", [pytest.param(r, id=r.handler) for r in ROUTES if r.is_write])
def test_write_functions_write_items_and_idempotency_records_only(prod: dict[str, Any], route: Route) -> None:
    device, idempotency = _table_ids(prod)
    by_table = {
        table: {a for s in _statements(prod, route) if table in json.dumps(s["Resource"]) for a in as_list(s["Action"])}
        for table in (device, idempotency)
    }

    assert by_table[device] == {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:ConditionCheckItem",
    }
    assert by_table[idempotency] == {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
    }


def test_the_docs_function_has_no_table_access(prod: dict[str, Any]) -> None:
    docs = next(route for route in ROUTES if route.scope is None)

    assert not {a for a in actions(_statements(prod, docs)) if a.startswith("dynamodb:")}
    assert "TABLE_NAME" not in prod["Resources"][docs.function_id]["Properties"]["Environment"]["Variables"]


def test_nobody_may_scan_or_use_dynamodb_wildcards(prod: dict[str, Any]) -> None:
    everything = json.dumps([r["Properties"] for r in resources(prod, "AWS::IAM::Policy").values()])
    everything += json.dumps([r["Properties"] for r in resources(prod, "AWS::IAM::Role").values()])

    assert "dynamodb:Scan" not in everything
    assert "dynamodb:*" not in everything
    assert '"*"' not in json.dumps(
        [
            a
            for r in resources(prod, "AWS::IAM::Policy").values()
            for s in r["Properties"]["PolicyDocument"]["Statement"]
            for a in as_list(s["Action"])
        ]
    )


@pytest.mark.parametrize("route", [pytest.param(r, id=r.handler) for r in ROUTES])
def test_functions_use_no_managed_policy(prod: dict[str, Any], route: Route) -> None:
    role = prod["Resources"][role_of(prod, route.function_id)]["Properties"]

    assert not role.get("ManagedPolicyArns")
