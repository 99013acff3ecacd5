"""Shared fixtures: a moto DynamoDB built from ``registry.storage.keys``, the service and store on it,
handlers invoked through API Gateway events, and the local server as a real subprocess."""

from __future__ import annotations

import importlib
import json
import os
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest.mock import patch

import boto3
import pytest
import requests
from moto import mock_aws

from tests.support import (
    DYNAMODB_ENDPOINT,
    IDEMPOTENCY_TABLE_NAME,
    LOCAL_CORS_ORIGINS,
    TABLE_NAME,
    DeviceBodies,
    LocalServer,
)

# Tests never reach AWS: fixed dummy credentials, a region, no endpoint override.
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_SECURITY_TOKEN="testing",
    AWS_SESSION_TOKEN="testing",
    AWS_DEFAULT_REGION="us-east-1",
    TABLE_NAME=TABLE_NAME,
    IDEMPOTENCY_TABLE_NAME=IDEMPOTENCY_TABLE_NAME,
    ANONYMOUS_PRINCIPAL="tester",
    POWERTOOLS_SERVICE_NAME="device-registry",
    POWERTOOLS_LOG_LEVEL="WARNING",
    POWERTOOLS_METRICS_NAMESPACE="DeviceRegistry",
)
os.environ.pop("AWS_ENDPOINT_URL_DYNAMODB", None)
os.environ.pop("AWS_ENDPOINT_URL", None)

# Only now: Powertools reads the environment above when the registry's modules are imported.
from local.proxy_events import LambdaContext, proxy_event
from registry import settings, wiring
from registry.devices.service import DeviceService
from registry.http import idempotency
from registry.http.routes import route_for
from registry.storage import keys as table
from registry.storage.devices import DeviceStore


def _reset_cached_clients() -> None:
    wiring.get_service.cache_clear()
    wiring.get_credential_service.cache_clear()
    wiring.get_job_service.cache_clear()
    wiring.get_job_worker.cache_clear()
    wiring.dynamodb_client.cache_clear()
    wiring.sqs_client.cache_clear()
    settings.get_settings.cache_clear()
    settings.get_job_settings.cache_clear()
    idempotency._runner.cache_clear()


@contextmanager
def _one_request_at_a_time() -> Iterator[None]:
    """moto's backend answers requests made at once from several threads (a batch's items)
    interleaved, where DynamoDB applies each atomically: as the local server's embedded
    DynamoDB does (local/dynamodb.py), answer one at a time."""
    from moto.core.botocore_stubber import BotocoreStubber

    lock, answer = threading.Lock(), BotocoreStubber.process_request

    def serialized(self: BotocoreStubber, request: Any) -> Any:
        with lock:
            return answer(self, request)

    with patch.object(BotocoreStubber, "process_request", serialized):
        yield


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    """A fresh moto DynamoDB with both tables, created from the stack's own definitions."""
    with mock_aws(), _one_request_at_a_time():
        _reset_cached_clients()
        client = boto3.client("dynamodb")
        client.create_table(**table.create_table_request(TABLE_NAME))
        client.create_table(**table.create_idempotency_table_request(IDEMPOTENCY_TABLE_NAME))
        # The job queue (infra/jobs.py): FIFO, each step its own deduplication id.
        queue = boto3.client("sqs").create_queue(QueueName="jobs.fifo", Attributes={"FifoQueue": "true"})
        os.environ["JOB_QUEUE_URL"] = queue["QueueUrl"]
        yield client
        _reset_cached_clients()


@pytest.fixture
def store(dynamodb: Any) -> DeviceStore:
    return DeviceStore(dynamodb, TABLE_NAME)


@pytest.fixture
def service(store: DeviceStore) -> DeviceService:
    return DeviceService(store, sleep=lambda _: None)


