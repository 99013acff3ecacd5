"""What AWS runs, tried here before it is deployed.

Every synthesized function's code asset is imported on the Python of the function's runtime
version (found on this machine, never downloaded), in an isolated interpreter that sees only
the asset, what the function's layers hold (rebuilt for this machine's platform from the same
lock file, and checked to hold the same distributions as the synthesized layer) and the boto3
that the Lambda runtime provides — not the venv. Each then serves its ``events/`` file against
the embedded DynamoDB, with exactly the environment variables its function gets.

This fails on a module missing from an asset or a layer, a library too old for our imports
(the AWS-managed layer 27 lacked Powertools' ``Depends``: every function would have failed to
import), or code that only works on another Python version."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from infra import REPO_ROOT
from infra.layer import BUILD_DIR, SITE_DIR, layer_dir, pinned
from local.dynamodb import EmbeddedDynamoDB, create_tables
from local.jobs import create_queue
from registry.credentials.service import CredentialService
from registry.devices.service import DeviceService
from registry.domain.jobs import Job
from registry.http.routes import ROUTES, Route
from registry.schemas import DeviceAttributes
from registry.storage.credentials import CredentialStore
from registry.storage.devices import DeviceStore
from registry.storage.jobs import JobStore
from tests.infra.conftest import Synthesized
from tests.integration.test_events import EXPECTED_STATUS, SAMPLE_CREDENTIAL_ID, SAMPLE_DEVICE_ID, SAMPLE_JOB_ID

# The Lambda runtime ships its own boto3, older than ours and different per region. The code
# must work with an old one: this is the release of November 2024, when python3.13 came to
# Lambda. Every region's runtime has caught up with it since.
RUNTIME_BOTO3 = "1.35.54"
HOST_PLATFORM = f"manylinux2014_{platform.machine()}"

# Runs inside the isolated interpreter: Lambda's sys.path order (the asset, then the layers,
# then the runtime's own packages), then one cold invocation, answered as JSON on stdout.
CHILD = """
import importlib, json, sys
asset, layer, runtime, module, entry, event_file = sys.argv[1:]
sys.path[:0] = [asset, layer, runtime]
handler = getattr(importlib.import_module(module), entry)
import aws_lambda_powertools.shared.version as powertools, boto3, pydantic

class Context:
    function_name = module
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:" + module
    aws_request_id = "fidelity"

    def get_remaining_time_in_millis(self):
        return 25_000

with open(event_file, encoding="utf-8") as file:
    response = handler(json.load(file), Context())
print(json.dumps({
    "python": "%d.%d" % sys.version_info[:2],
    "versions": {"aws-lambda-powertools": powertools.VERSION, "pydantic": pydantic.VERSION, "boto3": boto3.__version__},
    "outside": sorted(name for name, m in sys.modules.items() if getattr(m, "__file__", None)
                      and "site-packages" in m.__file__ and not m.__file__.startswith((asset, layer, runtime))),
    "response": response,
}))
"""


def runtime_python(runtime: str) -> str:
    """An interpreter of the runtime's version (``python3.13``): on PATH, else under pyenv.
    Each candidate is tried: pyenv's shim on PATH answers only when that version is selected."""
    version = runtime.removeprefix("python")
    candidates = [shutil.which(runtime)]
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates += [str(path) for path in sorted(pyenv.glob(f"{version}*/bin/{runtime}"), reverse=True)]
    for candidate in filter(None, candidates):
        if subprocess.run([candidate, "-c", ""], capture_output=True, check=False).returncode == 0:
            return candidate
    pytest.fail(f"{runtime} (the functions' runtime) is not installed: on PATH or under pyenv")


