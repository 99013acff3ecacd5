"""The operator console (console/, `make console`) in Debian's Chromium: console/tests/*.test.mjs
drives it with Playwright against a local server of its own (a fresh registry, which the node
tests seed through the API), and its result lines are printed in this run's output. The scenarios
are the issue's: the fleet page filters and pages, a device page shows the timeline and a diff, a
revert with a stale ETag shows the conflict, a running job is cancelled, credentials, holders,
restore, sign-in with PKCE, a read-only operator (``LOCAL_SCOPES=devices/read``) sees no write
button, no console errors and axe-core clean on every page."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support import ROOT, LocalServer

CONSOLE = ROOT / "console"
BUILT = CONSOLE / "dist" / "index.html"
CHROMIUM = Path("/usr/bin/chromium")
# Wall-clock bound for the whole browser suite (~2 min on a quiet machine): a bound against a hang,
# not a speed check. A whole suite under faketime beside other work took over 300 s (its fleet
# page scenario alone 83 s) and was killed while every scenario so far had passed.
SUITE_TIMEOUT = 900
JOB_TIMEOUT = 60  # a job of one device, on a loaded machine


@pytest.fixture(scope="module")
def console_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    # A sweep a second and a second's resolution, so that the device that is to report every second
    # and never does is silent 3 s after it was registered (window: max(3 reports, the resolution));
    # at `make run`'s minute it took a minute, a third of the whole browser suite's time.
    # Jobs paced (4 devices a second, 2 a step) so that one over 40 devices runs long enough for the
    # browser to cancel it, and a cancellation takes effect at the next step.
    server = LocalServer(
        tmp_path_factory.mktemp("console") / "server.log",
        LIVENESS_SWEEP_S="1",
        LIVENESS_RESOLUTION_S="1",
        JOB_RATE_PER_S="4",
        JOB_CHUNK_SIZE="2",
    )
    try:
        yield server.start()
    finally:
        server.close()


@pytest.fixture(scope="module")
def read_only_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A registry written by a read-write server, then served by one started with
    ``LOCAL_SCOPES=devices/read`` on the same data (kept across restarts, as ``make run`` keeps
    it): a device with a change and a credential, a deleted one, and a finished job."""
    scratch = tmp_path_factory.mktemp("console-read-only")
    data = str(scratch / "data")
    writer = LocalServer(scratch / "writer.log", LOCAL_DATA_DIR=data)
    try:
        url = writer.start()
        device = {"name": "read-only-sensor", "device_type": "sensor", "mac_address": "02:00:00:00:bb:01"}
        made = requests.post(f"{url}/devices", json=device, timeout=10).json()
        requests.patch(f"{url}/devices/{made['id']}", json={"location": "Lab"}, timeout=10).raise_for_status()
        requests.post(f"{url}/devices/{made['id']}/credentials", json={}, timeout=10).raise_for_status()
        gone = requests.post(f"{url}/devices", json={**device, "mac_address": "02:00:00:00:bb:02"}, timeout=10).json()
        requests.delete(f"{url}/devices/{gone['id']}", timeout=10).raise_for_status()
        job_request = {"filter": {"location": "Lab"}, "patch": {"serial_number": "RO-1"}}
        job = requests.post(f"{url}/jobs", json=job_request, timeout=10)
        job.raise_for_status()
        _wait_until_finished(f"{url}/jobs/{job.json()['id']}")
        writer.stop()
    finally:
        writer.close()
    reader = LocalServer(scratch / "reader.log", LOCAL_DATA_DIR=data, LOCAL_SCOPES="devices/read")
    try:
        yield {
            "CONSOLE_READONLY_URL": reader.start(),
            "CONSOLE_READONLY_DEVICE": made["id"],
            "CONSOLE_READONLY_DELETED": gone["id"],
            "CONSOLE_READONLY_JOB": job.json()["id"],
        }
    finally:
        reader.close()


def _wait_until_finished(job_url: str, timeout: float = JOB_TIMEOUT) -> None:
    """The local server's worker runs a job in the background: its state, until it is final."""
    deadline = time.monotonic() + timeout
    while (state := requests.get(job_url, timeout=10).json()["state"]) in {"queued", "running"}:
        assert time.monotonic() < deadline, f"the job is still {state} after {timeout} s"
        time.sleep(0.2)
    assert state == "succeeded", state


def test_console_in_chromium(
    console_server: str, read_only_server: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert BUILT.is_file(), "the console is not built: run `make console`"
    assert CHROMIUM.is_file(), f"{CHROMIUM} not found: run `make chromium`"
    node = shutil.which("node")
    assert node, "node not found"
    run = subprocess.run(
        [node, "--test", "--test-reporter=spec", "tests/"],
        cwd=CONSOLE,
        env={"PATH": str(Path(node).parent), "HOME": "/tmp", "CONSOLE_API_URL": console_server, **read_only_server},
        capture_output=True,
        text=True,
        timeout=SUITE_TIMEOUT,
    )
    with capsys.disabled():
        print("\nconsole/tests (node --test, Chromium):\n" + run.stdout.rstrip())
    assert run.returncode == 0, f"browser suite failed:\n{run.stdout}\n{run.stderr}"
