"""Least privilege: each function may make the DynamoDB calls its route makes and no other; read
routes cannot write, the docs touch no table. Only the migration function may Scan
(tests/infra/test_migration_function.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from registry.http.routes import ROUTES, Route, route_for
from registry.storage import keys as schema
from tests.infra.cfn import actions, as_list, resources, role_of, statements_by_role, statements_of_role

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


def _index_names(prefix: str) -> list[str]:
    return [index.name for index in schema.INDEXES if index.name.startswith(prefix)]


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
    reads = {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:BatchGetItem"}
    assert {a for a in granted if a.startswith("dynamodb:")} <= reads


# What each route's code asks of DynamoDB (registry/storage/devices.py through registry/devices/service.py), written
# out here rather than imported from the stack: "table" is the device table itself, "index:<name>"
# one of its indexes, "idempotency" the idempotency table.
GET, PUT, UPDATE, DELETE, QUERY = (f"dynamodb:{a}" for a in ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query"))
BATCH_GET = "dynamodb:BatchGetItem"
IDEMPOTENCY = {"idempotency": {GET, PUT, UPDATE, DELETE}}  # Powertools: read, claim, store, delete on failure
EXPECTED_GRANTS: dict[str, dict[str, set[str]]] = {
    # as of a time: one Query of a history index (a GetItem of revision 1 for entries that predate it)
    "get_device": {"table": {GET}, "index:history_by_kind": {QUERY}},
    # now: the state and the sign of life in one Query of the device's partition
    "get_status": {"table": {GET, QUERY}, "index:history_by_time": {QUERY}, "index:history_by_kind": {QUERY}},
    "get_history_entry": {"table": {GET}},
    # a lookup index's ids, then those devices' items in one BatchGetItem (fleet queries)
    "list_devices": {"table": {BATCH_GET}, **{f"index:{name}": {QUERY} for name in _index_names("list_")}},
    "list_history": {"table": {GET, QUERY}, **{f"index:{name}": {QUERY} for name in _index_names("history_")}},
    "create_device": {"table": {GET, PUT}, **IDEMPOTENCY},
    "put_status": {"table": {GET, PUT, QUERY}, **IDEMPOTENCY},  # + the sign of life: Query, PutItem
    "create_devices": {"table": {GET, PUT}, **IDEMPOTENCY},  # as create_device, per device
    # the devices in one batch, then as put_status per device
    "report_statuses": {"table": {GET, BATCH_GET, PUT, QUERY}, **IDEMPOTENCY},
    # releases the old MAC's claim; a new report_interval_s reads the sign of life
    "update_device": {"table": {GET, PUT, DELETE, BATCH_GET}, **IDEMPOTENCY},
    "delete_device": {"table": {GET, PUT, DELETE}, **IDEMPOTENCY},  # releases the MAC's claim
    # device + revision in one batch; a status revision's config entry by Query; moves the MAC claim
    "revert_device": {"table": {GET, BATCH_GET, PUT, DELETE}, "index:history_by_kind": {QUERY}, **IDEMPOTENCY},
    "restore_device": {"table": {GET, PUT}, **IDEMPOTENCY},  # claims the MAC again
    # two revisions (or the device); each side's other kind by Query where its entry lacks it
    "diff_device": {"table": {GET}, "index:history_by_kind": {QUERY}},
    # one Query of an address's holder intervals, on the table itself
    "list_mac_holders": {"table": {QUERY}},
    "list_ip_holders": {"table": {QUERY}},
    # one BatchGetItem of the fleet statistics' counter shards (each its own partition key)
    "device_stats": {"table": {BATCH_GET}},
    "swagger": {},
    # the device is live (condition check), its credential set gains the id, the credential is put
    "create_credential": {"table": {"dynamodb:ConditionCheckItem", UPDATE, PUT}},
    # the device and its credential set, then the credential items: BatchGetItems
    "list_credentials": {"table": {BATCH_GET}},
    # the credential item goes, its id leaves the set
    "delete_credential": {"table": {DELETE, UPDATE}, **IDEMPOTENCY},
    # a device's own routes: its item, and a status report as put_status writes it
    "get_own_device": {"table": {GET}},
    "get_own_status": {"table": {QUERY}},
    "put_own_status": {"table": {GET, PUT, QUERY}, **IDEMPOTENCY},
    # fleet jobs: the jobs' own items only (the worker makes the devices' changes, tests/infra/test_jobs.py)
    "create_job": {"table": {PUT, UPDATE}, **IDEMPOTENCY},  # the job; failed (update) if it cannot be enqueued
    "list_jobs": {"table": {QUERY}},
    "get_job": {"table": {GET}},
    "list_job_results": {"table": {GET, QUERY}},
    "cancel_job": {"table": {UPDATE, GET}, **IDEMPOTENCY},
    "rollback_job": {"table": {GET, PUT, UPDATE}, **IDEMPOTENCY},
}


def _grants(template: dict[str, Any], route: Route) -> dict[str, set[str]]:
    """DynamoDB actions granted to a route's function, by what they are granted on."""
    device, idempotency = _table_ids(template)
    grants: dict[str, set[str]] = {}
    for statement in _statements(template, route):
        dynamodb = {a for a in as_list(statement["Action"]) if a.startswith("dynamodb:")}
        for resource in as_list(statement["Resource"]) if dynamodb else []:
            if resource == {"Fn::GetAtt": [device, "Arn"]}:
                target = "table"
            elif resource == {"Fn::GetAtt": [idempotency, "Arn"]}:
                target = "idempotency"
            else:
                arn, suffix = resource["Fn::Join"][1]
                assert arn == {"Fn::GetAtt": [device, "Arn"]} and suffix.startswith("/index/"), resource
                target = "index:" + suffix.removeprefix("/index/")
            grants.setdefault(target, set()).update(dynamodb)
    return grants