def runtime_boto3(python: str) -> Path:
    target = BUILD_DIR.parent / "runtime" / f"boto3-{RUNTIME_BOTO3}-{HOST_PLATFORM}"
    if not (target / "boto3").is_dir():
        # A staging folder of its own: another run in this checkout (a parallel pytest) may build it too.
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        try:
            subprocess.run(
                [
                    *(sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile"),
                    *("--only-binary=:all:", f"--python-version={python}", f"--platform={HOST_PLATFORM}"),
                    *(f"--target={staging}", f"boto3=={RUNTIME_BOTO3}"),
                ],
                check=True,
                capture_output=True,
            )
            staging.rename(target)
        except OSError:
            if not (target / "boto3").is_dir():  # not the other run's finished build: a real failure
                raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return target


def run_on_runtime(
    function: dict[str, Any], asset: Path, event_file: Path, env: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    """One cold invocation of ``function``'s handler with ``event_file``, as :data:`CHILD` makes it:
    the runtime's Python, only the asset, the layer (this machine's build) and the runtime's boto3."""
    version = function["Runtime"].removeprefix("python")
    module, _, entry = function["Handler"].rpartition(".")
    layer = layer_dir(HOST_PLATFORM, version) / SITE_DIR
    command = [runtime_python(function["Runtime"]), "-I", "-S", "-B", "-c", CHILD, str(asset), str(layer)]
    return subprocess.run(
        [*command, str(runtime_boto3(version)), module, entry, str(event_file)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _function(template: dict[str, Any], route: Route) -> dict[str, Any]:
    return dict(template["Resources"][route.function_id]["Properties"])


def _asset(synthesized: Synthesized, code: dict[str, Any]) -> Path:
    return synthesized.outdir / f"asset.{code['S3Key'].removesuffix('.zip')}"


def _distributions(site: Path) -> set[str]:
    return {path.name.lower() for path in site.glob("*.dist-info")}


@pytest.fixture(scope="module")
def dynamodb_endpoint() -> Iterator[str]:
    server = EmbeddedDynamoDB().start()
    yield server.endpoint
    server.stop()


def test_every_function_has_one_layer_that_holds_exactly_the_pinned_libraries(synthesized: Synthesized) -> None:
    template = synthesized.json("prod")
    host_layer = layer_dir(HOST_PLATFORM) / SITE_DIR
    expected = {f"{name.replace('-', '_')}-{version}.dist-info" for name, version in pinned().items()}

    for route in ROUTES:
        (layer_ref,) = _function(template, route)["Layers"]
        layer = template["Resources"][layer_ref["Ref"]]["Properties"]
        synthesized_layer = _asset(synthesized, layer["Content"]) / SITE_DIR

        assert _distributions(synthesized_layer) == expected, route.handler
        assert _distributions(host_layer) == expected


def test_every_asset_serves_its_event_on_the_runtime_python_with_only_the_runtime_and_its_layers(
    synthesized: Synthesized, dynamodb_endpoint: str, tmp_path: Path
) -> None:
    template = synthesized.json("prod")
    runtimes = {_function(template, route)["Runtime"] for route in ROUTES}
    assert runtimes == {"python3.13"}
    (runtime,) = runtimes
    python = runtime_python(runtime)
    version = runtime.removeprefix("python")
    layer = layer_dir(HOST_PLATFORM, version) / SITE_DIR
    boto3_dir = runtime_boto3(version)

    def serve(route: Route, device_id: str | None, credential_id: str | None) -> subprocess.Popen[str]:
        function = _function(template, route)
        variables = function["Environment"]["Variables"]
        # What CloudFormation resolves at deploy time; a new unresolved variable fails here until named.
        resolved = {
            "TABLE_NAME": f"devices-{route.handler}",
            "IDEMPOTENCY_TABLE_NAME": f"idempotency-{route.handler}",
            "OAUTH_TOKEN_URL": "https://device-registry-prod-123456789012.auth.us-east-1.amazoncognito.com/oauth2/token",
            "JOB_QUEUE_URL": job_queue,
        }
        env = {name: value if isinstance(value, str) else resolved[name] for name, value in variables.items()}
        env |= {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
        env |= {"AWS_ENDPOINT_URL_DYNAMODB": dynamodb_endpoint, "POWERTOOLS_LOG_LEVEL": "ERROR"}
        env |= {"AWS_ENDPOINT_URL_SQS": dynamodb_endpoint}  # the embedded server serves the job queue too
        text = (REPO_ROOT / "events" / f"{route.handler}.json").read_text(encoding="utf-8")
        event_file = tmp_path / f"{route.handler}.json"
        text = text.replace(SAMPLE_DEVICE_ID, device_id or SAMPLE_DEVICE_ID)
        text = text.replace(SAMPLE_CREDENTIAL_ID, credential_id or SAMPLE_CREDENTIAL_ID)
        event_file.write_text(text, encoding="utf-8")
        module, _, entry = function["Handler"].rpartition(".")
        asset = _asset(synthesized, function["Code"])
        # -I: no PYTHON* variables, no user site; -S: no site-packages at all; -B: the staged asset
        # stays as synthesized (no bytecode written beside the .pyc it ships).
        command = [python, "-I", "-S", "-B", "-c", CHILD, str(asset), str(layer), str(boto3_dir), module, entry]
        return subprocess.Popen(
            [*command, str(event_file)],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def answer(route: Route, run: subprocess.Popen[str]) -> dict[str, Any]:
        output, errors = run.communicate(timeout=120)
        assert run.returncode == 0, f"{route.handler} failed on {runtime}:\n{errors[-3000:]}"
        result = dict(json.loads(output.splitlines()[-1]))
        assert result["python"] == version
        assert result["versions"] == {
            "aws-lambda-powertools": pinned()["aws-lambda-powertools"],
            "pydantic": pinned()["pydantic"],
            "boto3": RUNTIME_BOTO3,
        }
        assert result["outside"] == [], f"{route.handler} imported from outside the runtime and its layers"
        response = result["response"]
        assert response["statusCode"] == EXPECTED_STATUS[route.handler], f"{route.handler}: {response.get('body')}"
        return dict(response)

    # Each function on tables of its own, holding the device its event acts on (but the
    # registration's, which registers it): their order does not matter, so they run together.
    job_queue = create_queue(dynamodb_endpoint)
    runs = {}
    for route in ROUTES:
        create_tables(dynamodb_endpoint, f"devices-{route.handler}", f"idempotency-{route.handler}")
        if route.path.startswith("/jobs/"):  # the job its event names: finished, for the rollback's
            _job(dynamodb_endpoint, route)
        device_id = None if route.handler == "create_device" else _register(dynamodb_endpoint, route)
        revoked = _credential(dynamodb_endpoint, route, device_id) if route.handler == "delete_credential" else None
        runs[route] = serve(route, device_id, revoked)
    for route, run in runs.items():
        answer(route, run)


def _job(endpoint: str, route: Route) -> None:
    """The job the job routes' events name, on the route's own table (cancelled: a finished job)."""
    state = "cancelled" if route.handler == "rollback_job" else "queued"
    job = Job(SAMPLE_JOB_ID, state, {"location": "x"}, {"location": "y"}, False, "sample", "2026-12-07T00:00:00.000Z")
    JobStore(boto3.client("dynamodb", endpoint_url=endpoint), f"devices-{route.handler}").create_job(job)


def _credential(endpoint: str, route: Route, device_id: str | None) -> str:
    """A credential of the device, for the revocation's event to revoke."""
    client = boto3.client("dynamodb", endpoint_url=endpoint)
    credentials = CredentialService(CredentialStore(client, f"devices-{route.handler}"))
    return credentials.create(str(device_id)).record.credential_id


def _register(endpoint: str, route: Route) -> str:
    client = boto3.client("dynamodb", endpoint_url=endpoint)
    service = DeviceService(DeviceStore(client, f"devices-{route.handler}"))
    attributes = DeviceAttributes(name="Fidelity", device_type="sensor", mac_address="02:00:00:00:f1:de")
    device_id = service.register(attributes, "fidelity").id
    if route.handler == "restore_device":  # only a deleted device can be restored
        service.delete(device_id, expected=None, principal="fidelity")
    return device_id
