"""Change events locally (issue 11, item 4): a write through the local server (`make run`, here
the session's server started with LOCAL_EVENTS_FILE) shows up as its event in the file, one JSON
line per revision — the PutEvents entry with ``Detail`` as an object — in revision order. The lag
after each write is measured and printed (a figure: it depends on the machine's load, so it is no
gate; the test waits at most ``PATIENCE_S`` for an event before calling it lost)."""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Any

from tests.support import DeviceBodies

PATIENCE_S = 60.0
_BODIES = DeviceBodies()


def _events_of(path: Path, device_id: str) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8")
    lines = text[: text.rfind("\n") + 1].splitlines()  # not the line the server may be appending
    return [e for e in map(json.loads, lines) if e["Detail"].get("device_id") == device_id]


def _wait_for(path: Path, device_id: str, count: int, since: float) -> tuple[list[dict[str, Any]], float]:
    while True:
        events = _events_of(path, device_id)
        if len(events) >= count:
            return events, time.monotonic() - since
        if time.monotonic() - since > PATIENCE_S:
            return events, time.monotonic() - since
        time.sleep(0.005)


def test_every_revision_written_through_the_server_is_in_the_file_in_order(api: Any, local_events_file: Path) -> None:
    created = api.post("/devices", json=_BODIES())
    assert created.status_code == 201
    device_id = created.json()["id"]
    lags = []
    start = time.monotonic()
    events, lag = _wait_for(local_events_file, device_id, 1, start)
    lags.append(lag)
    # Each write with the revisions it adds: the first report also records the device reporting
    # (pending -> reporting, api.md "Liveness").
    writes = [
        ("PATCH", f"/devices/{device_id}", {"location": "hall 2"}, 1),
        ("PUT", f"/devices/{device_id}/status", {"status": "online", "reason": "boot"}, 2),
        ("POST", f"/devices/{device_id}/revert", {"to_revision": 1, "reason": "wrong hall"}, 1),
        ("PUT", f"/devices/{device_id}/status", {"status": "offline"}, 1),
        ("DELETE", f"/devices/{device_id}", None, 1),
        ("POST", f"/devices/{device_id}/restore", {"reason": "back"}, 1),
    ]
    written = 1
    for method, path, body, revisions in writes:
        answer = api.request(method, path, json=body)
        assert answer.status_code in (200, 204), answer.text
        written += revisions
        start = time.monotonic()
        events, lag = _wait_for(local_events_file, device_id, written, start)
        lags.append(lag)

    assert [(e["DetailType"], e["Detail"]["revision"]) for e in events] == [
        ("Device registered", 1),
        ("Device updated", 2),
        ("Device status changed", 3),
        ("Device reporting again", 4),
        ("Device updated", 5),
        ("Device status changed", 6),
        ("Device deleted", 7),
        ("Device restored", 8),
    ]
    assert {e["Source"] for e in events} == {"device-registry"}
    assert events[4]["Detail"]["reverted_to"] == 1
    history = api.get(f"/devices/{device_id}/history", params={"order": "asc"}).json()["items"]
    assert [{k: v for k, v in e["Detail"].items() if k != "device_id"} for e in events] == history
    print(
        f"\nlocal change-event lag after the HTTP answer: median {statistics.median(lags) * 1000:.0f} ms, "
        f"max {max(lags) * 1000:.0f} ms over {len(lags)} writes"
    )


def test_a_burst_of_concurrent_writes_to_many_devices_keeps_each_devices_order(
    api: Any, local_events_file: Path
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    ids = [api.post("/devices", json=_BODIES()).json()["id"] for _ in range(5)]

    def report(device_id: str) -> None:
        for n in range(6):
            assert api.put(f"/devices/{device_id}/status", json={"status": "online" if n % 2 else "offline"}).ok

    with ThreadPoolExecutor(5) as pool:
        list(pool.map(report, ids))
    start = time.monotonic()
    for device_id in ids:
        # Registered, six reports, and the first report's liveness entry (pending -> reporting).
        events, _ = _wait_for(local_events_file, device_id, 8, start)
        assert [e["Detail"]["revision"] for e in events] == list(range(1, 9))
