"""One Lambda function per route: runtime, architecture, logs, layer, environment
and a code asset with nothing but our code."""

from __future__ import annotations

import importlib.util
import json
import marshal
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import pytest

from infra.functions import (
    BATCH_MEMORY_MB,
    BATCH_TIMEOUT,
    FUNCTIONS_DIR,
    MEMORY_MB,
    RETENTION_HANDLERS,
    TIMEOUT,
    asset_excludes,
)
from infra.stage import STAGES, StageConfig
from registry import settings, wiring
from registry.batch import runner as batch
from registry.http.routes import ROUTES, Route, route_for
from tests.infra.cfn import methods, resources
from tests.infra.conftest import Synthesized

ROUTE_PARAMS = [pytest.param(route, id=route.handler) for route in ROUTES]
API_GATEWAY_INTEGRATION_TIMEOUT = 29


def _function(template: dict[str, Any], route: Route) -> dict[str, Any]:
    return dict(template["Resources"][route.function_id]["Properties"])


@pytest.mark.parametrize("route", ROUTE_PARAMS)
def test_function_runs_python_313_on_arm64_with_the_libraries_layer_and_no_xray(
    prod: dict[str, Any], route: Route
) -> None:
    function = _function(prod, route)
    (layer,) = function["Layers"]
    layer_properties = prod["Resources"][layer["Ref"]]["Properties"]

    assert function["Runtime"] == "python3.13"
    assert function["Architectures"] == ["arm64"]
    assert "TracingConfig" not in function  # no X-Ray SDK in the functions: see docs/decisions.md
    assert layer_properties["CompatibleRuntimes"] == ["python3.13"]
    assert layer_properties["CompatibleArchitectures"] == ["arm64"]
    assert function["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]
    assert function["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"]
    assert function["Environment"]["Variables"]["POWERTOOLS_LOG_LEVEL"] == "INFO"


@pytest.mark.parametrize("route", ROUTE_PARAMS)
def test_function_logs_to_its_own_log_group_with_a_retention(prod: dict[str, Any], route: Route) -> None:
    log_group_id = _function(prod, route)["LoggingConfig"]["LogGroup"]["Ref"]
    log_group = prod["Resources"][log_group_id]

    assert log_group["Properties"]["RetentionInDays"] > 0
    assert log_group["DeletionPolicy"] == "Retain"


def test_timeout_outlasts_the_dynamodb_client_retries_but_not_api_gateway(prod: dict[str, Any]) -> None:
    config = wiring.CLIENT_CONFIG
    attempts = config.retries["total_max_attempts"]
    backoff = sum(min(2**retry, 20) for retry in range(attempts - 1))  # botocore standard mode caps
    worst_case = attempts * (config.connect_timeout + config.read_timeout) + backoff

    for route in ROUTES:
        timeout = _function(prod, route)["Timeout"]
        assert worst_case < timeout < API_GATEWAY_INTEGRATION_TIMEOUT, route.handler


@pytest.mark.parametrize("route", [pytest.param(r, id=r.handler) for r in ROUTES if r.auth is not None])
def test_the_environment_given_to_a_table_function_satisfies_its_settings(
    prod: dict[str, Any], route: Route, monkeypatch: pytest.MonkeyPatch
) -> None:
    variables = _function(prod, route)["Environment"]["Variables"]
    for name, value in variables.items():
        monkeypatch.setenv(name, value if isinstance(value, str) else f"resolved-{name}")
    # The job routes' JOB_QUEUE_URL names the job queue (tests/infra/test_jobs.py); every other reference a table.
    assert ("JOB_QUEUE_URL" in variables) == route.path.startswith("/jobs")
    table_ids = {v["Ref"] for name, v in variables.items() if isinstance(v, dict) and name != "JOB_QUEUE_URL"}
    settings.get_settings.cache_clear()
    try:
        parsed = settings.get_settings()
    finally:
        settings.get_settings.cache_clear()

    assert parsed.table_name == "resolved-TABLE_NAME"
    assert parsed.idempotency_table_name == "resolved-IDEMPOTENCY_TABLE_NAME"
    assert parsed.status_history_days == 0  # the stage's default, or unset: keep forever
    assert all(prod["Resources"][t]["Type"] == "AWS::DynamoDB::Table" for t in table_ids)


def _asset_root(synthesized: Synthesized, route: Route) -> Path:
    s3_key = _function(synthesized.json("prod"), route)["Code"]["S3Key"]
    root = synthesized.outdir / f"asset.{s3_key.removesuffix('.zip')}"
    assert root.is_dir(), f"no staged asset for {route.handler}"
    return root


def _asset_files(synthesized: Synthesized, route: Route) -> set[str]:
    root = _asset_root(synthesized, route)
    return {str(p.relative_to(root)) for p in Path(root).rglob("*") if p.is_file()}


@pytest.mark.parametrize("route", ROUTE_PARAMS)
def test_code_asset_holds_the_registry_package_and_only_its_own_handler(synthesized: Synthesized, route: Route) -> None:
    files = _asset_files(synthesized, route)

    assert {"registry/__init__.py", "registry/http/routes.py", "handlers/__init__.py"} <= files
    sources = {f for f in files if "__pycache__" not in f}
    assert {f for f in sources if f.startswith("handlers/")} == {"handlers/__init__.py", f"handlers/{route.handler}.py"}
    assert {f.split("/")[0] for f in files} == {"registry", "handlers"}


def _bytecode_path(source: str) -> str:
    """Where Python 3.13 looks for a module's bytecode (``importlib.util.cache_from_source``)."""
    folder, _, name = source.rpartition("/")
    return f"{folder}/__pycache__/{name.removesuffix('.py')}.cpython-313.pyc"


@pytest.mark.parametrize("route", ROUTE_PARAMS)
def test_code_asset_ships_every_module_compiled_for_the_runtime_so_a_cold_start_compiles_nothing(
    synthesized: Synthesized, route: Route
) -> None:
    files = _asset_files(synthesized, route)
    root = _asset_root(synthesized, route)
    modules = sorted(f for f in files if f.endswith(".py"))
    assert {f for f in files if "__pycache__" in f} == {_bytecode_path(module) for module in modules}
    for module in modules:
        pyc = (root / _bytecode_path(module)).read_bytes()
        assert pyc[:4] == importlib.util.MAGIC_NUMBER, module  # Python 3.13's, as the runtime's
        # PEP 552 flags: hash-based (1) and unchecked (no 2): loaded without reading the source's
        # timestamp, which the asset's zip does not keep anyway.
        assert int.from_bytes(pyc[4:8], "little") == 0b01, module
        assert pyc[8:16] == importlib.util.source_hash((root / module).read_bytes()), module


@pytest.mark.parametrize("route", ROUTE_PARAMS)
def test_only_the_docs_function_ships_the_openapi_document_and_none_its_generator(
    synthesized: Synthesized, route: Route
) -> None:
    files = _asset_files(synthesized, route)

    assert ("registry/openapi.json" in files) == (route.handler == "swagger")
    assert "registry/openapi.py" not in files


def test_one_function_per_route_plus_only_the_migration_and_publisher_functions_and_the_cdk_custom_resource_provider(
    prod: dict[str, Any],
) -> None:
    functions = resources(prod, "AWS::Lambda::Function")
    # infra/migrations.py, events.py, auth.py (the device authorizer), snapstart.py (keep-warm),
    # jobs.py (the job worker), liveness.py (the sweep) and console.py (the operator console's
    # files and its sign-in trigger, when the bundle was built for the synth)
    ours = {route.function_id for route in ROUTES} | {
        "Migrate",
        "PublishChanges",
        "AuthorizeDevice",
        "KeepWarm",
        "ServeConsole",
        "RunJobs",  # infra/jobs.py
        "SweepLiveness",  # infra/liveness.py (scheduled, no route)
        "ConsoleSignInScopes",
    }

    assert ours - {"ServeConsole", "ConsoleSignInScopes"} <= set(functions)
    others = set(functions) - ours
    assert len(others) == 1 and next(iter(others)).startswith("AWS679f53fac002430cb0da5b7982bd2287")


@pytest.mark.parametrize("route", ROUTE_PARAMS)
def test_prod_invokes_snapstart_versions_and_dev_its_functions(
    prod: dict[str, Any], dev: dict[str, Any], route: Route
) -> None:
    snaps = route.auth is not None  # every API function; docs imports no DynamoDB client
    assert ("SnapStart" in _function(prod, route)) == snaps
    assert "SnapStart" not in _function(dev, route)
    method = methods(prod)[(route.path, route.method)]
    uri = json.dumps(method["Integration"]["Uri"])
    versions = {
        logical_id
        for logical_id, version in resources(prod, "AWS::Lambda::Version").items()
        if version["Properties"]["FunctionName"] == {"Ref": route.function_id}
    }
    assert len(versions) == snaps
    assert all(f'"Ref": "{version}"' in uri for version in versions)


def test_the_docs_function_names_the_cognito_token_endpoint_for_swagger_ui(prod: dict[str, Any]) -> None:
    variables = _function(prod, route_for("swagger"))["Environment"]["Variables"]
    token_url = json.dumps(variables["OAUTH_TOKEN_URL"])
    domains = resources(prod, "AWS::Cognito::UserPoolDomain")

    assert len(domains) == 1 and f'"Ref": "{next(iter(domains))}"' in token_url
    assert "/oauth2/token" in token_url
    api_functions = [_function(prod, route) for route in ROUTES if route.auth]
    assert all("OAUTH_TOKEN_URL" not in function["Environment"]["Variables"] for function in api_functions)


def test_the_retention_setting_reaches_only_the_functions_that_write_or_need_status_history(
    prod: dict[str, Any], dev: dict[str, Any]
) -> None:
    # put_status, put_own_status and report_statuses write each status entry's expires_at; status
    # as_of and diff need the horizon. Every other function tells an expired entry by its own
    # expires_at, or reads none.
    assert {"put_status", "put_own_status", "report_statuses", "get_status", "diff_device"} == RETENTION_HANDLERS
    for stage, template in (("prod", prod), ("dev", dev)):
        for route in ROUTES:
            variables = _function(template, route)["Environment"]["Variables"]
            if route.handler in RETENTION_HANDLERS:
                assert variables["STATUS_HISTORY_DAYS"] == str(STAGES[stage].status_history_days), route.handler
            else:
                assert "STATUS_HISTORY_DAYS" not in variables, route.handler


def test_status_history_is_kept_forever_unless_a_stage_says_otherwise() -> None:
    assert {f.name: f.default for f in fields(StageConfig)}["status_history_days"] == 0
    assert all(stage.status_history_days == 0 for stage in STAGES.values())
    with pytest.raises(ValueError, match="status_history_days"):
        replace(STAGES["dev"], status_history_days=-1)


def test_a_batch_function_has_more_memory_and_time_and_writes_within_the_clients_connections(
    prod: dict[str, Any],
) -> None:
    for route in ROUTES:
        function = _function(prod, route)
        if route.batch:
            assert (function["MemorySize"], function["Timeout"]) == (BATCH_MEMORY_MB, BATCH_TIMEOUT.to_seconds())
            assert function["MemorySize"] > MEMORY_MB and function["Timeout"] > TIMEOUT.to_seconds()
    # The items written at once each hold one of the client's pooled connections.
    assert wiring.CLIENT_CONFIG.max_pool_connections >= batch.WORKERS


def test_the_same_code_stages_the_same_asset_on_every_synth(tmp_path: Path) -> None:
    """Two synths stage a function's asset in two temporary folders: the same files, byte for byte,
    the bytecode naming the module where Lambda imports it from. Else every deploy would change
    every function (and publish a SnapStart version of each) with no code change."""
    from infra.bytecode import TASK_ROOT, _staged

    route = ROUTES[0]
    root, exclude = FUNCTIONS_DIR.resolve(), tuple(asset_excludes(route))
    first = _staged.__wrapped__(root, exclude)
    second = _staged.__wrapped__(root, exclude)
    assert first != second
    files = sorted(str(path.relative_to(first)) for path in first.rglob("*") if path.is_file())
    assert files == sorted(str(path.relative_to(second)) for path in second.rglob("*") if path.is_file())
    for name in files:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    code = marshal.loads((first / _bytecode_path("registry/http/routes.py")).read_bytes()[16:])
    assert code.co_filename == f"{TASK_ROOT}/registry/http/routes.py"
