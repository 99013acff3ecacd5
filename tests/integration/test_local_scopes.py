"""``make run LOCAL_SCOPES=devices/read``: the local server acts as a read-only operator would in
AWS. Every write route is API Gateway's 403 problem (and changes nothing), reads answer, the
console's config.json says which scopes the calls carry, and a scope the API does not have stops
the server before it starts, with the reason."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from registry.http.routes import COGNITO, FORBIDDEN_DETAIL, READ, ROUTES, WRITE
from tests.support import ROOT, LocalServer

WRITES = [route for route in ROUTES if route.auth == COGNITO and route.scope == WRITE]


@pytest.fixture(scope="module")
def read_only(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = LocalServer(tmp_path_factory.mktemp("read-only") / "server.log", LOCAL_SCOPES=READ)
    try:
        yield server.start()
    finally:
        server.close()


@pytest.mark.parametrize("route", WRITES, ids=lambda route: f"{route.method} {route.path}")
def test_every_write_is_the_gateways_403_problem_for_a_read_only_caller(read_only: str, route: Any) -> None:
    path = "/".join(str(uuid.uuid4()) if part.startswith("{") else part for part in route.path.split("/"))
    response = requests.request(route.method, f"{read_only}{path}", json={}, timeout=30)

    assert response.status_code == 403, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["detail"] == FORBIDDEN_DETAIL
    assert problem["type"].endswith(":forbidden")


def test_a_refused_registration_registers_nothing_and_reads_still_answer(read_only: str) -> None:
    device = {"name": "refused", "device_type": "sensor", "mac_address": "02:00:00:00:cc:01"}
    assert requests.post(f"{read_only}/devices", json=device, timeout=30).status_code == 403

    listed = requests.get(f"{read_only}/devices", params={"mac_address": device["mac_address"]}, timeout=30)
    assert listed.status_code == 200
    assert listed.json()["items"] == []
    assert requests.get(f"{read_only}/devices/stats", timeout=30).status_code == 200


def test_the_consoles_config_names_the_scopes_the_calls_carry(read_only: str, local_server: str) -> None:
    read_only_config = requests.get(f"{read_only}/console/config.json", timeout=30).json()
    default_config = requests.get(f"{local_server}/console/config.json", timeout=30).json()

    assert read_only_config == {"api": "../", "auth": None, "write_scope": WRITE, "local_scopes": [READ]}
    assert default_config["local_scopes"] is None  # every scope: the console shows its write buttons


def test_a_scope_the_api_does_not_have_stops_the_server_with_the_reason() -> None:
    env = {**os.environ, "LOCAL_SCOPES": "devices/read devices/admin", "PORT": "0"}
    env.pop("LOCAL_DATA_DIR", None)
    run = subprocess.run(
        [sys.executable, "-m", "local.server"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )

    assert run.returncode == 1
    assert "LOCAL_SCOPES names devices/admin; the API's scopes are devices/read devices/write" in run.stderr
    assert "Traceback" not in run.stderr
