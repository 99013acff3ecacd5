"""A route function loads Powertools' REST resolver without the package's other resolvers, and every
name the package exports is still the same object: each check runs in a fresh interpreter, as a
cold start does (this test process has imported the whole package long ago)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from registry.http.routes import ROUTES
from tests.support import python_path

OTHER_RESOLVERS = ("appsync", "bedrock_agent", "vpc_lattice", "http_resolver", "lambda_function_url")


def _fresh(code: str) -> dict[str, object]:
    env = {
        **os.environ,
        "PYTHONPATH": python_path(),
        "AWS_DEFAULT_REGION": "us-east-1",
        "TABLE_NAME": "devices",
        "POWERTOOLS_SERVICE_NAME": "device-registry",
    }
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.parametrize("handler", [route.handler for route in ROUTES])
def test_a_route_function_loads_none_of_the_other_resolvers(handler: str) -> None:
    loaded = _fresh(
        f"import json, sys, handlers.{handler}\n"
        f"print(json.dumps({{name: 'aws_lambda_powertools.event_handler.' + name in sys.modules "
        f"for name in {OTHER_RESOLVERS!r} + ('asyncio',)}}))"
    )
    assert loaded == dict.fromkeys((*OTHER_RESOLVERS, "asyncio"), False)


def test_every_name_the_package_exports_is_the_same_object_after_the_lazy_install() -> None:
    found = _fresh(
        "import json, importlib, sys\n"
        "from registry.http import lazy_resolvers\n"
        "lazy_resolvers.install()\n"
        "import aws_lambda_powertools.event_handler as lazy\n"
        "served = {name: getattr(lazy, name) for name in lazy_resolvers.SERVED}\n"
        "before = 'aws_lambda_powertools.event_handler.appsync' in sys.modules\n"
        "from aws_lambda_powertools.event_handler import AppSyncResolver\n"  # any other name: the whole package
        "same = all(getattr(lazy, name) is served[name] for name in served)\n"
        "exported = all(hasattr(lazy, name) for name in lazy.__all__)\n"
        "print(json.dumps({'served_alone': not before, 'same': same, 'exported': exported,\n"
        "                  'appsync': AppSyncResolver.__module__}))"
    )
    assert found == {
        "served_alone": True,
        "same": True,
        "exported": True,
        "appsync": "aws_lambda_powertools.event_handler.appsync",
    }


def test_the_served_names_are_the_packages_own() -> None:
    import importlib

    import aws_lambda_powertools.event_handler as package

    from registry.http.lazy_resolvers import SERVED

    for name, submodule in SERVED.items():
        assert name in package.__all__ or name == "ApiGatewayResolver" or hasattr(package, name)
        module = importlib.import_module(f"aws_lambda_powertools.event_handler.{submodule}")
        assert getattr(package, name) is getattr(module, name), name
