"""Fleet jobs over HTTP against the local server (`make run`), its worker running the same code as the
queue's Lambda function (local/jobs.py): a dry run, a job over a filter and its results, a cancellation,
a rollback that skips a device changed since, and a worker that dies mid-job resuming with every device
changed exactly once. Each test's devices are its own (a location no other test uses)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support import LocalServer

FINISHED = {"succeeded", "completed_with_failures", "cancelled", "failed"}
WAIT_S = 90  # a bound for a loaded machine, never an assertion of speed


def _register(base: str, count: int, **attributes: Any) -> list[str]:
    ids = []
    for n in range(count):
        digits = uuid.uuid4().hex[:12]
        mac = ":".join(digits[i : i + 2] for i in range(0, 12, 2))
        body = {"name": f"job-{n}", "device_type": "sensor", "mac_address": mac, **attributes}
        answer = requests.post(f"{base}/devices", json=body, timeout=30)
        assert answer.status_code == 201, answer.text
        ids.append(answer.json()["id"])
    return ids


def _start(base: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = requests.post(f"{base}/jobs", json=body, timeout=30)
    assert answer.status_code == 202, answer.text
    job = answer.json()
    assert answer.headers["Location"] == f"/jobs/{job['id']}" and job["state"] == "queued"
    return dict(job)


def _finished(base: str, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_S
    while True:
        job = requests.get(f"{base}/jobs/{job_id}", timeout=30).json()
        if job["state"] in FINISHED or time.monotonic() > deadline:
            return dict(job)
        time.sleep(0.1)


def _results(base: str, job_id: str, **query: str) -> list[dict[str, Any]]:
    items, cursor = [], None
    while True:
        params = {**query, "limit": "7", **({"cursor": cursor} if cursor else {})}
        page = requests.get(f"{base}/jobs/{job_id}/results", params=params, timeout=30).json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def _device(base: str, device_id: str) -> dict[str, Any]:
    return dict(requests.get(f"{base}/devices/{device_id}", timeout=30).json())


def _entries_by(base: str, device_id: str, job_id: str) -> list[dict[str, Any]]:
    history = requests.get(f"{base}/devices/{device_id}/history", params={"limit": "100"}, timeout=30).json()
    return [entry for entry in history["items"] if entry.get("job_id") == job_id]


def test_a_dry_run_reports_each_change_it_would_make_and_changes_nothing(local_server: str) -> None:
    place = f"dry-{uuid.uuid4().hex[:8]}"
    moved = _register(local_server, 3, location=place)
    (already,) = _register(local_server, 1, location=place, firmware_version="2.0")

    job = _start(local_server, {"filter": {"location": place}, "patch": {"firmware_version": "2.0"}, "dry_run": True})
    done = _finished(local_server, job["id"])

    assert done["state"] == "succeeded" and done["dry_run"] is True
    assert done["counts"] == {"matched": 4, "changed": 3, "unchanged": 1, "failed": 0, "skipped": 0}
    results = {item["device_id"]: item for item in _results(local_server, job["id"])}
    assert {device_id: results[device_id]["outcome"] for device_id in moved} == dict.fromkeys(moved, "would_change")
    assert results[moved[0]]["changes"] == {"firmware_version": {"old": None, "new": "2.0"}}
    assert results[already] == {"device_id": already, "outcome": "unchanged"}
    assert all(_device(local_server, device_id)["config_version"] == 1 for device_id in moved)


def _finished_events(events_file: Path, job_id: str) -> list[dict[str, Any]]:
    """The ``Job finished`` events of the job in the local server's events file, once it has them."""
    deadline = time.monotonic() + WAIT_S
    while True:
        lines = events_file.read_text(encoding="utf-8").splitlines() if events_file.exists() else []
        found = [e for e in map(json.loads, lines) if e["DetailType"] == "Job finished" and e["Detail"]["id"] == job_id]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_a_job_changes_every_matching_device_once_each_change_a_revision_naming_the_job(
    local_server: str, local_events_file: Path
) -> None:
    place = f"hall-{uuid.uuid4().hex[:8]}"
    matching = _register(local_server, 30, location=place)
    (elsewhere,) = _register(local_server, 1, location=f"{place}-other")

    job = _start(
        local_server, {"filter": {"location": place}, "patch": {"location": "Hall B", "attributes": {"t": "1"}}}
    )
    done = _finished(local_server, job["id"])

    assert done["state"] == "succeeded", done
    assert done["counts"] == {"matched": 30, "changed": 30, "unchanged": 0, "failed": 0, "skipped": 0}
    assert done["started_at"] <= done["finished_at"] and done["created_by"]
    results = _results(local_server, job["id"], outcome="changed")
    assert sorted(item["device_id"] for item in results) == sorted(matching)
    assert results[0]["revision"] == 2
    assert results[0]["changes"] == {
        "location": {"old": place, "new": "Hall B"},
        "attributes.t": {"old": None, "new": "1"},
    }
    assert _results(local_server, job["id"], outcome="failed") == []
    for device_id in matching:
        assert [entry["revision"] for entry in _entries_by(local_server, device_id, job["id"])] == [2]
    assert _device(local_server, elsewhere)["location"] == f"{place}-other"
    listed = requests.get(f"{local_server}/jobs", params={"limit": "100"}, timeout=30).json()["items"]
    assert job["id"] in [item["id"] for item in listed]
    (event,) = _finished_events(local_events_file, job["id"])
    assert event["Source"] == "device-registry" and event["Detail"] == done


