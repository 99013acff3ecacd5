"""``make smoke`` (ops/smoke.py) run as a user runs it, a subprocess, against the session's local
server (started with LOCAL_EVENTS_FILE and CORS origins): every step passes, or is skipped with
its reason where it needs credentials the local server does not check, and nothing the run made
is left. A failing step stops the run with exit 1, and the cleanup still runs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import requests

from tests.support import LOCAL_CORS_ORIGINS, ROOT, free_port, python_path

STEPS = [
    ("SKIP", "401 without a token"),
    ("SKIP", "403 read-only write"),
    ("PASS", "register"),
    ("PASS", "read"),
    ("PASS", "PATCH with If-Match"),
    ("PASS", "412 stale If-Match"),
    ("PASS", "status"),
    ("PASS", "history"),
    ("PASS", "device credential"),
    ("PASS", "304 and HEAD"),
    ("PASS", "CORS preflight"),
    ("PASS", "change events"),
    ("PASS", "delete"),
    ("PASS", "cleanup"),
]


def smoke(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {name: value for name, value in os.environ.items() if not name.startswith("REGISTRY_")}
    environment["PYTHONPATH"] = python_path()
    return subprocess.run(
        [sys.executable, "-m", "ops.smoke", url, *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )


def report(run: subprocess.CompletedProcess[str]) -> list[tuple[str, str]]:
    """(verdict, step) of each report line."""
    return [(line.split(" ", 1)[0], line.split(" ", 1)[1].split(":", 1)[0]) for line in run.stdout.splitlines()[1:]]


def tagged(local_server: str, tag: str) -> list[object]:
    return list(requests.get(f"{local_server}/devices", params={"tag": tag}, timeout=30).json()["items"])


def test_the_smoke_run_passes_against_the_local_server_and_leaves_nothing(
    local_server: str, local_events_file: Path
) -> None:
    run = smoke(
        local_server,
        "--origin",
        LOCAL_CORS_ORIGINS[0],
        "--events-file",
        str(local_events_file),
        "--tag",
        "smoke-test-pass",
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.splitlines()[0] == f"smoke run smoke-test-pass against {local_server}"
    assert report(run) == STEPS
    assert "SKIP 401 without a token: no credentials given (the local server checks no operator token)" in run.stdout
    assert "PASS change events: 5 events, revisions 1-5: Device registered, Device updated, " in run.stdout
    assert "PASS delete: 204, then GET 404" in run.stdout
    assert tagged(local_server, "smoke-test-pass") == []


def test_a_failing_step_stops_the_run_with_exit_1_and_the_cleanup_still_deletes_the_device(
    local_server: str,
) -> None:
    run = smoke(local_server, "--origin", "https://not-allowed.example", "--tag", "smoke-test-fail")
    assert run.returncode == 1, run.stdout + run.stderr
    verdicts = report(run)
    assert verdicts[-2:] == [("FAIL", "CORS preflight"), ("PASS", "cleanup")]  # nothing after the failure
    assert "FAIL CORS preflight: OPTIONS from https://not-allowed.example answered 204, Allow-Origin None" in run.stdout
    assert "PASS cleanup: deleted 1 device(s) tagged smoke-test-fail" in run.stdout
    device_id = re.search(r"PASS register: 201, device ([0-9a-f-]+),", run.stdout)
    assert device_id
    assert requests.get(f"{local_server}/devices/{device_id[1]}", timeout=30).status_code == 404
    assert tagged(local_server, "smoke-test-fail") == []


def test_a_stopped_server_fails_the_first_step_that_needs_it() -> None:
    run = smoke(f"http://127.0.0.1:{free_port()}", "--attempts", "2")
    assert run.returncode == 1
    assert "FAIL register: cannot reach http://127.0.0.1:" in run.stdout
    assert ("PASS", "read") not in report(run)


def test_half_the_client_credentials_is_a_usage_error_before_anything_is_sent() -> None:
    environment = {**os.environ, "PYTHONPATH": python_path(), "REGISTRY_CLIENT_ID": "abc"}
    environment.pop("REGISTRY_CLIENT_SECRET", None)
    run = subprocess.run(
        [sys.executable, "-m", "ops.smoke", f"http://127.0.0.1:{free_port()}"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2
    assert "REGISTRY_CLIENT_ID, REGISTRY_CLIENT_SECRET, REGISTRY_TOKEN_URL" in run.stderr
    assert run.stdout == ""