def test_every_route_has_its_expected_grants_written_down() -> None:
    assert set(EXPECTED_GRANTS) == {route.handler for route in ROUTES}


@pytest.mark.parametrize("route", [pytest.param(r, id=r.handler) for r in ROUTES])
def test_each_function_may_make_exactly_the_dynamodb_calls_its_route_makes(
    prod: dict[str, Any], dev: dict[str, Any], route: Route
) -> None:
    for template in (prod, dev):
        assert _grants(template, route) == EXPECTED_GRANTS[route.handler]


def test_read_routes_may_only_get_items_and_query_history_indexes(prod: dict[str, Any]) -> None:
    for handler in ("get_device", "get_status", "get_history_entry", "diff_device"):
        grants = _grants(prod, route_for(handler))
        # get_status reads the device's state and its sign of life in one Query of its own partition
        assert grants.pop("table") == ({GET, QUERY} if handler == "get_status" else {GET})
        assert all(target.startswith("index:history_") and actions == {QUERY} for target, actions in grants.items())


def test_only_the_writes_that_release_a_mac_claim_or_revoke_credentials_may_delete_items(
    prod: dict[str, Any],
) -> None:
    deleting = {route.handler for route in ROUTES if "dynamodb:DeleteItem" in _grants(prod, route).get("table", set())}

    assert deleting == {"update_device", "delete_device", "revert_device", "delete_credential"}


def test_the_docs_function_has_no_table_access(prod: dict[str, Any]) -> None:
    docs = next(route for route in ROUTES if route.auth is None)

    assert not {a for a in actions(_statements(prod, docs)) if a.startswith("dynamodb:")}
    assert "TABLE_NAME" not in prod["Resources"][docs.function_id]["Properties"]["Environment"]["Variables"]


def test_nobody_may_use_dynamodb_wildcards(prod: dict[str, Any]) -> None:
    everything = json.dumps([r["Properties"] for r in resources(prod, "AWS::IAM::Policy").values()])
    everything += json.dumps([r["Properties"] for r in resources(prod, "AWS::IAM::Role").values()])

    assert "dynamodb:*" not in everything
    assert '"*"' not in json.dumps(
        [a for statements in statements_by_role(prod).values() for s in statements for a in as_list(s["Action"])]
    )


@pytest.mark.parametrize("route", [pytest.param(r, id=r.handler) for r in ROUTES])
def test_functions_use_no_managed_policy(prod: dict[str, Any], route: Route) -> None:
    role = prod["Resources"][role_of(prod, route.function_id)]["Properties"]

    assert not role.get("ManagedPolicyArns")