def test_a_device_the_merged_patch_would_break_fails_alone_with_its_problem(local_server: str) -> None:
    place = f"full-{uuid.uuid4().hex[:8]}"
    fine = _register(local_server, 2, location=place)
    (full,) = _register(local_server, 1, location=place, attributes={f"k{n}": "v" for n in range(50)})

    job = _start(local_server, {"filter": {"location": place}, "patch": {"attributes": {"extra": "1"}}})
    done = _finished(local_server, job["id"])

    assert done["state"] == "completed_with_failures"
    assert done["counts"] == {"matched": 3, "changed": 2, "unchanged": 0, "failed": 1, "skipped": 0}
    (failed,) = _results(local_server, job["id"], outcome="failed")
    assert failed["device_id"] == full and failed["problem"]["status"] == 422
    assert sorted(item["device_id"] for item in _results(local_server, job["id"], outcome="changed")) == sorted(fine)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"patch": {"location": "x"}}, "filter"),
        ({"filter": {}, "patch": {"location": "x"}}, "filter"),
        ({"filter": {"colour": "red"}, "patch": {"location": "x"}}, "filter.colour"),
        ({"filter": {"status": "sleeping"}, "patch": {"location": "x"}}, "filter.status"),
        ({"filter": {"mac_address": "not-a-mac"}, "patch": {"location": "x"}}, "filter.mac_address"),
        ({"filter": {"location": "a"}, "patch": {}}, "patch"),
        ({"filter": {"location": "a"}, "patch": {"name": None}}, "patch"),
        ({"filter": {"location": "a"}, "patch": {"mac_address": "00:11:22:33:44:55"}}, "patch.mac_address"),
        ({"filter": {"location": "a"}, "patch": {"attributes": {"bad key": "v"}}}, "patch.attributes.bad key.[key]"),
        ({"filter": {"location": "a"}, "patch": {"location": "x"}, "all": "yes"}, "all"),
    ],
)
def test_a_bad_filter_or_patch_is_422_naming_the_field_and_creates_no_job(
    local_server: str, body: dict[str, Any], field: str
) -> None:
    before = requests.get(f"{local_server}/jobs", params={"limit": "1"}, timeout=30).json()["items"]

    answer = requests.post(f"{local_server}/jobs", json=body, timeout=30)

    assert answer.status_code == 422 and answer.headers["Content-Type"] == "application/problem+json"
    assert field in [error["field"] for error in answer.json()["errors"]], answer.json()
    assert requests.get(f"{local_server}/jobs", params={"limit": "1"}, timeout=30).json()["items"] == before


def test_an_unknown_job_is_404_and_a_finished_one_cannot_be_cancelled(local_server: str) -> None:
    unknown = str(uuid.uuid4())
    assert requests.get(f"{local_server}/jobs/{unknown}", timeout=30).status_code == 404
    assert requests.get(f"{local_server}/jobs/{unknown}/results", timeout=30).status_code == 404
    assert requests.post(f"{local_server}/jobs/{unknown}/cancel", json={}, timeout=30).status_code == 404
    place = f"done-{uuid.uuid4().hex[:8]}"
    _register(local_server, 1, location=place)
    job = _start(local_server, {"filter": {"location": place}, "patch": {"serial_number": "S1"}})
    _finished(local_server, job["id"])

    refused = requests.post(f"{local_server}/jobs/{job['id']}/cancel", json={}, timeout=30)

    assert refused.status_code == 409 and refused.json()["type"].endswith("job-finished")


