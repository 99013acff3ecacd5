"""The schema migrations' one-off function: same runtime and layer as the route functions, an
asset of our code only, no API route, the only role that may Scan (and only the device table),
and an asset that imports and answers on Python 3.13 with only the layer and the runtime's
boto3 (as tests/infra/test_runtime_fidelity.py does for every route function)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from infra.stage import stage_config
from local.dynamodb import EmbeddedDynamoDB, create_tables
from registry import settings
from registry.http.routes import ROUTES
from registry.storage.migrations import Migration
from registry.storage.migrations.dynamodb import MigrationTable
from registry.storage.migrations.ledger import LedgerEntry
from tests.infra.cfn import integration_target, methods, resources, role_of, statements_by_role, statements_of_role
from tests.infra.conftest import Synthesized
from tests.infra.test_runtime_fidelity import run_on_runtime

FUNCTION_ID = "Migrate"
# Written out here, not imported from the stack: what a migration run does to the table.
MIGRATION_ACTIONS = {"dynamodb:Scan", "dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:PutItem", "dynamodb:Query"}
LAMBDA_MAX_TIMEOUT = 900


def _function(template: dict[str, Any]) -> dict[str, Any]:
    return dict(template["Resources"][FUNCTION_ID]["Properties"])


def _device_table_id(template: dict[str, Any]) -> str:
    tables = resources(template, "AWS::DynamoDB::Table")
    return next(t for t, r in tables.items() if "GlobalSecondaryIndexes" in r["Properties"])


def _asset(synthesized: Synthesized) -> Path:
    s3_key = _function(synthesized.json("prod"))["Code"]["S3Key"]
    return synthesized.outdir / f"asset.{s3_key.removesuffix('.zip')}"


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_it_runs_like_the_route_functions_on_the_same_layer_for_lambdas_longest_run(
    synthesized: Synthesized, stage: str
) -> None:
    template = synthesized.json(stage)
    function = _function(template)
    route_function = template["Resources"][ROUTES[0].function_id]["Properties"]

    assert function["Handler"] == "handlers.migrate.lambda_handler"
    assert (function["Runtime"], function["Architectures"]) == (
        route_function["Runtime"],
        route_function["Architectures"],
    )
    assert function["Layers"] == route_function["Layers"]
    assert function["Timeout"] == LAMBDA_MAX_TIMEOUT
    assert function["Environment"]["Variables"]["TABLE_NAME"] == {"Ref": _device_table_id(template)}
    assert "ReservedConcurrentExecutions" not in function and "SnapStart" not in function
    assert template["Outputs"]["MigrateFunctionName"]["Value"] == {"Ref": FUNCTION_ID}


def test_its_asset_holds_the_registry_package_and_only_its_own_handler(synthesized: Synthesized) -> None:
    root = _asset(synthesized)
    files = {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()}

    assert {"registry/storage/migrations/runner.py", "registry/storage/keys.py", "handlers/migrate.py"} <= files
    sources = {f for f in files if "__pycache__" not in f}  # each beside its .pyc (infra/bytecode.py)
    assert {f for f in sources if f.startswith("handlers/")} == {"handlers/__init__.py", "handlers/migrate.py"}
    assert not [f for f in files if f.startswith("registry/openapi")]
    assert {f.split("/")[0] for f in files} == {"registry", "handlers"}


def test_only_the_migration_function_may_scan_and_only_the_device_table(prod: dict[str, Any]) -> None:
    scanning_roles = {
        role for role, statements in statements_by_role(prod).items() if "dynamodb:Scan" in json.dumps(statements)
    }
    migration_role = role_of(prod, FUNCTION_ID)
    table_statements = [
        s for s in statements_of_role(prod, migration_role) if any(a.startswith("dynamodb:") for a in s["Action"])
    ]

    assert scanning_roles == {migration_role}
    assert len(table_statements) == 1
    assert set(table_statements[0]["Action"]) == MIGRATION_ACTIONS
    assert table_statements[0]["Resource"] == {
        "Fn::GetAtt": [_device_table_id(prod), "Arn"]
    }  # no index, no other table


def test_no_api_method_and_no_other_service_may_invoke_it(prod: dict[str, Any]) -> None:
    targets = {integration_target(prod, method) for method in methods(prod).values()}
    permitted = {
        json.dumps(permission["Properties"]["FunctionName"])
        for permission in resources(prod, "AWS::Lambda::Permission").values()
    }

    assert FUNCTION_ID not in targets
    assert not [p for p in permitted if f'"{FUNCTION_ID}"' in p]


def test_the_environment_it_gets_satisfies_its_settings(prod: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in _function(prod)["Environment"]["Variables"].items():
        monkeypatch.setenv(name, value if isinstance(value, str) else f"resolved-{name}")
    settings.get_migration_settings.cache_clear()
    settings.get_liveness_settings.cache_clear()
    try:
        assert settings.get_migration_settings().table_name == "resolved-TABLE_NAME"
        # Migration 3 awaits old devices for the route functions' window, not the code's defaults.
        live = settings.get_liveness_settings()
        stage = stage_config("prod")
        assert (live.resolution_s, live.missed_reports, live.default_report_interval_s) == (
            stage.liveness_resolution_s,
            stage.missed_reports,
            stage.default_report_interval_s,
        )
    finally:
        settings.get_migration_settings.cache_clear()
        settings.get_liveness_settings.cache_clear()


def test_its_asset_runs_on_the_runtime_python_with_only_the_runtime_and_its_layer(
    synthesized: Synthesized, tmp_path: Path
) -> None:
    template = synthesized.json("prod")
    function = _function(template)
    version = function["Runtime"].removeprefix("python")
    table_name = "devices-migrate"
    server = EmbeddedDynamoDB().start()
    try:
        create_tables(server.endpoint, table_name, "idempotency-migrate")
        earlier = Migration(1, "earlier", applies_to=lambda item: False, transform=dict)
        MigrationTable(boto3.client("dynamodb", endpoint_url=server.endpoint), table_name).save(
            LedgerEntry.start(earlier, "2026-11-28T00:00:00Z")
        )
        event_file = tmp_path / "event.json"
        event_file.write_text(json.dumps({"dry_run": True}), encoding="utf-8")
        env = {
            **{name: value for name, value in function["Environment"]["Variables"].items() if isinstance(value, str)},
            "TABLE_NAME": table_name,
            "AWS_ENDPOINT_URL_DYNAMODB": server.endpoint,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }
        run = run_on_runtime(function, _asset(synthesized), event_file, env, tmp_path)
    finally:
        server.stop()

    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.splitlines()[-1])
    assert result["python"] == version and result["outside"] == []
    answer = result["response"]
    assert [(entry["number"], entry["name"], entry["state"]) for entry in answer["ledger"]] == [
        (1, "earlier", "running")
    ]
