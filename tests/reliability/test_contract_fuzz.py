"""Fuzzing from the contract: schemathesis generates requests (valid and invalid) for every
operation of the OpenAPI document the local server serves, and checks each answer against it.

No 5xx; every status code, content type and body is one the document declares for the
operation; every error is ``application/problem+json`` (the document declares no other error
media type, so content-type conformance enforces it). In CI each operation gets
``FUZZ_EXAMPLES`` (default 10) generated examples; ``FUZZ_EXAMPLES=500`` runs a long fuzz."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from registry import openapi
from tests.reliability.conftest import FIGURES

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
CALLS: Counter[str] = Counter()


@pytest.fixture(scope="module")
def session() -> Any:
    with requests.Session() as http:
        yield http


# The docs route serves this very file (checked below); loading it at import time lets
# schemathesis build one test per operation before the server starts.
CONTRACT = Path(openapi.__file__).with_name("openapi.json")
schema = schemathesis.openapi.from_path(CONTRACT)
MACS = iter(range(1, 1 << 24))
POOL: list[str] = []  # devices the non-deleting operations take turns on
POOL_SIZE = 8


def _fresh_device(session: requests.Session, url: str) -> str:
    digits = f"02f0{next(MACS):08x}"
    mac = ":".join(digits[i : i + 2] for i in range(0, 12, 2))
    body = {"name": "Fuzz target", "device_type": "sensor", "mac_address": mac}
    response = session.post(f"{url}/devices", json=body, timeout=30)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _existing_device(session: requests.Session, url: str, method: str) -> str:
    """A device that exists: a new one for a DELETE (which uses it up), else one of a small
    pool, so that a long run does not grow the table by a device per case."""
    if method == "DELETE":
        return _fresh_device(session, url)
    if len(POOL) < POOL_SIZE:
        POOL.append(_fresh_device(session, url))
        return POOL[-1]
    POOL.append(POOL.pop(0))
    return POOL[-1]


def test_fuzzed_contract_is_the_one_the_server_serves(local_server):
    served = requests.get(f"{local_server}/swagger?format=json", timeout=30).json()
    assert served == json.loads(CONTRACT.read_text())


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_every_operation_answers_as_its_contract_says(case, session, local_server):
    if "device_id" in (case.path_parameters or {}) and CALLS[case.operation.label] % 2:
        # Random ids only ever meet 404s: every other case aims at a device that exists.
        case.path_parameters["device_id"] = _existing_device(session, local_server, case.method)
        if "revision" in case.path_parameters:
            case.path_parameters["revision"] = 1
    case.call_and_validate(base_url=local_server, session=session, checks=CHECKS, timeout=30)
    CALLS[case.operation.label] += 1
    FIGURES["schemathesis: operations / requests checked"] = f"{len(CALLS)} / {sum(CALLS.values())}"