def test_a_rollback_undoes_only_the_jobs_fields_and_skips_a_device_changed_there_since(local_server: str) -> None:
    place = f"roll-{uuid.uuid4().hex[:8]}"
    devices = _register(local_server, 5, location=place, firmware_version="1.0")
    job = _start(
        local_server, {"filter": {"location": place}, "patch": {"location": "Dock 2", "firmware_version": "1.1"}}
    )
    assert _finished(local_server, job["id"])["counts"]["changed"] == 5
    moved_again, renamed = devices[0], devices[1]
    later = requests.patch(f"{local_server}/devices/{moved_again}", json={"location": "Dock 3"}, timeout=30)
    assert later.status_code == 200
    requests.patch(f"{local_server}/devices/{renamed}", json={"name": "renamed"}, timeout=30).raise_for_status()

    answer = requests.post(f"{local_server}/jobs/{job['id']}/rollback", json={}, timeout=30)
    assert answer.status_code == 202 and answer.json()["rollback_of"] == job["id"]
    done = _finished(local_server, answer.json()["id"])

    assert done["state"] == "succeeded"
    assert done["counts"] == {"matched": 5, "changed": 4, "unchanged": 0, "failed": 0, "skipped": 1}
    (skipped,) = _results(local_server, done["id"], outcome="skipped")
    assert skipped["device_id"] == moved_again and "revision 3" in skipped["problem"]["detail"]
    assert (_device(local_server, moved_again)["location"], _device(local_server, moved_again)["firmware_version"]) == (
        "Dock 3",
        "1.1",
    )
    kept = _device(local_server, renamed)
    assert (kept["name"], kept["location"], kept["firmware_version"]) == ("renamed", place, "1.0")
    for device_id in devices[2:]:
        assert (_device(local_server, device_id)["location"], _device(local_server, device_id)["firmware_version"]) == (
            place,
            "1.0",
        )
        (entry,) = _entries_by(local_server, device_id, done["id"])
        assert entry["changes"] == {
            "location": {"old": "Dock 2", "new": place},
            "firmware_version": {"old": "1.1", "new": "1.0"},
        }


def test_a_dry_run_or_an_unfinished_job_cannot_be_rolled_back(local_server: str) -> None:
    place = f"norb-{uuid.uuid4().hex[:8]}"
    _register(local_server, 1, location=place)
    dry = _start(local_server, {"filter": {"location": place}, "patch": {"location": "y"}, "dry_run": True})
    _finished(local_server, dry["id"])

    refused = requests.post(f"{local_server}/jobs/{dry['id']}/rollback", json={}, timeout=30)

    assert refused.status_code == 409 and "dry run" in refused.json()["detail"]


# -- a server whose jobs run slowly (cancel) or whose worker dies mid-job (resume) ---------------


@pytest.fixture
def slow_server(tmp_path: Path) -> Iterator[str]:
    """5 devices a chunk at most 20 a second: a job over 60 devices runs for 3 s at the least."""
    server = LocalServer(tmp_path / "server.log", DYNAMODB_PORT="0", JOB_CHUNK_SIZE="5", JOB_RATE_PER_S="20")
    try:
        yield server.start()
    finally:
        server.close()


def test_a_cancelled_job_stops_before_its_next_chunk_and_what_it_did_stays_done(slow_server: str) -> None:
    devices = _register(slow_server, 60, location="cancel-me")
    job = _start(slow_server, {"filter": {"location": "cancel-me"}, "patch": {"location": "moved"}})

    cancelled = requests.post(f"{slow_server}/jobs/{job['id']}/cancel", json={}, timeout=30)
    assert cancelled.status_code == 202
    done = _finished(slow_server, job["id"])

    assert done["state"] == "cancelled" and done["finished_at"]
    changed = {item["device_id"] for item in _results(slow_server, job["id"], outcome="changed")}
    assert done["counts"]["changed"] == len(changed) < 60
    for device_id in devices:
        assert _device(slow_server, device_id)["location"] == ("moved" if device_id in changed else "cancel-me")
    assert requests.post(f"{slow_server}/jobs/{job['id']}/cancel", json={}, timeout=30).status_code == 409


@pytest.fixture
def crashing_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """Its worker dies once, after its 7th device result, mid-chunk; the step is delivered again 2 s on."""
    log = tmp_path / "server.log"
    server = LocalServer(
        log, DYNAMODB_PORT="0", JOB_CHUNK_SIZE="5", LOCAL_JOB_FAULT_AFTER="7", LOCAL_JOB_VISIBILITY_S="2"
    )
    try:
        yield server.start(), log
    finally:
        server.close()


def test_a_worker_dying_mid_job_resumes_and_changes_every_device_exactly_once(
    crashing_server: tuple[str, Path],
) -> None:
    base, log = crashing_server
    devices = _register(base, 12, location="resume-me")

    job = _start(base, {"filter": {"location": "resume-me"}, "patch": {"firmware_version": "9.9"}})
    done = _finished(base, job["id"])

    assert "the worker dies mid-chunk" in log.read_text()
    assert done["state"] == "succeeded"
    assert done["counts"] == {"matched": 12, "changed": 12, "unchanged": 0, "failed": 0, "skipped": 0}
    assert sorted(item["device_id"] for item in _results(base, job["id"])) == sorted(devices)
    for device_id in devices:
        assert [entry["revision"] for entry in _entries_by(base, device_id, job["id"])] == [2]
        assert _device(base, device_id)["config_version"] == 2
