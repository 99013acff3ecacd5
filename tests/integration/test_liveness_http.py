"""Liveness over HTTP (issue 22, "Done when"), against a local server of its own with a 1-second
resolution and sweep: a device goes silent, is listed by ``?liveness=silent``, comes back on its
next report; a device that never reports goes silent with ``last_seen_at: null``; each transition
is a ``liveness`` history entry and a change event, in revision order, in LOCAL_EVENTS_FILE.
Nothing here asserts a wall-clock time: the test waits (at most ``PATIENCE_S``) for what the
sweep must do, however loaded the machine."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support import DeviceBodies, LocalServer

PATIENCE_S = 60.0
_BODIES = DeviceBodies()


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    folder = tmp_path_factory.mktemp("liveness")
    events = folder / "events.jsonl"
    server = LocalServer(
        folder / "server.log",
        LIVENESS_RESOLUTION_S="1",
        LIVENESS_SWEEP_S="1",
        MISSED_REPORTS="1",
        MIN_REPORT_INTERVAL_S="1",
        LOCAL_EVENTS_FILE=str(events),
    )
    try:
        yield server.start(), events
    finally:
        server.close()


def _eventually(check: Callable[[], Any]) -> Any:
    """``check()``'s first truthy answer, asked again until PATIENCE_S has passed."""
    deadline = time.monotonic() + PATIENCE_S
    while True:
        answer = check()
        if answer or time.monotonic() > deadline:
            return answer
        time.sleep(0.1)


def _register(url: str, **fields: Any) -> str:
    answer = requests.post(f"{url}/devices", json=_BODIES(**fields), timeout=10)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def _report(url: str, device_id: str, status: str = "online") -> dict[str, Any]:
    answer = requests.put(f"{url}/devices/{device_id}/status", json={"status": status}, timeout=10)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _status(url: str, device_id: str) -> dict[str, Any]:
    return dict(requests.get(f"{url}/devices/{device_id}/status", timeout=10).json())


def _listed(url: str, liveness: str) -> dict[str, dict[str, Any]]:
    """Every device of ``GET /devices?liveness=…``, following the cursor."""
    found: dict[str, dict[str, Any]] = {}
    cursor = None
    while True:
        params = {"liveness": liveness, "limit": "100", **({"cursor": cursor} if cursor else {})}
        page = requests.get(f"{url}/devices", params=params, timeout=10).json()
        found.update({item["id"]: item for item in page["items"]})
        cursor = page["next_cursor"]
        if cursor is None:
            return found


def _events(path: Path, device_id: str) -> list[dict[str, Any]]:
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    return [event for event in map(json.loads, lines) if event["Detail"]["device_id"] == device_id]


def test_a_device_goes_silent_is_listed_and_comes_back_and_one_that_never_reports_goes_silent(live_server):
    url, events_file = live_server
    chatty = _register(url, report_interval_s=1)
    mute = _register(url, report_interval_s=1)

    first = _report(url, chatty)
    assert (first["liveness"], first["version"]) == ("reporting", 2) and first["last_seen_at"] is not None
    assert _status(url, mute)["liveness"] == "pending"

    silent = _eventually(lambda: (found := _listed(url, "silent")) and {chatty, mute} <= set(found) and found)
    assert {chatty, mute} <= set(silent), silent
    assert silent[chatty]["last_seen_at"] == first["last_seen_at"] and silent[mute]["last_seen_at"] is None
    mute_status = _status(url, mute)
    assert (mute_status["liveness"], mute_status["last_seen_at"]) == ("silent", None), mute_status
    assert chatty not in _listed(url, "reporting")

    back = _report(url, chatty)  # the same status: no new version, yet a sign of life
    assert (back["liveness"], back["version"]) == ("reporting", 2)
    assert back["last_seen_at"] > first["last_seen_at"]
    assert chatty in _listed(url, "reporting") and chatty not in _listed(url, "silent")

    history = requests.get(f"{url}/devices/{chatty}/history", params={"kind": "liveness", "order": "asc"}, timeout=10)
    transitions = [(e["changes"]["liveness"]["old"], e["changes"]["liveness"]["new"]) for e in history.json()["items"]]
    assert transitions == [("pending", "reporting"), ("reporting", "silent"), ("silent", "reporting")]
    assert {e["changed_by"] for e in history.json()["items"]} == {"registry"}
    status_only = requests.get(f"{url}/devices/{chatty}/history", params={"kind": "status"}, timeout=10).json()
    assert [e["kind"] for e in status_only["items"]] == ["status"]

    wanted = ["Device registered", "Device status changed", "Device reporting again", "Device went silent"]
    wanted.append("Device reporting again")
    chatty_events = _eventually(lambda: len(found := _events(events_file, chatty)) >= len(wanted) and found)
    assert [event["DetailType"] for event in chatty_events] == wanted
    revisions = [event["Detail"]["revision"] for event in chatty_events]
    assert revisions == sorted(revisions) == list(range(1, len(wanted) + 1))
    went_silent = chatty_events[3]["Detail"]
    assert went_silent["kind"] == "liveness" and went_silent["snapshot"] == {
        "liveness": "silent",
        "last_seen_at": first["last_seen_at"],
    }
    mute_events = _eventually(lambda: len(found := _events(events_file, mute)) >= 2 and found)
    assert [event["DetailType"] for event in mute_events] == ["Device registered", "Device went silent"]
    assert mute_events[1]["Detail"]["changes"] == {"liveness": {"old": "pending", "new": "silent"}}


def test_a_report_interval_below_the_deployments_least_is_422_and_registers_nothing(live_server):
    url, _ = live_server
    answer = requests.post(f"{url}/devices", json=_BODIES(report_interval_s=0), timeout=10)
    assert answer.status_code == 422
    assert [error["field"] for error in answer.json()["errors"]] == ["report_interval_s"]


def test_stats_count_the_fleet_by_liveness(live_server):
    url, _ = live_server
    device = _register(url, report_interval_s=1)
    counted = _eventually(
        lambda: (
            (stats := requests.get(f"{url}/devices/stats", timeout=10).json())["by_liveness"].get("silent", 0) >= 1
            and stats
        )
    )
    assert counted and sum(counted["by_liveness"].values()) == counted["total"]
    assert _status(url, device)["liveness"] in ("pending", "silent")
