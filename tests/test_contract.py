"""The committed OpenAPI document is the contract clients read: it must be exactly what the
handlers generate, so an accidental contract change fails here first."""

import json
from pathlib import Path

from registry import openapi
from registry.http.routes import ROUTES

COMMITTED = Path(openapi.__file__).with_name("openapi.json")


def test_committed_openapi_document_matches_the_handlers():
    generated = json.loads(openapi.build())
    committed = json.loads(COMMITTED.read_text())
    assert generated == committed, "contract changed: run `make openapi` and review the diff"


def test_openapi_document_describes_every_route_of_the_route_table():
    paths = json.loads(COMMITTED.read_text())["paths"]
    documented = {(method.upper(), path) for path, operations in paths.items() for method in operations}
    assert documented == {(route.method, route.path) for route in ROUTES}