@pytest.fixture
def dynamodb_calls(dynamodb: Any) -> Counter[str]:
    """Counts the DynamoDB operations the handlers' own client makes (botocore event hook)."""
    calls: Counter[str] = Counter()
    client = wiring.dynamodb_client()

    def count(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    client.meta.events.register("before-call.dynamodb", count)  # type: ignore[attr-defined]
    return calls


Invoke = Callable[..., dict[str, Any]]


@pytest.fixture
def invoke(dynamodb: Any) -> Invoke:
    """Call a route's Lambda handler with an API Gateway proxy event; the answer's JSON body
    (if any) is under ``json``."""

    def call(
        handler: str,
        path: str | None = None,
        *,
        body: Any = None,
        raw_body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        query: str = "",
        path_parameters: dict[str, str] | None = None,
        claims: dict[str, str] | None = None,
        authorizer: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        route = route_for(handler)
        path = path or route.path
        if path_parameters is None:
            path_parameters = route.match(path)
        if body is not None:
            raw_body = json.dumps(body)
            headers = {"Content-Type": "application/json", **(headers or {})}
        event = proxy_event(
            route,
            path=path,
            path_parameters=path_parameters,
            query=query,
            headers=headers,
            body=raw_body,
            claims=claims,
            authorizer=authorizer,
        )
        module = importlib.import_module(f"handlers.{handler}")
        response = dict(module.lambda_handler(event, LambdaContext()))
        # API Gateway merges both header maps; so do we, last value wins.
        headers = dict(response.get("headers") or {})
        for name, values in (response.get("multiValueHeaders") or {}).items():
            headers[name] = values[-1]
        response["headers"] = headers
        content_type = headers.get("Content-Type", "")
        if response.get("body") and "json" in content_type:
            response["json"] = json.loads(response["body"])
        return response

    return call


@pytest.fixture
def make_device(invoke: Invoke) -> Callable[..., dict[str, Any]]:
    """Register a device through the create handler; distinct MAC per call unless given."""
    bodies = DeviceBodies()

    def make(**fields: Any) -> dict[str, Any]:
        response = invoke("create_device", body=bodies(**fields))
        assert response["statusCode"] == 201, response
        return dict(response["json"])

    return make


# -- the local server, started as a user would, on a free port --------------------------


@pytest.fixture(scope="session")
def local_events_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the local server appends its change events (LOCAL_EVENTS_FILE)."""
    return tmp_path_factory.mktemp("events") / "events.jsonl"


@pytest.fixture(scope="session")
def _session_server(tmp_path_factory: pytest.TempPathFactory, local_events_file: Path) -> Iterator[LocalServer]:
    log = tmp_path_factory.mktemp("local") / "server.log"
    server = LocalServer(
        log,
        LOCAL_EVENTS_FILE=str(local_events_file),
        # A stalled request is answered 408 this soon (tests/integration/test_local_http.py).
        LOCAL_REQUEST_TIMEOUT="3",
        CORS_ORIGINS=",".join(LOCAL_CORS_ORIGINS),
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def local_server(_session_server: LocalServer) -> str:
    return _session_server.url


@pytest.fixture(scope="session")
def local_dynamodb_endpoint(_session_server: LocalServer) -> str:
    """The local server's embedded DynamoDB, for tests that must change what no API call can
    (an entry removed by TTL, say)."""
    return _session_server.dynamodb_endpoint


@pytest.fixture
def api(local_server: str) -> Iterator[requests.Session]:
    """A session whose relative URLs go to the local server."""

    class Session(requests.Session):
        def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
            kwargs.setdefault("timeout", 30)
            return super().request(method, f"{local_server}{url!s}", *args, **kwargs)

    with Session() as session:
        yield session


# -- reading the device table back, to check what a request left behind -------------------


@pytest.fixture
def table_items(dynamodb: Any) -> Callable[[], list[dict[str, Any]]]:
    """Every item of the device table as plain values, in key order (a test-side Scan on its own
    client, so it is neither counted nor hit by injected faults)."""
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()

    def read() -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for page in dynamodb.get_paginator("scan").paginate(TableName=TABLE_NAME, ConsistentRead=True):
            items += [{k: deserializer.deserialize(v) for k, v in item.items()} for item in page["Items"]]
        return sorted(items, key=lambda item: (item[table.PK], item[table.SK]))

    return read


@pytest.fixture
def assert_table_consistent(table_items: Callable[[], list[dict[str, Any]]]) -> Callable[[], None]:
    """Nothing half-written: every MAC claim belongs to a live device with that MAC and every
    live device holds its claim; each device has exactly the history entries 1..revision."""

    def check() -> None:
        items = table_items()
        states = {item["id"]: item for item in items if item[table.SK] == table.STATE_SK}
        claims = {item["mac_address"]: item["device_id"] for item in items if item[table.SK] == table.CLAIM_SK}
        revisions: dict[str, list[int]] = {}
        for item in items:
            if item[table.SK].startswith(table.REVISION_PREFIX):
                revisions.setdefault(item[table.PK].removeprefix(table.DEVICE_PREFIX), []).append(int(item["revision"]))
        live = {device_id: state for device_id, state in states.items() if not state.get("deleted_at")}
        assert claims == {state["mac_address"]: device_id for device_id, state in live.items()}
        assert set(revisions) == set(states), "history without a device, or a device without history"
        for device_id, state in states.items():
            assert sorted(revisions[device_id]) == list(range(1, int(state["revision"]) + 1)), device_id

    return check


@pytest.fixture
def inject_dynamodb_error() -> Callable[..., list[dict[str, Any]]]:
    """Make ``client``'s calls of ``operation`` fail (the next ``times``, or all) as DynamoDB
    would: ``error`` is an error code, a whole error response (e.g. a cancelled transaction with
    its reasons) or a botocore exception such as a connect timeout. The request never reaches
    moto, exactly as a refused request never reaches the table; the other operations do.
    Returns the list of the requests that were refused; its ``stop()`` ends the refusals."""
    from botocore.awsrequest import AWSResponse

    class Refused(list[dict[str, Any]]):
        stop: Callable[[], None]

    def inject(client: Any, operation: str, error: Any, *, times: int | None = None) -> list[dict[str, Any]]:
        refused = Refused()

        def refuse(params: dict[str, Any], **_: Any) -> Any:
            if times is not None and len(refused) >= times:
                return None
            refused.append(params)
            if isinstance(error, Exception):
                raise error
            response = error if isinstance(error, dict) else {"Error": {"Code": error, "Message": "injected"}}
            status = 500 if response["Error"]["Code"] == "InternalServerError" else 400
            return AWSResponse(DYNAMODB_ENDPOINT, status, {}, None), response

        event = f"before-call.dynamodb.{operation}"
        client.meta.events.register(event, refuse)
        refused.stop = lambda: client.meta.events.unregister(event, refuse)
        return refused

    return inject


@pytest.fixture(scope="session", autouse=True)
def _one_botocore_data_loader() -> Iterator[None]:
    """moto gives every test a fresh boto3 session, and each new session would parse botocore's
    JSON service models again (~50 ms a client). They are static files: read them once."""
    import botocore.loaders
    import botocore.session

    loaders: dict[Any, botocore.loaders.Loader] = {}

    def register(session: botocore.session.Session) -> None:
        def shared() -> botocore.loaders.Loader:
            data_path = session.get_config_variable("data_path")
            return loaders.setdefault(data_path, botocore.loaders.create_loader(data_path))

        session._components.lazy_register_component("data_loader", shared)

    original = botocore.session.Session._register_data_loader
    botocore.session.Session._register_data_loader = register  # type: ignore[method-assign]
    yield
    botocore.session.Session._register_data_loader = original  # type: ignore[method-assign]


# -- figures the tests measure, printed at the end of the run (docs quote them) ---------------

# The reliability suite's figures ({name: value}, docs/reliability.md) and the DynamoDB cost
# tables of tests/integration/test_dynamodb_cost.py (a title line, then the table).
FIGURES: dict[str, Any] = {}
COST_FIGURES: list[str] = []


@pytest.fixture
def figures() -> dict[str, Any]:
    return FIGURES


@pytest.fixture
def cost_figures() -> list[str]:
    return COST_FIGURES


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Under pytest-xdist (`make test`) a worker measured them, and nobody reads a worker's
    terminal: it hands them to the controller (xdist's ``workeroutput``), which prints them."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["figures"], workeroutput["cost_figures"] = FIGURES, COST_FIGURES


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """A worker's figures, received by the controller (an xdist hook: absent without xdist)."""
    workeroutput = getattr(node, "workeroutput", {})  # none from a worker that crashed
    FIGURES.update(workeroutput.get("figures", {}))
    COST_FIGURES.extend(workeroutput.get("cost_figures", []))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for title, *rows in (figure.splitlines() for figure in COST_FIGURES):
        terminalreporter.write_sep("-", title)
        terminalreporter.write_line("\n".join(rows))
    if FIGURES:
        terminalreporter.write_sep("-", "reliability figures")
        for name, value in sorted(FIGURES.items()):
            terminalreporter.write_line(f"{name}: {value}")


# -- pytest-xdist: `make test` runs the suite on every core (`-n auto --dist loadgroup`) ---------


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Which tests one worker runs together, in their order: a file's tests (its module fixtures
    are built once, as in a serial run), and every test of the synthesized app, which that worker
    synthesizes once (cdk-nag needs the construct tree: it cannot be handed between processes)."""
    for item in items:
        group = "cdk-synth" if "synthesized" in item.fixturenames else item.nodeid.split("::", 1)[0]
        item.add_marker(pytest.mark.xdist_group(group))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node: Any, ids: list[str]) -> None:
    """A worker's collection, as the controller receives it (an xdist hook). Under ``--dist
    loadgroup`` each id carries its test's group as a suffix (``…@group``), which is all the
    scheduler reads. With pytest 9.2 the suffix silently stopped taking (pytest-xdist issue 1386:
    node ids became structured): every test was scheduled on its own, and each worker synthesized
    the app and built every module fixture again. Refuse to run so."""
    if node.config.getvalue("dist") != "loadgroup":
        return
    ungrouped = [nodeid for nodeid in ids if "@" not in nodeid.rpartition("]")[2]]
    if ungrouped:
        pytest.exit(
            f"--dist loadgroup would not group {len(ungrouped)} of {len(ids)} tests (first: {ungrouped[0]}): "
            "this pytest and pytest-xdist do not carry xdist_group to the scheduler (pytest-xdist issue 1386)",
            returncode=pytest.ExitCode.USAGE_ERROR,
        )
